#!/usr/bin/env bash
# Writes .local/sam-env.json for `sam local invoke|start-lambda --env-vars`: moto endpoint + dummy creds per function, plus optional JSON to merge.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$ROOT/scripts/local
OUT=${SAM_ENV_FILE:-$ROOT/.local/sam-env.json}
FUNCTIONS=${SAM_ENV_FUNCTIONS:-CorsAuditorFunction EmailSenderFunction EipJanitorFunction}
REGION=${SAM_LOCAL_REGION:-us-east-1}
ENDPOINT=${SAM_LOCAL_ENDPOINT_URL:-$("$HERE/moto-server.sh" url)}

if [[ ${1:-} == -h || ${1:-} == --help ]]; then
  echo "usage: $0 [extra.json ...]   prints the path written (\$SAM_ENV_FILE, default .local/sam-env.json)" >&2
  echo "  extra.json: {\"EmailSenderFunction\": {\"SENDER\": \"a@b.c\"}, \"Parameters\": {...}} merged per key, later wins" >&2
  exit 0
fi
for f in "$@"; do [[ -f $f ]] || { echo "sam-env.sh: $f not found" >&2; exit 1; }; done

PY=$ROOT/.venv/bin/python
[[ -x $PY ]] || PY=$("$HERE/python.sh")
mkdir -p "$(dirname "$OUT")"
# Note: SAM applies these only to variables the template declares for the function (Globals or its own
# Environment); AWS_REGION and the keys are always set by SAM itself from its own session, not from here.
"$PY" - "$OUT" "$ENDPOINT" "$REGION" "$FUNCTIONS" "$@" <<'PY'
import json, os, sys

out, endpoint, region, functions, *extras = sys.argv[1:]
base = {
    "AWS_ENDPOINT_URL": endpoint,
    "AWS_DEFAULT_REGION": region,
    "AWS_REGION": region,
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
doc = {"Parameters": dict(base), **{name: dict(base) for name in functions.split()}}
for path in extras:
    with open(path) as fh:
        extra = json.load(fh)
    if not isinstance(extra, dict) or not all(isinstance(v, dict) for v in extra.values()):
        sys.exit(f"sam-env.sh: {path} must be a JSON object of objects (logical ID or Parameters -> variables)")
    for key, variables in extra.items():
        doc.setdefault(key, dict(base)).update({k: str(v) for k, v in variables.items()})
tmp = out + ".tmp"
with open(tmp, "w") as fh:
    json.dump(doc, fh, indent=2, sort_keys=True)
    fh.write("\n")
os.replace(tmp, out)
print(out)
PY
