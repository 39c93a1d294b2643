#!/usr/bin/env bash
# Make sure Debian's Chromium is present: the dashboard's browser tests drive it with
# Playwright (no browser download). Installs the `chromium` package when it is missing
# and we may install packages.
set -euo pipefail

have_chromium() {
  command -v chromium >/dev/null 2>&1
}

if have_chromium; then
  exit 0
fi
echo "Chromium not found; installing the 'chromium' package..."
if [ "$(id -u)" = 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
elif command -v sudo >/dev/null 2>&1; then
  sudo apt-get update -qq
  sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
  echo "Cannot install Chromium: not root and no sudo. Install the 'chromium' package" >&2
  echo "and run the tests again." >&2
  exit 1
fi
have_chromium || { echo "Chromium was installed but 'chromium' is still not on the PATH." >&2; exit 1; }
