#!/usr/bin/env bash
# Installs @cloud-copilot/iam-simulate (dev only, AGPL, never shipped), the IAM evaluator the least-privilege
# proof (tests/iam) asks for each recorded request's decision. Core tooling in CI: see dev-node-tool.sh.
set -euo pipefail
exec "$(dirname "$0")/dev-node-tool.sh" iam-evaluator iam "the IAM least-privilege proof"
