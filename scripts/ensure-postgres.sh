#!/usr/bin/env bash
# Make sure PostgreSQL server binaries (initdb, pg_ctl) are present: the test run
# starts its own throwaway cluster with them. Installs Debian's `postgresql`
# package when they are missing and we may install packages.
set -euo pipefail

have_pg() {
  command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1 && return 0
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1
}

if have_pg; then
  exit 0
fi
echo "PostgreSQL server binaries not found; installing the 'postgresql' package..."
if [ "$(id -u)" = 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
elif command -v sudo >/dev/null 2>&1; then
  sudo apt-get update -qq
  sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
else
  echo "Cannot install PostgreSQL: not root and no sudo. Install the 'postgresql' package" >&2
  echo "(its initdb and pg_ctl) and run the tests again." >&2
  exit 1
fi
have_pg || { echo "PostgreSQL was installed but initdb/pg_ctl are still missing." >&2; exit 1; }
