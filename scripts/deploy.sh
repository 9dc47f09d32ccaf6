#!/usr/bin/env bash
# make deploy: `sam deploy --config-env ENV`, with the environment's own parameter_overrides from
# samconfig.toml plus the ones given here. SAM itself does not merge: --parameter-overrides on the command
# line replaces the environment's list, so the environment's settings would silently fall back to the
# template defaults. Usage: scripts/deploy.sh ENV [Key=Value ...] [-- extra sam deploy options]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
env_name=${1:?usage: $0 ENV [Key=Value ...] [-- sam deploy options]}
shift
extra=()
while (($#)) && [[ $1 != -- ]]; do extra+=("$1"); shift; done
[[ ${1:-} == -- ]] && shift

merged=$(.venv/bin/python -m scripts.deploy_overrides "$env_name" "${extra[@]}")
echo "sam deploy --config-env $env_name --parameter-overrides $merged $*"
exec .venv/bin/sam deploy --config-env "$env_name" --parameter-overrides "$merged" "$@"
