#!/usr/bin/env bash
# Prints the path of a python3.13 interpreter that really runs (PATH, then pyenv, then the usual directories,
# then one the set-up installed); when there is none, installs one with uv into .local/python. Exit 1 if none.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# uv's managed CPython goes here, inside the checkout (`make clean` removes it); its executables too, so the
# install touches nothing in $HOME.
MANAGED=$ROOT/.local/python
UV_BOOTSTRAP=$ROOT/.local/uv

log() { echo "python.sh: $*" >&2; }

# A candidate counts only if it executes and is 3.13: the pyenv shim may sit on PATH and fail.
# We print the *base* interpreter (not a venv's), so venvs and the Lambda base image can be built from it.
resolve() {
  "$1" -c 'import sys, os
assert sys.version_info[:2] == (3, 13)
print(os.path.realpath(getattr(sys, "_base_executable", "") or sys.executable))' 2>/dev/null
}

candidates=()
find_candidates() {
  candidates=()
  [[ -n "${PYTHON313:-}" ]] && candidates+=("$PYTHON313")
  if p=$(command -v python3.13 2>/dev/null); then candidates+=("$p"); fi
  if command -v pyenv >/dev/null 2>&1 && root=$(pyenv root 2>/dev/null); then
    for p in "$root"/versions/3.13*/bin/python3.13; do [[ -x $p ]] && candidates+=("$p"); done
  fi
  for p in "${HOME:-/root}"/.pyenv/versions/3.13*/bin/python3.13; do [[ -x $p ]] && candidates+=("$p"); done
  for d in ${PYTHON313_DIRS:-/usr/bin /usr/local/bin}; do [[ -x $d/python3.13 ]] && candidates+=("$d/python3.13"); done
  for p in "$MANAGED"/cpython-3.13*/bin/python3.13; do [[ -x $p ]] && candidates+=("$p"); done
  return 0
}

first_working() {
  local c out
  for c in ${candidates[@]+"${candidates[@]}"}; do
    if out=$(resolve "$c") && [[ -n $out ]]; then
      printf '%s\n' "$out"
      return 0
    fi
  done
  return 1
}

# uv as the set-up already has it (PATH, the venv, a bootstrap of ours, uv's own installer's places); else
# the version requirements-dev.txt pins, installed into a small venv of any python3 that has venv and pip.
find_uv() {
  local u pin
  for u in "${UV:-}" "$(command -v uv 2>/dev/null || true)" "$ROOT/.venv/bin/uv" "$UV_BOOTSTRAP/bin/uv" \
    "${HOME:-/root}/.local/bin/uv" "${HOME:-/root}/.cargo/bin/uv"; do
    if [[ -n $u && -x $u ]] && "$u" --version >/dev/null 2>&1; then
      printf '%s\n' "$u"
      return 0
    fi
  done
  command -v python3 >/dev/null 2>&1 || { log "no uv, and no python3 to install it with"; return 1; }
  pin=$(sed -nE 's/^[[:space:]]*uv[[:space:]]*==[[:space:]]*([^[:space:];#]+).*/\1/p' "$ROOT/requirements-dev.txt" 2>/dev/null || true)
  pin=${pin%%$'\n'*}
  log "no uv; installing uv${pin:+ $pin} into $UV_BOOTSTRAP with $(command -v python3)"
  if python3 -m venv --clear "$UV_BOOTSTRAP" >&2 &&
    "$UV_BOOTSTRAP/bin/python" -m pip install -q --disable-pip-version-check "uv${pin:+==$pin}" >&2 &&
    "$UV_BOOTSTRAP/bin/uv" --version >/dev/null 2>&1; then
    printf '%s\n' "$UV_BOOTSTRAP/bin/uv"
    return 0
  fi
  log "could not install uv with $(command -v python3) (it needs the venv module and network access)"
  return 1
}

find_candidates
if first_working; then exit 0; fi
tried=${candidates[*]:-none}

if uv=$(find_uv); then
  log "no working python3.13 (tried: $tried); installing CPython 3.13 with $uv into $MANAGED"
  if UV_PYTHON_INSTALL_DIR=$MANAGED UV_PYTHON_BIN_DIR=$MANAGED/bin "$uv" python install 3.13 >&2; then
    find_candidates
    if first_working; then exit 0; fi
    log "uv reported success, but no python3.13 that runs is in $MANAGED"
  else
    log "uv python install 3.13 failed (offline? see above)"
  fi
fi
log "no working python3.13 found (tried: $tried), and the set-up could not install one." \
  "Install python3.13 yourself (uv python install 3.13, or pyenv install 3.13) and put it on PATH, or" \
  "install uv (or a python3 with its venv module, e.g. Debian's python3-venv) so the set-up can," \
  "or set PYTHON313=/path/to/python3.13."
exit 1
