#!/usr/bin/env bash
# make rehearse: deploys the app, as `sam deploy` would, to a moto server of its own, and checks what was
# created. Build -> sam package (to a bucket on moto) -> aws-sam-translator -> CloudFormation CreateStack.
# The moto server runs on REHEARSE_PORT (5088), apart from the local loop's and the demo's, and is stopped
# by its PID on exit.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PORT=${REHEARSE_PORT:-5088}
OUT=$ROOT/.local/rehearse
started=$(date +%s)

rm -rf "$OUT" && mkdir -p "$OUT"
# Its own build and cache folders, so a rehearsal never touches .aws-sam from `make build`.
echo "rehearse: sam build"
if ! scripts/local/sam-local.sh build --build-dir "$OUT/build" --cache-dir "$OUT/cache" --parallel \
  >"$OUT/sam-build.log" 2>&1; then
  cat "$OUT/sam-build.log" >&2
  exit 1
fi
# The same precompiled bytecode `make build` ships (scripts/build.sh).
.venv/bin/python -m compileall -q -j 0 --invalidation-mode checked-hash "$OUT/build" >/dev/null
echo "  build: $(($(date +%s) - started))s"

trap 'MOTO_PORT=$PORT scripts/local/moto-server.sh stop' EXIT
MOTO_PORT=$PORT scripts/local/moto-server.sh start
# Dummy credentials only; "localhost", not 127.0.0.1: moto reads a TemplateURL's bucket from a path-style
# URL only when its host is localhost.
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_SESSION_TOKEN=testing
export AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1 AWS_ENDPOINT_URL=http://localhost:$PORT
unset AWS_PROFILE
export AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_CONFIG_FILE=/dev/null
# moto's own warnings about the resource types its CloudFormation skips go to the log, not the console.
status=0
.venv/bin/python -W ignore -m scripts.rehearse.stack "$AWS_ENDPOINT_URL" "$OUT/build/template.yaml" "$OUT" || status=$?
echo "rehearse: done in $(($(date +%s) - started))s"
exit "$status"
