#!/usr/bin/env bash
# Install Debian's Chromium for the console's browser tests (Playwright drives /usr/bin/chromium; no browser is
# downloaded from a hub). Idempotent; quiet when it is already there.
set -euo pipefail
[ -x /usr/bin/chromium ] && exit 0
if [ "$(id -u)" != 0 ]; then echo "Chromium is not installed and this is not root: install the 'chromium' Debian package" >&2; exit 1; fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq chromium >/dev/null
/usr/bin/chromium --version
