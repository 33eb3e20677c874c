#!/usr/bin/env bash
# The test suite starts its own PostgreSQL server; this makes sure the server programs exist.
set -euo pipefail
if command -v pg_ctl >/dev/null 2>&1 || compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "PostgreSQL server programs are missing: run 'sudo apt-get install postgresql'." >&2
  exit 1
fi
echo "Installing PostgreSQL server programs (Debian package 'postgresql')..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends postgresql >/dev/null
