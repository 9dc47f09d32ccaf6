#!/usr/bin/env bash
# Installs @cloud-copilot/iam-simulate (dev only, AGPL, never shipped), the IAM evaluator the least-privilege
# proof (tests/iam) asks for each recorded request's decision. Without npm the proof skips, saying why; under
# CI=true it must run, so a missing npm fails here.
set -euo pipefail
cd "$(dirname "$0")/../tests/iam"
if ! command -v npm >/dev/null 2>&1; then
    if [[ "${CI:-}" == "true" ]]; then
        echo "iam-evaluator: npm not found, and CI=true requires the IAM proof to run" >&2
        exit 1
    fi
    echo "iam-evaluator: npm not found, the IAM least-privilege proof will be skipped" >&2
    exit 0
fi
# npm ci writes node_modules/.package-lock.json: newer than the lockfile means the install is current.
if [[ node_modules/.package-lock.json -nt package-lock.json ]]; then
    exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
