#!/usr/bin/env bash
# Installs a dev-only npm package set (the package-lock.json of a folder under tests/) that a test suite checks
# the code against. Core tooling in CI (CI=true): there a missing node or npm fails the run. Locally that
# suite skips, saying why; nothing else needs node.
# Usage: dev-node-tool.sh <name for messages> <folder under tests/> <the suite that needs it>
set -euo pipefail
name=$1 folder=$2 suite=$3
cd "$(dirname "$0")/../tests/$folder"
for tool in node npm; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        case ${CI:-} in
            ""|0|false|no)
                echo "$name: $tool not found, $suite will be skipped" >&2
                exit 0 ;;
            *)
                echo "$name: $tool not found; CI needs it for $suite" >&2
                exit 1 ;;
        esac
    fi
done
# npm ci writes node_modules/.package-lock.json: newer than the lockfile means the install is current.
if [[ node_modules/.package-lock.json -nt package-lock.json ]]; then
    exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
