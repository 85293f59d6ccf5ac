#!/usr/bin/env bash
# `make run`: the shop on one machine. Starts the backing services of PROFILE, then every
# service beside its sidecar (dapr.yaml), in the foreground until Ctrl-C.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=tools/lib.sh
source "$ROOT/tools/lib.sh"

PROFILE="${PROFILE:-redis}"
[[ -d "$ROOT/components/$PROFILE" && "$PROFILE" != common ]] ||
  die "unknown profile '$PROFILE': choose one of: $(ls "$ROOT/components" | grep -v common | tr '\n' ' ')"

# REPLICAS=N (`make run REPLICAS=2`): N instances of every service under its app id, each
# beside its own daprd, from a run file written from dapr.yaml (tools/run_file.py says
# how, and which values it takes); 1 runs dapr.yaml itself, as ever.
REPLICAS="${REPLICAS:-1}"
RUN_FILE=dapr.yaml
if [[ "$REPLICAS" != 1 ]]; then
  RUN_FILE="$ROOT/.data/replicas/dapr.yaml"
  mkdir -p "$(dirname "$RUN_FILE")"
  # It prints where the instances listen and log, for the banner below.
  INSTANCES="$("$ROOT/.venv/bin/python" "$ROOT/tools/run_file.py" --replicas "$REPLICAS" --out "$(dirname "$RUN_FILE")")" ||
    exit 1
fi

"$ROOT/tools/infra.sh" up "$PROFILE"
ln -sfn "../components/$PROFILE" "$DATA_DIR/profile"

# daprd inherits the CLI's environment (a run file's env reaches only the apps):
# a loopback-only host needs DAPR_HOST_IP, and CLI 1.12 predates the scheduler flag.
export DAPR_HOST_IP=127.0.0.1
# Both ways between each app and its sidecar (libs/shop_dapr/apptoken.py). CLI 1.12 cannot
# give each sidecar its own, so the whole local shop shares one pair.
APP_API_TOKEN="$(secret app-api-token)"
export APP_API_TOKEN
# SIDECAR_API_TOKEN=off (`make run SIDECAR_API_TOKEN=off`): the sidecars' API takes calls
# without a token, because the Dapr CLI (`dapr invoke`, `dapr publish`) sends none. Only
# that is off: the sidecars still call the apps with APP_API_TOKEN, talk mTLS to each
# other and apply access control and publishing scopes; they listen on loopback only.
if [[ "${SIDECAR_API_TOKEN:-on}" == off ]]; then
  unset DAPR_API_TOKEN
  log "SIDECAR_API_TOKEN=off: the sidecars' API needs no token, for the Dapr CLI (README); any local process may call it"
else
  [[ "${SIDECAR_API_TOKEN:-on}" == on ]] || die "SIDECAR_API_TOKEN is 'on' (the default) or 'off', not '$SIDECAR_API_TOKEN'"
  DAPR_API_TOKEN="$(secret dapr-api-token)"
  export DAPR_API_TOKEN
fi
# mTLS between sidecars, identities from the local sentry (tools/infra.sh).
DAPR_TRUST_ANCHORS="$(cat "$DATA_DIR/sentry/ca.crt")"
export DAPR_TRUST_ANCHORS DAPR_CONTROLPLANE_NAMESPACE=default DAPR_CONTROLPLANE_TRUST_DOMAIN=public
export DAPR_SCHEDULER_HOST_ADDRESS_DNS_A="127.0.0.1:$SCHEDULER_PORT"

# The checkout's style (docs/checkout-styles.md): the apps inherit the CLI's environment.
export CHECKOUT_STYLE="${STYLE:-choreography}"

log "starting the shop on profile '$PROFILE', checkout style '$CHECKOUT_STYLE' (Ctrl-C stops it; 'make infra-down' stops the backing services)"
printf '    shop:     http://127.0.0.1:8100/   (the storefront; test cards on its checkout page)\n'
printf '    API:      http://127.0.0.1:8100/docs\n'
printf '    try:      curl -s "http://127.0.0.1:8100/api/v1/products?q=tea"   (README: a whole checkout)\n'
printf '    traces:   http://127.0.0.1:%s/zipkin/   (one trace per request, apps and sidecars)\n' "$ZIPKIN_PORT"
printf '    metrics:  http://127.0.0.1:%s/graph   (alerts: /alerts; dashboards: docs/observability.md)\n' "$PROMETHEUS_PORT"
printf '    health:   make health\n'
printf '    logs:     %s/.dapr/logs/\n' "$ROOT"
[[ "$REPLICAS" == 1 ]] || printf '%s\n' "$INSTANCES"
cd "$ROOT"
exec "$RUNTIME_DIR/.dapr/bin/dapr" run -f "$RUN_FILE"
