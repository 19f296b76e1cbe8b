#!/usr/bin/env bash
# Installs Debian's Chromium and a CJK font for the browser tests (issue 6). Idempotent.
# Never runs `playwright install`: Playwright drives /usr/bin/chromium through executable_path.
set -euo pipefail
if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "wenquanyi\|wqy"; then
  echo "setup-browser: installing Debian chromium and fonts-wqy-zenhei"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null
fi
/usr/bin/chromium --version
