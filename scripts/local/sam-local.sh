#!/usr/bin/env bash
# Runs the venv's `sam` for local work (build, validate, local invoke/start-lambda) with no way to reach real AWS.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$ROOT/scripts/local

eval "$("$HERE/docker-engine.sh" env)"
# sam build validates `python3.13` on PATH; the pyenv shim fails that check, the venv's python passes.
export PATH=$ROOT/.venv/bin:$PATH
export SAM_CLI_TELEMETRY=0
# Any credentials SAM can find (env, profile files, instance role) make every `sam local` command call
# STS first (~9.5 s hang offline) and are copied into the function container. With none, SAM passes
# dummy keys ("defaultkey") and skips STS.
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_PROFILE \
  AWS_DEFAULT_PROFILE AWS_ROLE_ARN AWS_ROLE_SESSION_NAME AWS_WEB_IDENTITY_TOKEN_FILE \
  AWS_CONTAINER_CREDENTIALS_FULL_URI AWS_CONTAINER_CREDENTIALS_RELATIVE_URI AWS_CONTAINER_AUTHORIZATION_TOKEN
export AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_CONFIG_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
export AWS_DEFAULT_REGION=${SAM_LOCAL_REGION:-us-east-1} AWS_REGION=${SAM_LOCAL_REGION:-us-east-1}
exec "$ROOT/.venv/bin/sam" "$@"
