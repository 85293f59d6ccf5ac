#!/usr/bin/env bash
# Builds daprd, placement, scheduler, sentry and the dapr CLI from the Go module proxy into the
# project-local runtime folder, laid out as the CLI expects (no `dapr init`):
#   .runtime/.dapr/bin/{daprd,placement,scheduler,sentry,dapr}  .runtime/.dapr/config.yaml
#   .runtime/.dapr/components/
# A second run skips every binary already built from the same pins and sources.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=tools/lib.sh
source "$ROOT/tools/lib.sh"
load_versions

require_cmd go "install Go >= 1.24 (https://go.dev/dl or apt install golang) and re-run"

DAPR_DIR="$RUNTIME_DIR/.dapr"
BIN="$DAPR_DIR/bin"
mkdir -p "$BIN" "$DAPR_DIR/components"
# The CLI insists on these two; the project passes its own config and components anyway.
[[ -f "$DAPR_DIR/config.yaml" ]] || printf 'apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: daprConfig\nspec: {}\n' >"$DAPR_DIR/config.yaml"

# sum.golang.org is out of reach here; the committed go.sum files pin every hash instead.
export GOSUMDB=off GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0

check_pin() { # <module dir> <module path> <wanted version>
  local have
  have="$(cd "$1" && go list -m -f '{{.Version}}' "$2")"
  [[ "$have" == "v$3" ]] || die "$1/go.mod requires $2 $have but tools/versions.env pins v$3: make them agree"
}
check_pin "$ROOT/tools/dapr" github.com/dapr/dapr "$DAPR_RUNTIME_VERSION"
check_pin "$ROOT/tools/dapr-cli" github.com/dapr/cli "$DAPR_CLI_VERSION"

# A binary is current when its stamp matches the hash of everything it is built from.
stamp_of() { # <module dir>
  cat "$1/go.mod" "$1/go.sum" $(find "$1" -name '*.go' | sort) | sha256sum | cut -c1-16
}

build() { # <name> <module dir> <package> <ldflags> [tags]
  local name="$1" dir="$2" pkg="$3" ldflags="$4" tags="${5:-}"
  local stamp_file="$BIN/.$name.stamp" stamp
  stamp="$(stamp_of "$dir")-$tags-$ldflags"
  if [[ -x "$BIN/$name" && -f "$stamp_file" && "$(cat "$stamp_file")" == "$stamp" ]]; then
    log "$name is up to date ($BIN/$name)"
    return
  fi
  log "downloading modules for $name (cold: a few minutes)"
  (cd "$dir" && go mod download)
  local total
  total="$(cd "$dir" && go list -deps ${tags:+-tags "$tags"} "$pkg" | wc -l)"
  log "compiling $name: $total packages (cold on 2 cores: up to 20 minutes; cached: seconds)"
  # `go build -v` names each package as it compiles it: turn that into a progress line
  # every 100 packages, so a cold build is never minutes of silence.
  if ! (cd "$dir" && go build -v ${tags:+-tags "$tags"} -trimpath -ldflags "$ldflags" -o "$BIN/$name.tmp" "$pkg") 2>&1 |
    awk -v total="$total" -v name="$name" '
      /^#|: / { print; next }
      { n++; if (n % 100 == 0) { printf "  %s: %d/%d packages compiled\n", name, n, total; fflush() } }'; then
    die "building $name failed (output above)"
  fi
  mv "$BIN/$name.tmp" "$BIN/$name"
  echo "$stamp" >"$stamp_file"
  log "built $name"
}

RUNTIME_LDFLAGS="-s -w -X github.com/dapr/dapr/pkg/buildinfo.version=$DAPR_RUNTIME_VERSION -X github.com/dapr/kit/logger.DaprVersion=$DAPR_RUNTIME_VERSION"
build daprd "$ROOT/tools/dapr" ./daprd "$RUNTIME_LDFLAGS" stablecomponents
build placement "$ROOT/tools/dapr" ./placement "$RUNTIME_LDFLAGS"
build scheduler "$ROOT/tools/dapr" ./scheduler "$RUNTIME_LDFLAGS"
build sentry "$ROOT/tools/dapr" ./sentry "$RUNTIME_LDFLAGS"
build dapr "$ROOT/tools/dapr-cli" github.com/dapr/cli "-s -w -X main.version=$DAPR_CLI_VERSION"

"$BIN/dapr" --version --runtime-path "$RUNTIME_DIR"
