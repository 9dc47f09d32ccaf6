#!/usr/bin/env bash
# Installs Handlebars.js, the dev-only reference that the email sender's renderer is tested against
# (tests/oracle). Without npm the oracle tests skip, saying why; nothing else needs node.
set -euo pipefail
cd "$(dirname "$0")/../tests/oracle"
if ! command -v npm >/dev/null 2>&1; then
    echo "oracle: npm not found, the Handlebars.js comparison tests will be skipped" >&2
    exit 0
fi
# npm ci writes node_modules/.package-lock.json: newer than the lockfile means the install is current.
if [[ node_modules/.package-lock.json -nt package-lock.json ]]; then
    exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
