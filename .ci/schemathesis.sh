#!/usr/bin/env bash
# Fuzzes the live server against its own OpenAPI document with Schemathesis, every check on.
#
#   .ci/schemathesis.sh            # SQLite in a temporary directory
#   .ci/schemathesis.sh postgres   # a fresh database on MASTHEAD_TEST_PG_URL, dropped afterwards
#
# Builds nothing: it runs $MASTHEAD_BIN (default target/debug/masthead), so `cargo build` first.
# Knobs: ST_MAX_EXAMPLES (default 40 per operation), ST_SEED (default 20261125), ST_MAX_TIME
# (default 300 s for Schemathesis itself). Exits non-zero on any failure.
set -euo pipefail
export LC_ALL=C.UTF-8
cd "$(dirname "$0")/.."

ST_VERSION=4.32.5
VENV=.ci/.venv-schemathesis
BIN=${MASTHEAD_BIN:-target/debug/masthead}
BACKEND=${1:-sqlite}
MAX_EXAMPLES=${ST_MAX_EXAMPLES:-40}
SEED=${ST_SEED:-20261125}
MAX_TIME=${ST_MAX_TIME:-300}
PG_URL=${MASTHEAD_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432}

if [[ ! -x $BIN ]]; then
    echo "schemathesis: $BIN is missing: run \`cargo build\` first (or set MASTHEAD_BIN)" >&2
    exit 2
fi

if [[ ! -x $VENV/bin/schemathesis ]] || ! "$VENV/bin/schemathesis" --version | grep -qF "$ST_VERSION"; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$ST_VERSION"
fi

WORK=$(mktemp -d)
SERVER_PID=
PG_DB=
cleanup() {
    if [[ -n $SERVER_PID ]]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    if [[ -n $PG_DB ]]; then
        psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

case $BACKEND in
    sqlite) export DATABASE_URL="$WORK/masthead.db" ;;
    postgres)
        PG_DB="masthead_st_$$"
        psql "$PG_URL/postgres" -qc "CREATE DATABASE $PG_DB" >/dev/null
        export DATABASE_URL="$PG_URL/$PG_DB"
        ;;
    *) echo "usage: $0 [sqlite|postgres]" >&2; exit 2 ;;
esac

export MASTHEAD_BIND=127.0.0.1:0 # the OS picks a free port; the server logs it
export MASTHEAD_JWT_SECRET=schemathesis-run-secret-of-at-least-32-bytes
export MASTHEAD_LOG_FORMAT=text RUST_LOG=${RUST_LOG:-info}
# Rate limits answer 429 by design, and a fuzzer posts far faster than any reader: with them on,
# most comment and login cases would test the limiter rather than the operation. The limiters
# have their own integration tests (tests/api/comments.rs, tests/api/auth.rs).
export MASTHEAD_COMMENT_RATE=0               # 0 turns the comment limit off
export MASTHEAD_LOGIN_MAX_FAILURES=1000000   # the largest value the server accepts
export MASTHEAD_LOGIN_MAX_FAILURES_PER_ADDRESS=1000000
# The fuzzer creates webhooks with URLs it makes up, and publishing articles queues deliveries to
# them. Nothing may leave this machine: the delivery worker first looks for due deliveries after
# one poll interval, set here to the longest allowed (an hour, far past the run's end), and it
# sends only to public addresses (MASTHEAD_WEBHOOK_ALLOW_PRIVATE is off), checked after DNS, which
# resolves no outside name here. Deliveries have their own tests (tests/api/webhooks.rs,
# tests/api/webhook_safety.rs).
export MASTHEAD_WEBHOOK_POLL_MS=3600000
NOWHERE=http://127.0.0.1:9

ADMIN_PASSWORD="schemathesis admin passphrase"
"$BIN" seed-demo >/dev/null # articles, a series and comments, so slugs and ids exist
MASTHEAD_PASSWORD=$ADMIN_PASSWORD "$BIN" user add st-admin --role admin >"$WORK/user.txt"
ADMIN_ID=$(sed -n 's/.*(id \([0-9]*\)).*/\1/p' "$WORK/user.txt")

