#!/usr/bin/env bash
# `make doctor`: what is installed and running, what is missing, and the command that
# fixes each. Exits non-zero when something needed is missing.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=tools/lib.sh
source "$ROOT/tools/lib.sh"
load_versions

BIN="$RUNTIME_DIR/.dapr/bin"
missing=0

ok() { printf '  \033[32mok\033[0m       %-22s %s\n' "$1" "$2"; }
bad() { printf '  \033[31mmissing\033[0m  %-22s fix: %s\n' "$1" "$2"; missing=$((missing + 1)); }
off() { printf '  \033[33mstopped\033[0m  %-22s start: %s\n' "$1" "$2"; }

first_line() { "$@" 2>&1 | head -1; }

echo "toolchains"
if command -v go >/dev/null; then ok go "$(first_line go version) (shipping needs >= 1.26)"; else bad go "install Go >= 1.26 (apt install golang, or https://go.dev/dl)"; fi
if command -v java >/dev/null; then ok java "$(first_line java -version)"; else bad java "apt install openjdk-17-jre-headless"; fi
if command -v mvn >/dev/null; then ok mvn "$(first_line mvn -v | sed 's/\x1b\[[0-9;]*m//g')"; else bad mvn "apt install maven"; fi
if command -v python3.11 >/dev/null || python3 -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
  ok python "$(first_line python3 --version)"
else bad python "install Python 3.11"; fi
if command -v node >/dev/null; then ok node "$(node --version) (the storefront's build needs >= 20.19)"; else bad node "install Node.js >= 20.19 (apt install nodejs npm, or https://nodejs.org)"; fi
for cmd in curl ss openssl; do
  if command -v "$cmd" >/dev/null; then ok "$cmd" "$(command -v "$cmd")"; else bad "$cmd" "apt install $([[ $cmd == ss ]] && echo iproute2 || echo "$cmd")"; fi
done

echo "packages (installed by tools/infra.sh when missing, as root)"
if command -v redis-server >/dev/null; then ok redis-server "$(first_line redis-server --version)"; else bad redis-server "make infra-up PROFILE=redis (or apt install redis-server)"; fi
if ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then ok postgresql "$(ls -d /usr/lib/postgresql/*/ | xargs -n1 basename | tr '\n' ' ')"; else bad postgresql "make infra-up PROFILE=kafka-postgres (or apt install postgresql)"; fi
if [[ -f "$RUNTIME_DIR/kafka-$KAFKA_VERSION/libs/kafka_2.13-$KAFKA_VERSION.jar" ]]; then ok kafka "$KAFKA_VERSION ($RUNTIME_DIR/kafka-$KAFKA_VERSION)"; else bad kafka "make infra-up PROFILE=kafka-postgres (fetches $KAFKA_VERSION from Maven Central)"; fi

if command -v chromium >/dev/null; then ok chromium "$(chromium --version 2>/dev/null | head -1)"; else bad chromium "make browser (apt install chromium), for the browser tests"; fi
if [[ -f "$ROOT/storefront/dist/index.html" ]]; then ok storefront "built ($ROOT/storefront/dist)"; else bad storefront "make storefront"; fi
if [[ -x "$RUNTIME_DIR/bin/shipping" ]]; then ok shipping "built ($RUNTIME_DIR/bin/shipping)"; else bad shipping "make shipping (the Go service)"; fi

echo "dapr runtime (pinned: runtime $DAPR_RUNTIME_VERSION, CLI $DAPR_CLI_VERSION)"
for b in daprd placement scheduler sentry dapr; do
  if [[ -x "$BIN/$b" ]]; then
    if [[ $b == dapr ]]; then ok "$b" "$("$BIN/dapr" --version --runtime-path "$RUNTIME_DIR" 2>&1 | tr '\n' ' ')"
    elif [[ $b == daprd ]]; then ok "$b" "$("$BIN/daprd" --version)"
    else ok "$b" "$BIN/$b"; fi
  else bad "$b" "make runtime"; fi
done

echo "python environment"
if [[ -x "$ROOT/.venv/bin/python" ]] && "$ROOT/.venv/bin/python" -c 'import dapr, fastapi' 2>/dev/null; then
  ok .venv "dapr $("$ROOT/.venv/bin/python" -c 'from importlib.metadata import version; print(version("dapr"))')"
else bad .venv "make deps"; fi

echo "backing services"
while read -r name state rest; do
  if [[ $state == running ]]; then ok "$name" "$rest"; else off "$name" "make infra-up PROFILE=<redis|kafka-postgres>"; fi
done < <("$ROOT/tools/infra.sh" status 2>/dev/null)

if ((missing)); then
  echo "$missing missing: run the fixes above, or simply 'make test' / 'make run', which install what they can."
  exit 1
fi
echo "all set: 'make run' starts the shop, 'make test' runs every test."
