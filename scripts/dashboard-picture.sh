#!/usr/bin/env bash
# The dashboard picture in docs/operations.md: the DashboardBody of the transformed template, drawn as HTML
# (scripts/rehearse/dashboard_html.py) and screenshotted with headless Chromium (Debian's package).
# Usage: scripts/dashboard-picture.sh [docs/images/dashboard.png]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
png=${1:-$ROOT/docs/images/dashboard.png}
command -v chromium >/dev/null || { echo "install Debian's chromium first: apt-get install -y chromium" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$ROOT" && .venv/bin/python -m scripts.rehearse.dashboard_html "$work/dashboard.html")
# The background-networking flags keep Chromium from reaching for hosts this offline machine cannot resolve.
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --user-data-dir="$work/profile" --hide-scrollbars \
  --window-size=1120,960 --screenshot="$png" "file://$work/dashboard.html" 2>/dev/null
echo "$png"
