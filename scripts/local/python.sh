#!/usr/bin/env bash
# Prints the path of a python3.13 interpreter that really runs (PATH, then pyenv, then /usr/bin); exit 1 if none.
set -euo pipefail

# A candidate counts only if it executes and is 3.13: the pyenv shim may sit on PATH and fail.
# We print the *base* interpreter (not a venv's), so venvs and the Lambda base image can be built from it.
resolve() {
  "$1" -c 'import sys, os
assert sys.version_info[:2] == (3, 13)
print(os.path.realpath(getattr(sys, "_base_executable", "") or sys.executable))' 2>/dev/null
}

candidates=()
[[ -n "${PYTHON313:-}" ]] && candidates+=("$PYTHON313")
if p=$(command -v python3.13 2>/dev/null); then candidates+=("$p"); fi
if command -v pyenv >/dev/null 2>&1 && root=$(pyenv root 2>/dev/null); then
  for p in "$root"/versions/3.13*/bin/python3.13; do [[ -x $p ]] && candidates+=("$p"); done
fi
for p in "${HOME:-/root}"/.pyenv/versions/3.13*/bin/python3.13 /usr/bin/python3.13 /usr/local/bin/python3.13; do
  [[ -x $p ]] && candidates+=("$p")
done

for c in ${candidates[@]+"${candidates[@]}"}; do
  if out=$(resolve "$c") && [[ -n $out ]]; then
    printf '%s\n' "$out"
    exit 0
  fi
done
echo "python.sh: no working python3.13 found (tried: ${candidates[*]:-none})." \
  "Install one (pyenv install 3.13, or apt-get install python3.13) or set PYTHON313=/path/to/python3.13." >&2
exit 1
