#!/usr/bin/env bash
# The benchmark measures throughput with wrk (Debian's package); this makes sure it exists.
set -euo pipefail
command -v wrk >/dev/null 2>&1 && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "wrk is missing: run 'sudo apt-get install wrk'." >&2
  exit 1
fi
echo "Installing wrk (Debian package 'wrk')..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends wrk >/dev/null
