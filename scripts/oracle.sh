#!/usr/bin/env bash
# Installs Handlebars.js, the dev-only reference that the email sender's renderer is tested against
# (tests/oracle). Core tooling in CI: see dev-node-tool.sh.
set -euo pipefail
exec "$(dirname "$0")/dev-node-tool.sh" oracle oracle "the Handlebars.js comparison tests"
