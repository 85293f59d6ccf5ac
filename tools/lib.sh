# Shared by the shell tools: paths, pinned versions, messages, waits with deadlines.
# shellcheck shell=bash
ROOT="${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
# Both git-ignored; overridable so that tests can point the tools at empty folders.
RUNTIME_DIR="${SHOP_RUNTIME_DIR:-$ROOT/.runtime}"   # built binaries, Kafka jars
DATA_DIR="${SHOP_DATA_DIR:-$ROOT/.data}"            # databases, logs, pid files, secrets
export DAPR_RUNTIME_PATH="$RUNTIME_DIR"
# shellcheck source=tools/ports.env
source "$ROOT/tools/ports.env"

# Where daprd finds the backing services: the components read these by envRef
# (components/README.md), so the same YAML serves compose and Kubernetes too.
export SHOP_REDIS_HOST="127.0.0.1:$REDIS_PORT"
export SHOP_KAFKA_BROKERS="127.0.0.1:$KAFKA_PORT"
export SHOP_SMTP_HOST=127.0.0.1
export SHOP_SMTP_PORT="$SMTP_PORT"

log() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[31merror:\033[0m %s\n' "$*" >&2; exit 1; }

require_cmd() { # <command> <how to fix>
  command -v "$1" >/dev/null 2>&1 || die "'$1' not found: $2"
}

# A Go at least as new as the `go` line of a module's go.mod (the oldest Go that builds
# it). With GOTOOLCHAIN=local, too old is an error with its fix, never a download.
require_go() { # <folder of the go.mod>
  local mod="$1/go.mod" have wanted
  wanted="$(awk '$1 == "go" { print $2; exit }' "$mod")"
  require_cmd go "install Go >= $wanted (https://go.dev/dl/, or your distribution's golang package) and put it on PATH"
  have="$(go env GOVERSION)"
  have="${have#go}"
  if [[ "$(printf '%s\n%s\n' "$wanted" "$have" | sort -V | head -n1)" != "$wanted" ]]; then
    die "Go $have is too old: ${mod#"$ROOT"/} needs Go >= $wanted; install it from https://go.dev/dl/ and put it first on PATH"
  fi
}

# A value from the local secret store (.data/secrets.json, written by infra.sh).
secret() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$DATA_DIR/secrets.json" "$1"; }

# Debian packages the project needs (redis, postgresql, prometheus, chromium).
apt_install() {
  mkdir -p "$DATA_DIR/logs"
  [[ $EUID -eq 0 ]] || die "'$1' is missing and installing it needs root: sudo apt-get install -y $1"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >>"$DATA_DIR/logs/apt.log" 2>&1 ||
    { apt-get update -q >>"$DATA_DIR/logs/apt.log" 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >>"$DATA_DIR/logs/apt.log" 2>&1; } ||
    die "apt-get install $* failed: see $DATA_DIR/logs/apt.log"
}

load_versions() {
  set -a
  # shellcheck source=tools/versions.env
  source "$ROOT/tools/versions.env"
  set +a
}
