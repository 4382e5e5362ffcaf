# shellcheck shell=bash
# tests/cluster/pins.sh - sourced by build-binaries and localcluster: the pinned versions, the binary
# cache they key, and the small helpers both scripts use. Not executable on its own.
#
# Environment (optional): XDG_CACHE_HOME, the cache root (binaries under
# $XDG_CACHE_HOME/meshlab-canary/bin/<key>/).

# ---- pins -----------------------------------------------------------------------------------
K8S_VERSION=v1.32.13
ETCD_VERSION=v3.5.24 # what kwokctl v0.8.0 maps Kubernetes 1.31-1.33 to
KWOK_VERSION=v0.8.0
HELM_VERSION=v3.22.0

CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/meshlab-canary"
# Bump BUILD_REV whenever a patch (tests/cluster/patches/) or a build flag changes, so cached
# binaries are rebuilt.
BUILD_REV=r2
VERSION_KEY="k8s-${K8S_VERSION}_etcd-${ETCD_VERSION}_kwok-${KWOK_VERSION}_helm-${HELM_VERSION}_${BUILD_REV}"
BIN_DIR="$CACHE_ROOT/bin/$VERSION_KEY"
BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubectl etcd kwok kwokctl helm)

log() { printf '[localcluster %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

have_all_binaries() {
  local b
  for b in "${BINARIES[@]}"; do [ -x "$BIN_DIR/$b" ] || return 1; done
}
