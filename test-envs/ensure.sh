#!/usr/bin/env bash
# Builds (or reuses) the real components our tests and the local stack run, from Go modules:
#
#   ensure.sh core      kube-apiserver, kube-controller-manager (k8s.io/kubernetes), etcd, plus the
#                       Gateway API standard CRDs and the traefik.io CRDs read from the module cache
#   ensure.sh traefik   Traefik v3
#   ensure.sh all       both
#
# Each tier lives in a cache directory outside the repository, keyed by a hash of versions.env,
# the tier's go.mod/go.sum files, this script and `go version`. A build goes to a temporary
# directory that is renamed into place only when complete (MANIFEST written last), so a killed
# build never looks valid. The last line printed for each tier is `<TIER>_DIR=<absolute path>`.
#
# Environment: OBOL_TEST_ENVS_CACHE overrides the cache root
# (default ${XDG_CACHE_HOME:-$HOME/.cache}/obol-serviceoffer/test-envs).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tiers=${1:-core}
case "$tiers" in
  core | traefik) ;;
  all) tiers="core traefik" ;;
  *)
    echo "usage: $0 core|traefik|all" >&2
    exit 2
    ;;
esac

log() { echo "test-envs: $*" >&2; }
trap 'log "failed at line $LINENO: $BASH_COMMAND"' ERR

if ! command -v go >/dev/null 2>&1; then
  if [[ -x /usr/local/go/bin/go ]]; then
    export PATH="/usr/local/go/bin:$PATH"
  else
    log "Go is not installed or not on PATH. The control plane and Traefik are built from Go modules,"
    log "so Go >= 1.26 is required (install it to /usr/local/go, or put its bin directory on PATH)."
    exit 1
  fi
fi

# shellcheck source=versions.env
source "$here/versions.env"
# The go.mod files must require exactly the versions named in versions.env.
check_pin() {
  if ! grep -Eq "^[[:space:]]*(require[[:space:]]+)?$2 $3( |$)" "$here/$1"; then
    log "$1 does not require $2 $3 (from versions.env); update it with"
    log "  (cd test-envs/$(dirname "$1") && GOFLAGS=-mod=mod go get $2@$3 && go mod tidy)"
    exit 1
  fi
}
check_pin go/k8s/go.mod k8s.io/kubernetes "$K8S_VERSION"
check_pin go/etcd/go.mod go.etcd.io/etcd/server/v3 "$ETCD_VERSION"
check_pin go/traefik/go.mod github.com/traefik/traefik/v3 "$TRAEFIK_VERSION"

export GOTOOLCHAIN=local GOWORK=off CGO_ENABLED=0 GOFLAGS=-mod=readonly
go_version=$(go env GOVERSION)
cache_root=${OBOL_TEST_ENVS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/obol-serviceoffer/test-envs}
mkdir -p "$cache_root"

key_of() {
  {
    cat "$here/versions.env" "${BASH_SOURCE[0]}"
    echo "$go_version"
    for f in "$@"; do cat "$f"; done
  } | sha256sum | cut -c1-16
}

# Prints a progress line every 30 s while a long step runs, so a cold build is visibly alive.
with_progress() {
  local what=$1
  shift
  local started=$SECONDS next=$((SECONDS + 30))
  log "building $what ..."
  ("$@") &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 2
    if ((SECONDS >= next)) && kill -0 "$pid" 2>/dev/null; then
      log "  still building $what ($(((SECONDS - started) / 60))m$(((SECONDS - started) % 60))s elapsed)"
      next=$((next + 30))
    fi
  done
  if ! wait "$pid"; then
    log "FAILED building $what after $((SECONDS - started))s (see the go output above)"
    return 1
  fi
  log "built $what in $((SECONDS - started))s"
}

# Prints the module cache directory of module@version, downloading it if needed.
module_dir() {
  local json dir
  json=$(go mod download -json "$1" 2>&1 || true)
  dir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<<"$json")
  if [[ -z "$dir" || ! -d "$dir" ]]; then
    log "cannot download $1 from the Go module proxy:"
    log "$(sed -n 's/^[[:space:]]*"Error": "\(.*\)"$/\1/p' <<<"$json")"
    return 1
  fi
  echo "$dir"
}

