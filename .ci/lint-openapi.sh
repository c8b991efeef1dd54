#!/usr/bin/env bash
# Lints openapi/openapi.json with Redocly CLI (pinned in .ci/openapi-lint/package-lock.json) and
# the recommended ruleset (redocly.yaml). Fails on any error; prints warnings, which redocly.yaml
# explains.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."

# Nothing leaves the machine: no usage telemetry, no update check.
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true

LINT=.ci/openapi-lint
if [[ ! -x $LINT/node_modules/.bin/redocly ]]; then
    npm ci --prefix "$LINT" --no-audit --no-fund --loglevel=error
fi

status=0
"$LINT/node_modules/.bin/redocly" lint openapi/openapi.json --config redocly.yaml \
    --format=stylish 2>&1 | grep -v '[║╔╚]' || status=${PIPESTATUS[0]}
if [[ $status -eq 0 ]]; then
    echo "lint-openapi: 1 passed, 0 failed"
else
    echo "lint-openapi: 0 passed, 1 failed"
fi
exit "$status"
