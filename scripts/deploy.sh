#!/usr/bin/env bash
# make deploy: `sam deploy --config-env ENV`, with the environment's own parameter_overrides from
# samconfig.toml plus the ones given here. SAM itself does not merge: --parameter-overrides on the command
# line replaces the environment's list, so the environment's settings would silently fall back to the
# template defaults. Usage: scripts/deploy.sh ENV [Key=Value ...] [-- extra sam deploy options]
#
# samconfig asks "Deploy this changeset? [y/N]" (confirm_changeset). Only a person at a terminal can
# answer: without one (CI, a script, a pipe) SAM reads no answer and aborts. So the question is asked only
# when stdin and stdout are terminals and CI is unset; otherwise --no-confirm-changeset is passed. An
# explicit --confirm-changeset or --no-confirm-changeset after -- is kept as given.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
env_name=${1:?usage: $0 ENV [Key=Value ...] [-- sam deploy options]}
shift
extra=()
while (($#)) && [[ $1 != -- ]]; do extra+=("$1"); shift; done
[[ ${1:-} == -- ]] && shift

confirm=()
if [[ " $* " != *" --confirm-changeset "* && " $* " != *" --no-confirm-changeset "* ]] \
    && ! [[ -t 0 && -t 1 && -z ${CI:-} ]]; then
    confirm=(--no-confirm-changeset)
fi

# `make` puts the venv first on PATH; run directly, the script falls back to the venv's sam.
sam=$(command -v sam || echo "$ROOT/.venv/bin/sam")
merged=$(.venv/bin/python -m scripts.deploy_overrides "$env_name" "${extra[@]}")
echo "sam deploy --config-env $env_name --parameter-overrides $merged ${confirm[*]} $*"
exec "$sam" deploy --config-env "$env_name" --parameter-overrides "$merged" "${confirm[@]}" "$@"