env -u NO_PROXY -u no_proxy HTTP_PROXY=$NOWHERE HTTPS_PROXY=$NOWHERE ALL_PROXY=$NOWHERE \
    http_proxy=$NOWHERE https_proxy=$NOWHERE all_proxy=$NOWHERE \
    "$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
PORT=
for _ in $(seq 1 100); do
    PORT=$(sed -n 's/.*listening port=\([0-9]*\).*/\1/p' "$WORK/server.log" | head -n 1)
    [[ -n $PORT ]] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
    sleep 0.1
done
[[ -n $PORT ]] || { echo "schemathesis: the server did not start" >&2; cat "$WORK/server.log" >&2; exit 1; }
BASE="http://127.0.0.1:$PORT"

TOKEN=$("$VENV/bin/python" - "$BASE" "$ADMIN_PASSWORD" <<'EOF'
import json, sys, urllib.request
base, password = sys.argv[1], sys.argv[2]
req = urllib.request.Request(
    base + "/api/v1/auth/token",
    data=json.dumps({"username": "st-admin", "password": password}).encode(),
    headers={"Content-Type": "application/json"},
)
print(json.load(urllib.request.urlopen(req))["access_token"])
EOF
)

echo "schemathesis $ST_VERSION on $BACKEND: $BASE, seed $SEED, $MAX_EXAMPLES examples per operation"
# Every check applies and runs. The hooks keep the run's own admin from being changed or
# deleted (that would revoke the token the whole run uses) and leave opaque cursors out of
# schema-valid cases; the config file names the statuses If-Match operations answer by design.
# One worker: with several threads, Hypothesis parses source concurrently, and CPython 3.11's
# ast.parse is not thread-safe (an occasional "AST constructor recursion depth mismatch"
# SystemError, CPython gh-106905), which fails the run for no fault of the API.
status=0
SCHEMATHESIS_HOOKS=schemathesis_hooks PYTHONPATH=.ci MASTHEAD_ST_ADMIN_ID=$ADMIN_ID \
    timeout 570 "$VENV/bin/schemathesis" --config-file .ci/schemathesis.toml run \
    "$BASE/api-docs/openapi.json" \
    --checks all \
    -H "Authorization: Bearer $TOKEN" \
    --max-examples "$MAX_EXAMPLES" \
    --seed "$SEED" \
    --max-time "$MAX_TIME" \
    --request-timeout 30 \
    --generation-database none \
    --workers 1 \
    --no-color \
    --report junit --report-junit-path "$WORK/junit.xml" \
    2>&1 | tee "$WORK/run.txt" || status=${PIPESTATUS[0]}

# Any server error the fuzzer provoked is also in the log, with its cause.
if grep -q 'request failed\|panicked\|status=500' "$WORK/server.log"; then
    echo "server log: errors logged during the run:" >&2
    grep 'request failed\|panicked\|status=500' "$WORK/server.log" | head -n 20 >&2
    status=1
fi

read -r tests failures errors < <("$VENV/bin/python" - "$WORK/junit.xml" <<'EOF'
import sys, xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except (OSError, ET.ParseError):
    print(0, 0, 1)
    raise SystemExit
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
t = sum(int(s.get("tests", 0)) for s in suites)
f = sum(int(s.get("failures", 0)) for s in suites)
e = sum(int(s.get("errors", 0)) for s in suites)
print(t, f, e)
EOF
)
passed=$((tests - failures - errors))
cases=$(grep -A1 '^Test cases:' "$WORK/run.txt" | tail -n 1 | sed 's/^ *//')
echo "schemathesis on $BACKEND, seed $SEED: ${cases:-no test cases}"
echo "schemathesis: ${passed} passed, $((failures + errors)) failed"
[[ $status -eq 0 && $failures -eq 0 && $errors -eq 0 ]]
