#!/usr/bin/env bash
# Make sure the Debian packages the test run needs are present, installing the missing ones
# (one apt-get update) when we may install packages:
#   postgresql  its initdb and pg_ctl: the tests start their own throwaway cluster;
#   chromium    the dashboard's browser tests drive it with Playwright (no browser download).
set -euo pipefail

have_postgresql() {
  command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1 && return 0
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1
}

have_chromium() {
  command -v chromium >/dev/null 2>&1
}

missing=()
have_postgresql || missing+=(postgresql)
have_chromium || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing the missing Debian packages: ${missing[*]}..."
if [ "$(id -u)" = 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
else
  echo "Cannot install ${missing[*]}: not root and no sudo. Install these Debian packages" >&2
  echo "and run the tests again." >&2
  exit 1
fi
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null

have_postgresql || { echo "postgresql was installed but initdb/pg_ctl are still missing." >&2; exit 1; }
have_chromium || { echo "chromium was installed but is still not on the PATH." >&2; exit 1; }