build_core() {
  local out=$1
  mkdir -p "$out/bin" "$out/crds/gateway-api" "$out/crds/traefik"
  local minor=${K8S_VERSION#v1.}
  minor=${minor%%.*}
  local x=""
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    x+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    x+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  (cd "$here/go/k8s" && with_progress "kube-apiserver + kube-controller-manager $K8S_VERSION" \
    go build -trimpath -ldflags "-s -w$x" -o "$out/bin/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager)
  (cd "$here/go/etcd" && with_progress "etcd $ETCD_VERSION" \
    go build -trimpath -ldflags "-s -w" -o "$out/bin/etcd" .)
  log "copying Gateway API $GATEWAY_API_VERSION and traefik.io $TRAEFIK_VERSION CRDs from the module cache"
  local gw traefik
  gw=$(cd "$here/go/etcd" && GOFLAGS= module_dir "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION") || return 1
  traefik=$(cd "$here/go/etcd" && GOFLAGS= module_dir "github.com/traefik/traefik/v3@$TRAEFIK_VERSION") || return 1
  cp "$gw"/config/crd/standard/gateway.networking.k8s.io_*.yaml "$out/crds/gateway-api/"
  cp "$traefik"/docs/content/reference/dynamic-configuration/traefik.io_*.yaml "$out/crds/traefik/"
  chmod -R u+w "$out/crds"
}

build_traefik() {
  local out=$1
  mkdir -p "$out/bin"
  (cd "$here/go/traefik" && with_progress "traefik $TRAEFIK_VERSION" \
    go build -trimpath -ldflags "-s -w -X github.com/traefik/traefik/v3/pkg/version.Version=$TRAEFIK_VERSION" \
    -o "$out/bin/traefik" github.com/traefik/traefik/v3/cmd/traefik)
}

ensure_tier() {
  local tier=$1 key dest tmp
  case "$tier" in
    core) key=$(key_of "$here/go/k8s/go.mod" "$here/go/k8s/go.sum" "$here/go/etcd/go.mod" "$here/go/etcd/go.sum" "$here/go/etcd/main.go") ;;
    traefik) key=$(key_of "$here/go/traefik/go.mod" "$here/go/traefik/go.sum") ;;
  esac
  dest="$cache_root/$tier-$key"
  if [[ -f "$dest/MANIFEST" ]]; then
    log "$tier: cached in $dest"
  else
    tmp="$dest.tmp-$$"
    rm -rf "$tmp"
    trap 'rm -rf "'"$tmp"'"' EXIT
    local started=$SECONDS
    log "$tier: not cached; building into $dest (first build takes a while: 10-40 minutes on 2 cores)"
    "build_$tier" "$tmp"
    {
      echo "tier=$tier"
      echo "key=$key"
      echo "go=$go_version"
      grep -v '^#' "$here/versions.env"
      echo "build_seconds=$((SECONDS - started))"
      (cd "$tmp" && find . -type f ! -name 'MANIFEST*' | sort | xargs sha256sum)
    } >"$tmp/MANIFEST.partial"
    mv "$tmp/MANIFEST.partial" "$tmp/MANIFEST"
    if ! mv -T "$tmp" "$dest" 2>/dev/null; then
      # Another build finished first; its result is as good as ours.
      rm -rf "$tmp"
    fi
    trap - EXIT
    log "$tier: ready in $((SECONDS - started))s"
    # Older builds of this tier are dead weight (hundreds of MB); keep only the current key.
    for old in "$cache_root/$tier"-*; do
      [[ "$old" == "$dest" || "$old" == *.tmp-* || ! -f "$old/MANIFEST" ]] && continue
      log "$tier: removing superseded build $(basename "$old")"
      rm -rf "$old"
    done
  fi
  echo "$(echo "$tier" | tr '[:lower:]' '[:upper:]')_DIR=$dest"
}

for tier in $tiers; do ensure_tier "$tier"; done
