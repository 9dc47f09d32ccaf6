#!/usr/bin/env bash
# Screenshots one rendered email from `make demo` for the README, with headless Chromium (Debian's package).
# Usage: scripts/email-screenshot.sh [out/demo/emails/01-cors-finding.html] [docs/images/cors-finding-email.png]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
html=${1:-$ROOT/out/demo/emails/01-cors-finding.html}
png=${2:-$ROOT/docs/images/cors-finding-email.png}
command -v chromium >/dev/null || { echo "install Debian's chromium first: apt-get install -y chromium" >&2; exit 1; }
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
# The background-networking flags keep Chromium from reaching for hosts this offline machine cannot resolve.
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --user-data-dir="$profile" --hide-scrollbars \
  --window-size=760,440 --screenshot="$png" "file://$(realpath "$html")" 2>/dev/null
echo "$png"
