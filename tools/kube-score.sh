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
# The `tool` directive of go.mod needs Go 1.24; never let the go command fetch a newer
# toolchain behind our back.
WANTED_GO=1.24
export GOTOOLCHAIN=local GOSUMDB=off GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0

# The version the binary reports: the build below stamps the pin into it.
built_version() { "$BIN" version 2>/dev/null | sed -n 's/^kube-score version: \([^,]*\),.*/\1/p'; }

if [[ -x "$BIN" && "$(built_version)" == "$KUBE_SCORE_VERSION" ]]; then
  log "kube-score $KUBE_SCORE_VERSION is up to date (${BIN#"$ROOT"/})"
  exit 0
fi

require_cmd go "install Go >= $WANTED_GO (https://go.dev/dl/, or your distribution's golang package) and put it on PATH"
have_go="$(go env GOVERSION)"
have_go="${have_go#go}"
if [[ "$(printf '%s\n%s\n' "$WANTED_GO" "$have_go" | sort -V | head -n1)" != "$WANTED_GO" ]]; then
  die "Go $have_go is too old: tools/kube-score/go.mod needs Go >= $WANTED_GO"
fi

have="$(go -C "$SRC" list -m -f '{{.Version}}' "$MODULE")"
[[ "$have" == "v$KUBE_SCORE_VERSION" ]] ||
  die "tools/kube-score/go.mod requires $MODULE $have but tools/versions.env pins v$KUBE_SCORE_VERSION: make them agree"

mkdir -p "$(dirname "$BIN")"
log "building kube-score $KUBE_SCORE_VERSION into ${BIN#"$ROOT"/} (cold: a minute)"
go -C "$SRC" build -trimpath -ldflags "-s -w -X main.version=$KUBE_SCORE_VERSION" \
  -o "$BIN.tmp" "$MODULE/cmd/kube-score" || die "kube-score does not build: see the output above"
mv "$BIN.tmp" "$BIN"
