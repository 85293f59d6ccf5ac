#!/usr/bin/env bash
# kube-score (github.com/zegl/kube-score), which k8s/tests/test_kube_score.py runs over
# the rendered overlays: built from the Go module proxy at the version tools/versions.env
# pins, into .runtime/bin/kube-score. tools/kube-score/go.mod names it as a tool and its
# go.sum pins every module's hash (sum.golang.org is out of reach here). A run that finds
# the pinned version already built builds nothing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=tools/lib.sh
source "$ROOT/tools/lib.sh"
load_versions

SRC="$ROOT/tools/kube-score"
BIN="$RUNTIME_DIR/bin/kube-score"
MODULE=github.com/zegl/kube-score
# Never let the go command fetch a newer toolchain behind our back (require_go below
# says what is needed instead: go.mod's `go` line, 1.24 for its `tool` directive).
export GOTOOLCHAIN=local GOSUMDB=off GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0

# The version the binary reports: the build below stamps the pin into it.
built_version() { "$BIN" version 2>/dev/null | sed -n 's/^kube-score version: \([^,]*\),.*/\1/p'; }

if [[ -x "$BIN" && "$(built_version)" == "$KUBE_SCORE_VERSION" ]]; then
  log "kube-score $KUBE_SCORE_VERSION is up to date (${BIN#"$ROOT"/})"
  exit 0
fi

require_go "$SRC"

have="$(go -C "$SRC" list -m -f '{{.Version}}' "$MODULE")"
[[ "$have" == "v$KUBE_SCORE_VERSION" ]] ||
  die "tools/kube-score/go.mod requires $MODULE $have but tools/versions.env pins v$KUBE_SCORE_VERSION: make them agree"

mkdir -p "$(dirname "$BIN")"
log "building kube-score $KUBE_SCORE_VERSION into ${BIN#"$ROOT"/} (cold: a minute)"
go -C "$SRC" build -trimpath -ldflags "-s -w -X main.version=$KUBE_SCORE_VERSION" \
  -o "$BIN.tmp" "$MODULE/cmd/kube-score" || die "kube-score does not build: see the output above"
mv "$BIN.tmp" "$BIN"
