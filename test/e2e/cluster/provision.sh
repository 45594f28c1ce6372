#!/usr/bin/env bash
# Provision a real kube-apiserver and kube-controller-manager v1.20.2 (built
# from Debian's source package in one run) plus etcd for the end-to-end tests.
# Idempotent; the warm path (binaries cached, etcd and kubectl installed) is two
# `--version` calls.
# Env: CACHE_DIR (default ${XDG_CACHE_HOME:-$HOME/.cache}/wutong-backup).
# See README.md in this directory.
set -euo pipefail

K8S_VERSION=v1.20.2
SRC_DIR_NAME=kubernetes-1.20.5+really1.20.2
CACHE_DIR=${CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/wutong-backup}
BIN="$CACHE_DIR/kube-apiserver-$K8S_VERSION"
KCM_BIN="$CACHE_DIR/kube-controller-manager-$K8S_VERSION"
# Debian's kubectl 1.20 (package kubernetes-client) renders manifests/ with its
# bundled kustomize. It is unpacked into the cache rather than installed: the
# machine image may carry a newer /usr/bin/kubectl (kustomize v5), which the
# tests use as the second renderer, and the two packages own the same path.
KUBECTL_BIN="$CACHE_DIR/kubectl-$K8S_VERSION"

log() { echo "[provision] $*" >&2; }
die() { echo "[provision] ERROR: $*" >&2; exit 1; }

VERSION_OUT=
binary_ok() {
  [ -x "$BIN" ] && [ -x "$KCM_BIN" ] && VERSION_OUT=$("$BIN" --version 2>/dev/null) && "$KCM_BIN" --version >/dev/null 2>&1
}
kubectl_ok() { [ -x "$KUBECTL_BIN" ] && "$KUBECTL_BIN" version --client >/dev/null 2>&1; }
# Debian's restic (0.14 on bookworm) is the Velero stand-in's uploader (Velero 1.11's "restic" uploader).
restic_ok() { command -v restic >/dev/null 2>&1 && restic version >/dev/null 2>&1; }
is_ready() { binary_ok && kubectl_ok && restic_ok && command -v etcd >/dev/null 2>&1; }

# ---- warm path -------------------------------------------------------------
if is_ready; then
  log "ready: $BIN ($VERSION_OUT), etcd at $(command -v etcd), $(restic version | cut -d' ' -f1-2)"
  exit 0
fi

# ---- cold path -------------------------------------------------------------
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  die "cannot provision kube-apiserver: need root and apt-get; run with E2E=0 to skip end-to-end tests explicitly"
fi

mkdir -p "$CACHE_DIR"
exec 9>"$CACHE_DIR/.lock"
log "waiting for lock $CACHE_DIR/.lock"
flock 9
# Someone else may have finished while we waited for the lock.
if is_ready; then
  log "ready (provisioned concurrently): $BIN ($VERSION_OUT)"
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
APT_UPDATED=0
apt_update() {
  if [ "$APT_UPDATED" -eq 0 ]; then
    log "apt-get update"
    apt-get update -qq
    APT_UPDATED=1
  fi
}

# Write the deb-src entries before any apt-get update so that one update serves
# both the package install and `apt-get source`.
NEED_BUILD=0
binary_ok || NEED_BUILD=1
SRC_LIST=/etc/apt/sources.list.d/debian-src.sources
SRC_LIST_NEW=0
if [ "$NEED_BUILD" -eq 1 ] && [ ! -f "$SRC_LIST" ]; then
  log "adding deb-src entries ($SRC_LIST)"
  cat > "$SRC_LIST" <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  SRC_LIST_NEW=1
fi

PKGS=(golang-go rsync jq etcd-server golang-github-modern-go-reflect2-dev openssl restic)
MISSING=()
for p in "${PKGS[@]}"; do
  if ! dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed'; then
    MISSING+=("$p")
  fi
done
if [ "${#MISSING[@]}" -gt 0 ]; then
  apt_update
  log "apt-get install ${MISSING[*]}"
  apt-get install -y -qq --no-install-recommends "${MISSING[@]}" >/dev/null
else
  log "apt packages already installed: ${PKGS[*]}"
fi
command -v etcd >/dev/null 2>&1 || die "etcd not on PATH after installing etcd-server"

