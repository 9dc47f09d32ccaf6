#!/usr/bin/env bash
# Builds the stand-in Lambda base image from scratch N times in a row and reports failures out of N.
#
# Why: every fresh machine (CI, a newcomer's first `make demo`) takes this path once, so a failure that
# shows 1 run in 25 rejects whole CI runs. Each run removes the image and its build folder first, exactly
# as a fresh machine has neither. LOAD=1 keeps every core busy during the runs, which is when
# timing-dependent failures (SIGPIPE under pipefail, say) show most.
#
# Usage: scripts/local/base-image-soak.sh [N]   (N defaults to 30; `make base-image-soak N=30`)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$ROOT/scripts/local
RUNS=${1:-30}
IMAGE=${LAMBDA_BASE_IMAGE:-public.ecr.aws/lambda/python:3.13-x86_64}
LOG_DIR=$ROOT/.local/base-image-soak

[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "base-image-soak.sh: N must be a positive whole number, got '$RUNS'" >&2; exit 2; }
eval "$("$HERE/docker-engine.sh" env)"
mkdir -p "$LOG_DIR"

burners=()
stop_burners() { ((${#burners[@]})) && kill "${burners[@]}" 2>/dev/null; burners=(); }
trap stop_burners EXIT
if [[ ${LOAD:-0} != 0 ]]; then
  for ((i = 0; i < $(nproc); i++)); do
    (while :; do :; done) &
    burners+=($!)
  done
  echo "base-image-soak.sh: $(nproc) CPU burners running (pids ${burners[*]})" >&2
fi

failures=0
for ((run = 1; run <= RUNS; run++)); do
  docker rmi -f "$IMAGE" >/dev/null 2>&1 || true
  rm -rf "$ROOT/.local/lambda-base"
  started=$(date +%s%N)
  # No pull: a fresh machine here has no registry, and the stand-in build is the path under test.
  if LAMBDA_BASE_PULL=0 "$HERE/lambda-base-image.sh" >"$LOG_DIR/run-$run.log" 2>&1; then
    status=ok
  else
    status="FAILED (exit $?; see $LOG_DIR/run-$run.log)"
    failures=$((failures + 1))
  fi
  elapsed_ms=$((($(date +%s%N) - started) / 1000000))
  printf 'run %2d/%d: %s in %d.%01ds\n' "$run" "$RUNS" "$status" $((elapsed_ms / 1000)) $((elapsed_ms % 1000 / 100))
done
echo "stand-in base image builds: $failures failed of $RUNS"
((failures == 0))
