# Shared by the shell tools: paths, pinned versions, messages, waits with deadlines.
# shellcheck shell=bash
ROOT="${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
RUNTIME_DIR="$ROOT/.runtime"          # git-ignored: built binaries, Kafka jars
DATA_DIR="$ROOT/.data"                # git-ignored: databases, logs, pid files
export DAPR_RUNTIME_PATH="$RUNTIME_DIR"

log() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[31merror:\033[0m %s\n' "$*" >&2; exit 1; }

require_cmd() { # <command> <how to fix>
  command -v "$1" >/dev/null 2>&1 || die "'$1' not found: $2"
}

load_versions() {
  set -a
  # shellcheck source=tools/versions.env
  source "$ROOT/tools/versions.env"
  set +a
}
