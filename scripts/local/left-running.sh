#!/usr/bin/env bash
# Says what the local loop left running (the demo's moto server, the project's dockerd) and how to stop it:
# the last lines of `make demo` and `make test`.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

left=()
if out=$("$HERE/moto-server.sh" status 2>/dev/null) && [[ $out == "moto server running"* ]]; then
  left+=("$out, on the loopback and the container bridge only")
fi
if out=$("$HERE/docker-engine.sh" status 2>/dev/null) && [[ $out == "project dockerd running"* ]]; then
  left+=("$out")
fi
if ((${#left[@]})); then
  echo "Left running, so that the next run starts faster:"
  printf '  - %s\n' "${left[@]}"
  echo "\`make stop\` stops them (\`make clean\` also removes the venv, the build output and the local state)."
else
  echo "Nothing of the local loop is left running."
fi
