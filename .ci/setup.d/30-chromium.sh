#!/usr/bin/env bash
# Debian's chromium, for the report's browser tests (tests/test_report_browser.py). Playwright drives
# it through `executable_path`; `playwright install` (a browser build downloaded from a CDN) is never
# used. Idempotent: does nothing when chromium is present; refreshes the package lists only when
# they do not know chromium yet, or when installing from them fails (stale lists).
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
    echo "chromium present: $(command -v chromium)"
    exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "warning: chromium is missing and installing it needs root and apt-get;" \
        "the browser tests will be skipped (they fail when CI is set)" >&2
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
install_chromium() {
    apt-get install -y --no-install-recommends chromium fonts-dejavu-core
}
if ! apt-cache show chromium >/dev/null 2>&1; then
    apt-get update
fi
if ! install_chromium; then
    apt-get update
    install_chromium
fi
echo "chromium installed: $(command -v chromium)"
