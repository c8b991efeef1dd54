#!/usr/bin/env bash
# Soak: the mixed 95/5 read/write load for a long run (default 10 minutes) on one server,
# sampling its resident memory and the error count every 30 s. Memory should stay flat and
# errors at zero.
#
#   bench/soak.sh [--backend sqlite|postgres] [--minutes 10] [--connections 64]
set -euo pipefail
cd "$(dirname "$0")/.."

BACKEND=sqlite MINUTES=10 CONNECTIONS=64 ARTICLES=1000
while [ $# -gt 0 ]; do
    case "$1" in
        --backend) BACKEND=$2; shift 2 ;;
        --minutes) MINUTES=$2; shift 2 ;;
        --connections) CONNECTIONS=$2; shift 2 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
command -v wrk >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "wrk=4.1.0-3+b2" >/dev/null
cargo build --release --quiet
BIN=target/release/masthead
WORK=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
PG_SERVER="${MASTHEAD_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432}"
PG_DB="masthead_soak_$$"
if [ "$BACKEND" = postgres ]; then
    psql "$PG_SERVER/postgres" -qc "CREATE DATABASE $PG_DB" >/dev/null
    export DATABASE_URL="$PG_SERVER/$PG_DB"
else
    export DATABASE_URL="$WORK/soak.db"
fi
SERVER_PID=""
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
    [ "$BACKEND" = postgres ] && psql "$PG_SERVER/postgres" -qc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
export MASTHEAD_JWT_SECRET="soak-secret-soak-secret-soak-secret-00000" MASTHEAD_BIND="127.0.0.1:$PORT"
export MASTHEAD_COMMENT_RATE=0 RUST_LOG=warn BENCH_ARTICLES=$ARTICLES
"$BIN" seed-bench --articles "$ARTICLES" --comments 10000 >/dev/null 2>&1
"$BIN" serve 2>"$WORK/server.log" &
SERVER_PID=$!
until curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null; do sleep 0.05; done

cat bench/mixed.lua bench/report.lua >"$WORK/mixed.lua"
SECONDS_TOTAL=$((MINUTES * 60))
wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_TOTAL}s" --timeout 5s -s "$WORK/mixed.lua" "http://127.0.0.1:$PORT" >"$WORK/wrk.out" &
WRK_PID=$!
echo "time_s rss_mib"
start=$(date +%s)
while kill -0 "$WRK_PID" 2>/dev/null; do
    rss=$(awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' /proc/$SERVER_PID/status)
    echo "$(( $(date +%s) - start )) $rss" | tee -a "$WORK/rss.txt"
    sleep 30
done
wait "$WRK_PID" || true
echo "wrk: $(grep '^{' "$WORK/wrk.out")"
echo "server 5xx or 'database is locked' in log: $(grep -c -E 'database is locked|status=5' "$WORK/server.log" || true)"
awk 'NR == 1 { first = $2 } { last = $2; if ($2 > max) max = $2 } END { printf "rss first %s MiB, last %s MiB, max %s MiB\n", first, last, max }' "$WORK/rss.txt"
