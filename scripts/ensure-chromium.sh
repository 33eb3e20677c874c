#!/usr/bin/env bash
# The dashboard's browser tests drive Debian's Chromium with Playwright's Python client
# (Playwright's own browser download cannot work here); this makes sure Chromium exists.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "Chromium is missing: run 'sudo apt-get install chromium'." >&2
  exit 1
fi
echo "Installing Chromium (Debian package 'chromium')..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium >/dev/null
