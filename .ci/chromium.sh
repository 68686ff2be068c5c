#!/usr/bin/env bash
# Debian's Chromium for the browser tests (apps/gateway ops-dashboard.int.test.ts drive it with
# playwright-core). Playwright's own browser download (`npx playwright install`) needs the
# internet, which CI does not have; the Debian package comes from the package mirror.
# Safe to run repeatedly: does nothing when /usr/bin/chromium is already there.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  echo "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo present)"
  exit 0
fi
echo "installing chromium (Debian package)"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
echo "chromium: $(/usr/bin/chromium --version 2>/dev/null)"
