#!/usr/bin/env bash
# The test suite starts its own Redis server (shared rate limits); this makes sure it exists.
set -euo pipefail
if command -v redis-server >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "redis-server is missing: run 'sudo apt-get install redis-server'." >&2
  exit 1
fi
echo "Installing Redis (Debian package 'redis-server')..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends redis-server >/dev/null
