#!/usr/bin/env bash
# Install what the report browser test (tests/browser) needs on a fresh Debian machine: Debian's
# chromium (headless, run by the test inside the network namespace). Idempotent: does nothing when
# /usr/bin/chromium is present. Must run as root (CI does) and OUTSIDE the network namespace: it
# needs the Debian registry.
#
#   tests/browser/setup.sh --check WHO   only check (the suite, inside the network namespace where
#                                        nothing can be installed): exit 1 with what to do when
#                                        chromium is missing
set -euo pipefail

chromium=/usr/bin/chromium

if [ "${1:-}" = "--check" ]; then
  [ -x "$chromium" ] && exit 0
  echo "${2:-browser setup}: $chromium missing (tests/browser renders the HTML report in Debian's chromium); run" \
       "tests/browser/setup.sh (as root, OUTSIDE the network namespace: it needs the Debian registry) before" \
       "tests/cluster/run-all" >&2
  exit 1
fi
if [ -x "$chromium" ]; then
  echo "browser setup: $("$chromium" --version 2>/dev/null || echo chromium) already installed"
  exit
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "browser setup: need root to install chromium" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends chromium
echo "browser setup: $("$chromium" --version)"