if ! kubectl_ok; then
  apt_update
  DEB_DIR=$(mktemp -d)
  log "unpacking Debian's kubernetes-client (kubectl 1.20) into $KUBECTL_BIN"
  (cd "$DEB_DIR" && apt-get download -qq kubernetes-client >/dev/null 2>&1) || die "apt-get download kubernetes-client failed"
  dpkg-deb -x "$DEB_DIR"/kubernetes-client_*.deb "$DEB_DIR/root"
  cp "$DEB_DIR/root/usr/bin/kubectl" "$KUBECTL_BIN.tmp.$$"
  chmod 0755 "$KUBECTL_BIN.tmp.$$"
  mv -f "$KUBECTL_BIN.tmp.$$" "$KUBECTL_BIN"
  rm -rf "$DEB_DIR"
  kubectl_ok || die "$KUBECTL_BIN does not run"
fi

if [ "$NEED_BUILD" -eq 1 ]; then
  # Fresh deb-src entries need one index refresh (no-op if done above).
  if [ "$SRC_LIST_NEW" -eq 1 ]; then apt_update; fi

  BUILD_DIR="$CACHE_DIR/build"
  rm -rf "$BUILD_DIR"
  mkdir -p "$BUILD_DIR"
  trap 'rm -rf "$BUILD_DIR"' EXIT
  cd "$BUILD_DIR"

  log "apt-get source kubernetes (into $BUILD_DIR)"
  if ! apt-get source -qq kubernetes >"$BUILD_DIR/apt-source.log" 2>&1; then
    # Maybe the deb-src file existed but indices were never fetched.
    log "apt-get source failed; refreshing indices and retrying"
    APT_UPDATED=0
    apt_update
    apt-get source -qq kubernetes >"$BUILD_DIR/apt-source.log" 2>&1 || {
      cat "$BUILD_DIR/apt-source.log" >&2
      die "apt-get source kubernetes failed"
    }
  fi
  [ -d "$SRC_DIR_NAME" ] || die "expected source dir $SRC_DIR_NAME not found in $BUILD_DIR (got: $(ls "$BUILD_DIR" | tr '\n' ' '))"
  cd "$SRC_DIR_NAME"

  # The vendored reflect2 v1.0.1 segfaults under Go >= 1.18; use Debian's v1.0.2.
  log "replacing vendored reflect2 with Debian's golang-github-modern-go-reflect2-dev"
  rm -rf vendor/github.com/modern-go/reflect2
  cp -r /usr/share/gocode/src/github.com/modern-go/reflect2 vendor/github.com/modern-go/reflect2

  export GOPATH=$PWD/.go
  mkdir -p .go/src/k8s.io
  ln -sfn ../../.. .go/src/k8s.io/kubernetes

  log "building cmd/kube-apiserver and cmd/kube-controller-manager with $(go version) (takes several minutes)"
  # Throw-away HOME/GOCACHE inside the build dir, removed with it.
  BUILD_HOME="$BUILD_DIR/home"
  mkdir -p "$BUILD_HOME"
  if ! HOME=$BUILD_HOME GOCACHE=$BUILD_HOME/go-build CGO_ENABLED=0 \
      make WHAT="cmd/kube-apiserver cmd/kube-controller-manager" >"$BUILD_DIR/build.log" 2>&1; then
    tail -n 60 "$BUILD_DIR/build.log" >&2
    die "kube-apiserver/kube-controller-manager build failed (log tail above)"
  fi

  install_binary() {
    local name=$1 dest=$2 out=_output/bin/$1
    [ -x "$out" ] || out=$(find _output -type f -name "$name" -perm -u+x | head -n1)
    [ -n "$out" ] && [ -x "$out" ] || die "build produced no $name binary"
    cp "$out" "$dest.tmp.$$"
    chmod 0755 "$dest.tmp.$$"
    mv -f "$dest.tmp.$$" "$dest"
  }
  install_binary kube-apiserver "$BIN"
  install_binary kube-controller-manager "$KCM_BIN"

  cd "$CACHE_DIR"
  rm -rf "$BUILD_DIR"
  trap - EXIT
fi

is_ready || die "provisioning finished but $BIN, $KCM_BIN, $KUBECTL_BIN, etcd or restic is not usable"
log "ready: $BIN ($VERSION_OUT), etcd at $(command -v etcd)"
