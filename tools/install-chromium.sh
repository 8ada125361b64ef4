#!/bin/sh
# Debian's headless Chromium for the dashboard tests (tests/dashboard), which Playwright
# drives at /usr/bin/chromium: Playwright never downloads a browser of its own.
# Installs it only when it is missing and we are root (CI); otherwise says why and
# leaves it to tests/dashboard/conftest.py to skip (or, with
# AIFINOPS_TEST_REQUIRE_SERVICES=1, fail) with that reason.
set -eu
if [ -x /usr/bin/chromium ]; then
    exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "tools/install-chromium.sh: /usr/bin/chromium is missing; install it with" \
        "'sudo apt-get install -y chromium' (the dashboard tests skip without it)" >&2
    exit 0
fi
echo "tools/install-chromium.sh: installing Debian's chromium for the dashboard tests" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends chromium >/dev/null \
    || { apt-get update >/dev/null && apt-get install -y --no-install-recommends chromium >/dev/null; } \
    || echo "tools/install-chromium.sh: could not install chromium (the dashboard tests skip)" >&2
