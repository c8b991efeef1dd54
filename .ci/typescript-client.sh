#!/usr/bin/env bash
# The generated TypeScript client (clients/typescript) against a live server.
#
#   1. npm ci (the committed package-lock.json);
#   2. regenerate src/schema.d.ts from openapi/openapi.json and fail if it differs from the
#      committed one;
#   3. tsc --noEmit in strict mode, then compile the demo;
#   4. start the server binary ($MASTHEAD_BIN, default target/debug/masthead: build it first)
#      on a free port with a fresh SQLite database in a temporary folder, or on $DATABASE_URL
#      when that is set (e.g. postgres://…), with an editor and a moderator;
#   5. check the server serves the committed OpenAPI document, run the demo, stop the server.
#
# Exits with the demo's status (or the first failing step's) and ends with one summary line.
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CLIENT="$ROOT/clients/typescript"
BIN="${MASTHEAD_BIN:-target/debug/masthead}"
case "$BIN" in /*) ;; *) BIN="$ROOT/$BIN" ;; esac

step() { printf '\n=== typescript client: %s ===\n' "$*"; }

WORK=$(mktemp -d)
SERVER_PID=""
STAGE="setup"
BACKEND="sqlite"
RESULT=""

stop_server() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.2
        done
        if kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "server did not stop on SIGTERM within 10 s; killing it" >&2
            kill -KILL "$SERVER_PID" 2>/dev/null || true
        fi
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=""
}

show_server_log() {
    if [ -s "$WORK/server.log" ]; then
        echo "--- last lines of the server log ---" >&2
        tail -n 40 "$WORK/server.log" >&2
        echo "---" >&2
    fi
}

finish() {
    local status=$?
    stop_server
    rm -rf "$WORK"
    if [ "$status" -eq 0 ]; then
        echo "typescript-client: OK (${BACKEND}) — ${RESULT}"
    else
        echo "typescript-client: FAILED at ${STAGE} (${BACKEND}, exit ${status})"
    fi
    exit "$status"
}
trap finish EXIT

die() {
    echo "typescript-client: $*" >&2
    exit 1
}

# --- tools --------------------------------------------------------------------------------
STAGE="tools"
command -v node >/dev/null 2>&1 || die "node is not installed (Node.js 20 or newer is needed)"
command -v npm >/dev/null 2>&1 || die "npm is not installed"
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || die "Node.js $(node --version) is too old: 20 or newer is needed"

# --- dependencies from the lockfile -------------------------------------------------------
STAGE="npm ci"
step "npm ci (node $(node --version), npm $(npm --version))"
cd "$CLIENT"
npm ci --no-audit --no-fund --loglevel=error

# --- the committed types are what the document generates ----------------------------------
STAGE="types up to date"
step "src/schema.d.ts matches openapi/openapi.json"
# The same generator and arguments as `npm run generate`, written aside so the tree is untouched.
npx --no-install openapi-typescript ../../openapi/openapi.json -o "$WORK/schema.d.ts"
if ! diff -u src/schema.d.ts "$WORK/schema.d.ts" >"$WORK/schema.diff"; then
    head -n 60 "$WORK/schema.diff" >&2
    die "clients/typescript/src/schema.d.ts is stale: run 'npm run generate' in clients/typescript and commit it"
fi
echo "generated types are identical to the committed src/schema.d.ts"

# --- strict type check and build ----------------------------------------------------------
STAGE="typecheck"
step "tsc --noEmit (strict)"
npm run --silent typecheck
echo "tsc: no errors"

STAGE="build"
npm run --silent build

# --- a live server --------------------------------------------------------------------------
STAGE="server"
step "server"
[ -x "$BIN" ] || die "no server binary at $BIN: run 'cargo build' first (or set MASTHEAD_BIN)"

RUN_ID="$(date +%s)-$$"
EDITOR_USER="editor1"
MODERATOR_USER="mod1"
if [ -n "${DATABASE_URL:-}" ]; then
    # A database given by the caller may already hold these users from an earlier run.
    case "$DATABASE_URL" in
        postgres://* | postgresql://*) BACKEND="postgres" ;;
        *) BACKEND="given database" ;;
    esac
    EDITOR_USER="editor1-$RUN_ID"
    MODERATOR_USER="mod1-$RUN_ID"
else
    export DATABASE_URL="$WORK/masthead.db"
fi

random_hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }
given_secret="${MASTHEAD_JWT_SECRET:-}"
if [ "${#given_secret}" -lt 32 ]; then
    MASTHEAD_JWT_SECRET=$(random_hex 32) # 64 characters
fi
export MASTHEAD_JWT_SECRET
export MASTHEAD_PASSWORD="${MASTHEAD_PASSWORD:-demo-$(random_hex 12)}"
# Settings of the caller's environment that would change what the demo expects.
export MASTHEAD_COMMENT_AUTO_APPROVE=false
export MASTHEAD_TRUST_PROXY=false
unset MASTHEAD_SPAM_KEYWORDS MASTHEAD_PUBLIC_URL MASTHEAD_BIND

PORT=$(node -e '
const s = require("net").createServer();
s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });')
BASE_URL="http://127.0.0.1:$PORT"

echo "binary:   $BIN"
echo "database: $BACKEND$([ "$BACKEND" = sqlite ] && echo " (fresh, in a temporary folder)")"
"$BIN" user add "$EDITOR_USER" --role editor --display-name "Editor One" </dev/null
"$BIN" user add "$MODERATOR_USER" --role moderator --display-name "Moderator One" </dev/null

MASTHEAD_BIND="127.0.0.1:$PORT" RUST_LOG="${RUST_LOG:-info}" "$BIN" serve >"$WORK/server.log" 2>&1 </dev/null &
SERVER_PID=$!

probe() {
    node -e '
fetch(process.argv[1]).then((r) => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1));' "$1"
}
ready=""
for _ in $(seq 1 120); do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=""
        show_server_log
        die "the server exited during start-up"
    fi
    if probe "$BASE_URL/readyz"; then
        ready=1
        break
    fi
    sleep 0.5
done
if [ -z "$ready" ]; then
    show_server_log
    die "$BASE_URL/readyz did not answer 200 within 60 s"
fi
echo "ready at $BASE_URL"

STAGE="served document"
# The types describe openapi/openapi.json; they describe this server only if it serves that.
# The Rust suite already fails CI when the two differ, so here a difference is a warning: the
# demo still runs (a working tree being edited often has a binary ahead of the committed file).
DOC_NOTE=""
if node -e '
const fs = require("fs");
const { isDeepStrictEqual } = require("util");
const committed = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
fetch(process.argv[1]).then(async (r) => {
  if (r.status !== 200) { console.error(`GET /api-docs/openapi.json answered ${r.status}`); process.exit(1); }
  const served = await r.json();
  if (!isDeepStrictEqual(served, committed)) {
    const paths = (d) => new Set(Object.keys(d.paths || {}));
    const [s, c] = [paths(served), paths(committed)];
    const only = (a, b) => [...a].filter((p) => !b.has(p)).join(", ") || "none";
    console.error(`paths only served: ${only(s, c)}; paths only committed: ${only(c, s)}`);
    process.exit(1);
  }
}, (e) => { console.error(String(e)); process.exit(1); });' "$BASE_URL/api-docs/openapi.json" "$ROOT/openapi/openapi.json"; then
    echo "GET /api-docs/openapi.json is the committed openapi/openapi.json"
else
    echo "WARNING: the server does not serve the committed openapi/openapi.json (binary built from" \
        "other sources, or the file not regenerated with 'masthead openapi'); the client's types" \
        "describe the committed file" >&2
    DOC_NOTE=" (warning: served OpenAPI document differs from the committed one)"
fi

# --- the demo -------------------------------------------------------------------------------
STAGE="demo"
step "demo (node dist/demo.js)"
set +e
MASTHEAD_URL="$BASE_URL" \
    MASTHEAD_EDITOR_USER="$EDITOR_USER" MASTHEAD_EDITOR_PASSWORD="$MASTHEAD_PASSWORD" \
    MASTHEAD_MODERATOR_USER="$MODERATOR_USER" MASTHEAD_MODERATOR_PASSWORD="$MASTHEAD_PASSWORD" \
    node dist/demo.js 2>&1 | tee "$WORK/demo.log"
demo_status=${PIPESTATUS[0]}
set -e
if [ "$demo_status" -ne 0 ]; then
    show_server_log
    exit "$demo_status"
fi

STAGE="shutdown"
stop_server
RESULT="types match the document, tsc strict clean, $(sed -n 's/^demo: OK — //p' "$WORK/demo.log" | tail -n 1)${DOC_NOTE}"
exit 0
