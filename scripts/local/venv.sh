#!/usr/bin/env bash
# Creates/refreshes the project .venv (python3.13) from requirements-dev.txt with uv; a no-op when nothing changed.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VENV=${VENV_DIR:-$ROOT/.venv}
REQ=${REQUIREMENTS_DEV:-$ROOT/requirements-dev.txt}
STAMP=$VENV/.requirements-dev.sha256

[[ -f $REQ ]] || { echo "venv.sh: $REQ not found" >&2; exit 1; }
mkdir -p "$ROOT/.local"
exec 9>"$ROOT/.local/venv.lock"   # one installer at a time
flock 9

# The stamp covers the requirements file, any -r/-c file it includes (one level), and the interpreter.
fingerprint() {
  local dir; dir=$(dirname "$REQ")
  {
    sha256sum < "$REQ"
    sed -nE 's/^[[:space:]]*(-r|-c|--requirement|--constraint)[[:space:]=]+([^[:space:]#]+).*/\2/p' "$REQ" |
      while read -r inc; do [[ $inc = /* ]] || inc=$dir/$inc; sha256sum < "$inc" 2>/dev/null || echo "missing $inc"; done
    "$VENV/bin/python" -VV 2>/dev/null || true
  } | sha256sum | cut -d' ' -f1
}

if ! "$VENV/bin/python" -c 'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null; then
  PY=$("$ROOT/scripts/local/python.sh")
  echo "venv.sh: creating $VENV with $PY" >&2
  "$PY" -m venv --clear "$VENV"
  rm -f "$STAMP"
fi

want=$(fingerprint)
if [[ -f $STAMP && $(cat "$STAMP") == "$want" ]]; then
  exit 0
fi

echo "venv.sh: installing $(basename "$REQ") into $VENV" >&2
# pip's exit status decides (pipefail); the filter only hides this machine's harmless
# "Location ... is ignored" warnings and must not fail when it prints nothing.
pip_install() {
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "$@" 2>&1 |
    { grep -vE "Location .* is ignored" || true; } >&2
}
# uv installs the same pinned set several times faster than pip (docs/performance.md). It comes from PyPI
# through the venv's own pip, at the version requirements-dev.txt pins; without it, pip does the install.
# No pipe into `head`: under pipefail a reader that stops early can kill sed with SIGPIPE and fail the line.
uv_pin=$(sed -nE 's/^[[:space:]]*uv[[:space:]]*==[[:space:]]*([^[:space:];#]+).*/\1/p' "$REQ")
uv_pin=${uv_pin%%$'\n'*}  # the first pin
if [[ ! -x $VENV/bin/uv || ( -n $uv_pin && $("$VENV/bin/uv" --version 2>/dev/null) != "uv $uv_pin"* ) ]]; then
  pip_install "uv${uv_pin:+==$uv_pin}" || echo "venv.sh: could not install uv; installing with pip" >&2
fi
if [[ -x $VENV/bin/uv ]]; then
  "$VENV/bin/uv" pip install -q --python "$VENV/bin/python" -r "$REQ" >&2
else
  pip_install -r "$REQ"
fi
printf '%s\n' "$want" > "$STAMP"
