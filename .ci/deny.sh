#!/usr/bin/env bash
# cargo-deny (pinned): licences, duplicate versions and sources must pass (deny.toml); RustSec
# advisories are checked too, and fail CI when they find something. Their database is fetched
# from GitHub: on a network that cannot reach it, that one check is reported as NOT RUN (loudly,
# in the summary line) instead of failing the build for the network.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=0.20.2
if [ "$(cargo deny --version 2>/dev/null || true)" != "cargo-deny $VERSION" ]; then
    echo "installing cargo-deny $VERSION (crates.io, unoptimised build: it runs for seconds)"
    cargo install --locked --debug --quiet cargo-deny --version "$VERSION"
fi
cargo deny --offline check licenses bans sources

set +e
ADV=$(cargo deny check advisories 2>&1)
RC=$?
set -e
printf '%s\n' "$ADV"
if [ $RC -ne 0 ] && grep -q "failed to fetch advisory database" <<<"$ADV"; then
    echo "cargo-deny: licenses, bans, sources ok; advisories NOT RUN (advisory database unreachable)"
    exit 0
fi
if [ $RC -ne 0 ]; then
    echo "cargo-deny: advisories FAILED"
    exit $RC
fi
echo "cargo-deny: licenses, bans, sources, advisories ok"
