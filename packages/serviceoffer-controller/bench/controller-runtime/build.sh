#!/usr/bin/env bash
# Builds (or reuses) the controller-runtime peer of the ServiceOffer controller (main.go here) for
# bench/compare.bench.ts, from Go modules, into a cache directory outside the repository:
#   ${XDG_CACHE_HOME:-$HOME/.cache}/obol-serviceoffer/bench/controller-runtime-<key>/serviceoffer-controller-runtime
# where <key> hashes go.mod, go.sum, main.go and `go version`. A build goes to <dir>.tmp-<pid> and
# is renamed into place when done, so an interrupted build is never reused. Progress goes to
# stderr; the binary's path is the last line on stdout. Go's module and build caches stay at their
# defaults (a rebuild after a small change of main.go takes seconds).
#
# It does not touch test-envs (the control plane's binaries are test-envs/ensure.sh's).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
name="serviceoffer-controller-runtime"

if ! command -v go >/dev/null 2>&1; then
  echo "controller-runtime peer: go is not installed (the peer is built from Go modules; see README.md)" >&2
  exit 1
fi

key="$(cat "$here/go.mod" "$here/go.sum" "$here/main.go" <(go version) | sha256sum | cut -c1-16)"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/obol-serviceoffer/bench"
dir="$cache/controller-runtime-$key"

if [[ -x "$dir/$name" ]]; then
  echo "controller-runtime peer: reusing $dir/$name" >&2
  echo "$dir/$name"
  exit 0
fi

tmp="$dir.tmp-$$"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp"
echo "controller-runtime peer: building $name ($(go version | cut -d' ' -f3), controller-runtime $(grep -m1 'sigs.k8s.io/controller-runtime ' "$here/go.mod" | awk '{print $2}')) into $dir" >&2
echo "controller-runtime peer: the first build compiles client-go and controller-runtime (minutes on 2 cores; later builds reuse Go's build cache)" >&2
started=$SECONDS
# go.mod is tidy, so a read-only module graph is all the build needs; the modules come from the
# Go module proxy (GOPROXY) into Go's module cache on first use.
(cd "$here" && go build -mod=readonly -buildvcs=false -trimpath -ldflags "-s -w" -o "$tmp/$name" .)
mv -T "$tmp" "$dir" 2>/dev/null || rm -rf "$tmp" # a concurrent build that finished first wins
echo "controller-runtime peer: built in $((SECONDS - started)) s" >&2
echo "$dir/$name"
