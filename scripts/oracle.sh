#!/usr/bin/env bash
# Installs Handlebars.js, the dev-only reference that the email sender's renderer is tested against
# (tests/oracle). Core tooling in CI (CI=true): there a missing node or npm fails the run. Locally the oracle
# tests skip, saying why; nothing else needs node.
set -euo pipefail
cd "$(dirname "$0")/../tests/oracle"
for tool in node npm; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        case ${CI:-} in
            ""|0|false|no)
                echo "oracle: $tool not found, the Handlebars.js comparison tests will be skipped" >&2
                exit 0 ;;
            *)
                echo "oracle: $tool not found; CI needs it for the Handlebars.js comparison tests" >&2
                exit 1 ;;
        esac
    fi
done
# npm ci writes node_modules/.package-lock.json: newer than the lockfile means the install is current.
if [[ node_modules/.package-lock.json -nt package-lock.json ]]; then
    exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
