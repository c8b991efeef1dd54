#!/usr/bin/env bash
# Load benchmark: builds the release binary, seeds a fresh database at the chosen scale, starts
# the server and drives it with wrk, one scenario after another, on one server process.
# Prints a table and writes bench/results/<backend>-<articles>.json. Throughput is also given as
# a ratio to GET /healthz measured in the same run, since the machine is shared and noisy.
#
#   bench/run.sh [--backend sqlite|postgres] [--articles N] [--comments M]
#                [--duration 10s] [--connections 64]
set -euo pipefail
cd "$(dirname "$0")/.."

BACKEND=sqlite ARTICLES=1000 COMMENTS=10000 DURATION=10s CONNECTIONS=64 THREADS=2
while [ $# -gt 0 ]; do
    case "$1" in
        --backend) BACKEND=$2; shift 2 ;;
        --articles) ARTICLES=$2; shift 2 ;;
        --comments) COMMENTS=$2; shift 2 ;;
        --duration) DURATION=$2; shift 2 ;;
        --connections) CONNECTIONS=$2; shift 2 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done

WRK_VERSION="4.1.0-3+b2"
if ! command -v wrk >/dev/null 2>&1; then
    echo "installing wrk $WRK_VERSION (Debian)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "wrk=$WRK_VERSION" >/dev/null \
        || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "wrk=$WRK_VERSION" >/dev/null; }
fi

cargo build --release --quiet
BIN=target/release/masthead
WORK=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
BASE="http://127.0.0.1:$PORT"
PG_SERVER="${MASTHEAD_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432}"
PG_DB="masthead_bench_$$"
case "$BACKEND" in
    sqlite) export DATABASE_URL="$WORK/bench.db" ;;
    postgres)
        psql "$PG_SERVER/postgres" -qc "CREATE DATABASE $PG_DB" >/dev/null
        export DATABASE_URL="$PG_SERVER/$PG_DB" ;;
    *) echo "--backend is sqlite or postgres" >&2; exit 2 ;;
esac
SERVER_PID=""
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
    [ "$BACKEND" = postgres ] && psql "$PG_SERVER/postgres" -qc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

export MASTHEAD_JWT_SECRET="bench-secret-bench-secret-bench-secret-0000"
export MASTHEAD_BIND="127.0.0.1:$PORT"
export MASTHEAD_COMMENT_RATE=0        # the load comes from one address
export RUST_LOG=warn                  # one log line per request would be measured too
export BENCH_ARTICLES=$ARTICLES

echo "seeding $ARTICLES articles and $COMMENTS comments on $BACKEND"
"$BIN" seed-bench --articles "$ARTICLES" --comments "$COMMENTS" 2>/dev/null
# Seeding leaves gigabytes of dirty pages at the large scale; the kernel's writing them back
# would otherwise stall the first checkpoints' fsyncs in the middle of the write scenarios.
sync

start_server() {
    local t0=$(date +%s.%N)
    "$BIN" serve 2>"$WORK/server.log" &
    SERVER_PID=$!
    until curl -sf "$BASE/readyz" >/dev/null; do sleep 0.01; done
    STARTUP_MS=$(python3 -c "print(round(($(date +%s.%N) - $t0) * 1000))")
}
start_server

# A cursor deep in the archive: follow the list halfway down, 100 at a time.
cursor=""
for _ in $(seq 1 $((ARTICLES / 200))); do
    cursor=$(curl -sf "$BASE/api/v1/articles?limit=100${cursor:+&cursor=$cursor}" \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["page"]["next_cursor"] or "")')
done
DEEP="/api/v1/articles${cursor:+?cursor=$cursor}"

run() { # name, path or script
    local name=$1 target=$2
    local script="$WORK/$name.lua" url
    if [ -f "bench/$target" ]; then
        cat "bench/$target" bench/report.lua >"$script"; url=$BASE
    else
        cp bench/report.lua "$script"; url="$BASE$target"
    fi
    local line
    line=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -s "$script" "$url" | grep '^{')
    echo "{\"scenario\":\"$name\",${line#\{}" >>"$WORK/results.jsonl"
    echo "  $name: $line"
}

: >"$WORK/results.jsonl"
run healthz /healthz
run article article.lua
run list_first /api/v1/articles
run list_deep "$DEEP"
run search "/api/v1/articles?q=harbour"
run thread "/api/v1/articles/bench-article-1/comments?limit=100"
run post_comment comment.lua
run mixed_95_5 mixed.lua
PEAK_RSS_KB=$(awk '/VmHWM/ { print $2 }' /proc/$SERVER_PID/status)
LOCKED=$(grep -c "database is locked" "$WORK/server.log" || true)

# Start-up on the now larger database.
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
start_server

mkdir -p bench/results
OUT="bench/results/$BACKEND-$ARTICLES.json"
python3 - "$WORK/results.jsonl" "$OUT" <<PY
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
ceiling = next(r["rps"] for r in rows if r["scenario"] == "healthz")
for r in rows:
    r["ratio_to_healthz"] = round(r["rps"] / ceiling, 3) if ceiling else None
out = {"backend": "$BACKEND", "articles": $ARTICLES, "comments": $COMMENTS,
       "duration": "$DURATION", "connections": $CONNECTIONS, "peak_rss_mib": round($PEAK_RSS_KB / 1024, 1),
       "startup_to_ready_ms": $STARTUP_MS, "database_locked_in_log": $LOCKED, "scenarios": rows}
json.dump(out, open(sys.argv[2], "w"), indent=2)
print()
print(f"backend {out['backend']}, {out['articles']} articles, {out['comments']} comments, "
      f"{out['connections']} connections, {out['duration']} each")
print(f"{'scenario':<14}{'req/s':>10}{'vs healthz':>12}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
for r in rows:
    print(f"{r['scenario']:<14}{r['rps']:>10.0f}{r['ratio_to_healthz']:>12.2f}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}{r['errors']:>8}")
print(f"peak RSS {out['peak_rss_mib']} MiB; start-up to /readyz {out['startup_to_ready_ms']} ms; "
      f"'database is locked' in log: {out['database_locked_in_log']}")
print(f"written to {sys.argv[2]}")
PY
