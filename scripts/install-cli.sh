#!/usr/bin/env bash
# Puts the `groundskeeper` command in .venv/bin: it runs `python -m groundskeeper_cli` with the layer, the
# functions and cli/ on the path (the dev install; the Lambda layer never ships the CLI).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${VENV_DIR:-$ROOT/.venv}
TARGET=$VENV/bin/groundskeeper
cat > "$TARGET" <<SHIM
#!/usr/bin/env bash
# Written by scripts/install-cli.sh.
export PYTHONPATH="$ROOT/cli:$ROOT/layers/groundskeeper:$ROOT/layers/org:$ROOT/functions/cors_auditor:$ROOT/functions/email_sender:$ROOT/functions/eip_janitor:$ROOT/functions/org_planner\${PYTHONPATH:+:\$PYTHONPATH}"
exec "$VENV/bin/python" -m groundskeeper_cli "\$@"
SHIM
chmod +x "$TARGET"
echo "install-cli.sh: $TARGET" >&2
