#!/usr/bin/env bash
# Installs @cloud-copilot/iam-simulate (dev only, AGPL, never shipped), the IAM evaluator the least-privilege
# proof (tests/iam) asks for each recorded request's decision. Core tooling in CI (CI=true): there a missing
# node or npm fails the run. Locally the proof skips, saying why.
set -euo pipefail
cd "$(dirname "$0")/../tests/iam"
for tool in node npm; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        case ${CI:-} in
            ""|0|false|no)
                echo "iam-evaluator: $tool not found, the IAM least-privilege proof will be skipped" >&2
                exit 0 ;;
            *)
                echo "iam-evaluator: $tool not found; CI needs it for the IAM least-privilege proof" >&2
                exit 1 ;;
        esac
    fi
done
# npm ci writes node_modules/.package-lock.json: newer than the lockfile means the install is current.
if [[ node_modules/.package-lock.json -nt package-lock.json ]]; then
    exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
