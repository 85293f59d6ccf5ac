#!/usr/bin/env bash
# Starts and stops the backing services on loopback, on the project's own ports, with
# their data under .data/ (git-ignored):
#   tools/infra.sh up <redis|kafka-postgres|all>   start what a profile needs (idempotent)
#   tools/infra.sh down                            stop everything this script started
#   tools/infra.sh status                          one line per service
# Every start waits for its service to answer, with a deadline and a message naming the fix.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=tools/lib.sh
source "$ROOT/tools/lib.sh"
load_versions

BIN="$RUNTIME_DIR/.dapr/bin"
PIDS="$DATA_DIR/pids"
LOGS="$DATA_DIR/logs"
SECRETS="$DATA_DIR/secrets.json"
mkdir -p "$PIDS" "$LOGS"

PROFILES="redis kafka-postgres"
OBSERVABILITY="zipkin prometheus"
ALL_SERVICES="redis postgres kafka sentry placement scheduler mailsink zipkin prometheus"

services_for() { # <profile>
  case "$1" in
    redis) echo "redis sentry placement scheduler mailsink $OBSERVABILITY" ;;
    kafka-postgres) echo "kafka postgres sentry placement scheduler mailsink $OBSERVABILITY" ;;
    all) echo "$ALL_SERVICES" ;;
    *) die "unknown profile '$1': choose one of: $PROFILES (or 'all')" ;;
  esac
}

# --- process bookkeeping ------------------------------------------------------------

pid_of() { [[ -f "$PIDS/$1.pid" ]] && cat "$PIDS/$1.pid" || true; }
# A killed daemon stays a zombie until init reaps it, and kill -0 succeeds on a zombie:
# look at its state too, or a restart right after a kill would find it "running".
alive() {
  local pid
  pid="$(pid_of "$1")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && [[ "$(ps -o stat= -p "$pid" 2>/dev/null)" != Z* ]]
}

port_free_or_die() { # <service> <port>
  local holder
  holder="$(ss -Hltnp "sport = :$2" 2>/dev/null | grep -o 'users:((.*))' | head -1 || true)"
  if [[ -n "$holder" ]] || (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null; then
    die "port $2, needed by $1, is already taken ${holder:+by $holder }: stop that process, or change the port in tools/ports.env"
  fi
}

wait_until() { # <service> <seconds> <command...>; SHOP_START_TIMEOUT overrides the seconds
  local name="$1" limit="${SHOP_START_TIMEOUT:-$2}"
  local deadline=$((SECONDS + limit))
  shift 2
  until "$@" >/dev/null 2>&1; do
    if ! alive "$name"; then
      tail -n 20 "$LOGS/$name.log" >&2 || true
      die "$name exited during start-up: see $LOGS/$name.log (last lines above)"
    fi
    if ((SECONDS >= deadline)); then
      tail -n 20 "$LOGS/$name.log" >&2 || true
      die "$name did not become healthy within ${limit}s: see $LOGS/$name.log; 'tools/infra.sh down' then retry"
    fi
    sleep 0.3
  done
}

spawn() { # <service> <command...>: start in the background, detached from this shell
  local name="$1"
  shift
  # Without the caller's other descriptors: a daemon that inherited, say, the lock of a
  # `flock` around this script would hold that lock for as long as it runs.
  setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
  echo $! >"$PIDS/$name.pid"
}

tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
http_ok() { curl -fsS -o /dev/null --max-time 2 "$1"; }

# --- secrets for the local run ------------------------------------------------------

# Generated once per checkout (and completed when a newer checkout needs more), readable
# by the owner only, never committed. The Dapr secret store (components/common/
# secretstore.yaml) serves them to sidecars.
ensure_secrets() {
  python3 "$ROOT/tools/make_secrets.py" "$SECRETS" "$POSTGRES_PORT" || die "could not write $SECRETS"
}


# --- Redis --------------------------------------------------------------------------

start_redis() {
  if ! command -v redis-server >/dev/null; then
    log "installing redis-server (apt)"
    apt_install redis-server
  fi
  mkdir -p "$DATA_DIR/redis"
  # Durable (docs/reliability/durability.md): every write goes to the append-only file
  # (appendonlydir/ under `dir`) before Redis answers it, so a killed redis-server loses
  # nothing it acknowledged while the disk keeps up; the file is fsynced once a second,
  # so an OS crash or power loss may lose the last second or two. No RDB snapshots: the
  # AOF is the one copy. This file is rewritten on every start, `dir` is kept: a restart
  # replays the same AOF.
  (
    umask 077
    printf 'port %s\nbind 127.0.0.1\nprotected-mode yes\ndir %s\nrequirepass %s\nappendonly yes\nappendfsync everysec\nsave ""\n' \
      "$REDIS_PORT" "$DATA_DIR/redis" "$(secret redis-password)" >"$DATA_DIR/redis/redis.conf"
  )
  spawn redis redis-server "$DATA_DIR/redis/redis.conf"
  wait_until redis 20 redis-cli -p "$REDIS_PORT" --no-auth-warning -a "$(secret redis-password)" ping
}

stop_redis() { stop_pid redis; }

# --- PostgreSQL ---------------------------------------------------------------------

pg_bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

# PostgreSQL refuses to run as root: when we are root, run it as the 'postgres' user.
as_pg() { if [[ $EUID -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }

start_postgres() {
  if [[ -z "$(pg_bindir)" ]]; then
    log "installing postgresql (apt)"
    apt_install postgresql
  fi
  local bin data="$DATA_DIR/postgres"
  bin="$(pg_bindir)"
  if [[ ! -f "$data/PG_VERSION" ]]; then
    log "initialising PostgreSQL in $data"
    mkdir -p "$data"
    local pwfile
    pwfile="$(mktemp)"
    secret postgres-password >"$pwfile"
    if [[ $EUID -eq 0 ]]; then chown postgres "$data" "$pwfile"; fi
    as_pg "$bin/initdb" -D "$data" -U shop --pwfile="$pwfile" --auth-local=trust \
      --auth-host=scram-sha-256 -E UTF8 >>"$LOGS/postgres.log" 2>&1 ||
      { rm -f "$pwfile"; die "initdb failed: see $LOGS/postgres.log"; }
    rm -f "$pwfile"
  fi
  if [[ $EUID -eq 0 ]]; then chown -R postgres "$data"; touch "$LOGS/postgres.log"; chown postgres "$LOGS/postgres.log"; fi
  # pg_ctl forks the server and returns: its pid file is the postmaster's.
  as_pg "$bin/pg_ctl" -D "$data" -l "$LOGS/postgres.log" -w -t 30 \
    -o "-p $POSTGRES_PORT -c listen_addresses=127.0.0.1 -k $data -c max_connections=200" start >/dev/null ||
    die "PostgreSQL did not start within 30s: see $LOGS/postgres.log"
  head -1 "$data/postmaster.pid" >"$PIDS/postgres.pid"
  wait_until postgres 20 "$bin/pg_isready" -h 127.0.0.1 -p "$POSTGRES_PORT"
  if ! as_pg "$bin/psql" -h "$data" -p "$POSTGRES_PORT" -U shop -d postgres -tAc \
    "select 1 from pg_database where datname='shop'" | grep -q 1; then
    as_pg "$bin/createdb" -h "$data" -p "$POSTGRES_PORT" -U shop shop
  fi
}

stop_postgres() {
  local bin
  bin="$(pg_bindir)"
  if [[ -n "$bin" && -f "$DATA_DIR/postgres/postmaster.pid" ]]; then
    as_pg "$bin/pg_ctl" -D "$DATA_DIR/postgres" -m fast -w -t 20 stop >/dev/null 2>&1 || true
  fi
  stop_pid postgres
}

# --- Kafka (KRaft, one combined broker + controller) --------------------------------

KAFKA_HOME="$RUNTIME_DIR/kafka-$KAFKA_VERSION"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"

ensure_kafka_jars() {
  [[ -f "$KAFKA_HOME/libs/kafka_2.13-$KAFKA_VERSION.jar" ]] && return
  require_cmd mvn "install Maven (apt install maven) and re-run"
  log "fetching Kafka $KAFKA_VERSION from Maven Central"
  mvn -q -B -Dstyle.color=never -f "$ROOT/tools/kafka/pom.xml" dependency:copy-dependencies -DincludeScope=runtime \
    -Dkafka.version="$KAFKA_VERSION" -Dslf4j.version="$SLF4J_VERSION" \
    -DoutputDirectory="$KAFKA_HOME/libs.tmp" || die "Maven could not fetch Kafka $KAFKA_VERSION (output above)"
  mv "$KAFKA_HOME/libs.tmp" "$KAFKA_HOME/libs"
}

start_kafka() {
  [[ -x "$(command -v "$JAVA")" ]] ||
    die "$JAVA not found: install Java 17 (apt install openjdk-17-jre-headless), or point JAVA_HOME at one"
  ensure_kafka_jars
  local data="$DATA_DIR/kafka" props="$DATA_DIR/kafka/server.properties"
  mkdir -p "$data"
  # One node, so one replica of everything, written down rather than left to defaults.
  # A message is acknowledged (acks=all, Dapr's default) once in the broker's log, in the
  # page cache: a killed broker loses none of it; an OS crash may lose what the kernel
  # had not yet written back (docs/reliability/durability.md).
  cat >"$props" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$data/logs
num.partitions=16
default.replication.factor=1
offsets.topic.replication.factor=1
min.insync.replicas=1
unclean.leader.election.enable=false
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
EOF
  local java_cmd=("$JAVA" -Xms256m -Xmx512m -XX:+UseG1GC -Djava.awt.headless=true -cp "$KAFKA_HOME/libs/*")
  if [[ ! -f "$data/logs/meta.properties" ]]; then
    log "formatting Kafka storage in $data/logs"
    "${java_cmd[@]}" kafka.tools.StorageTool format -t "$("${java_cmd[@]}" kafka.tools.StorageTool random-uuid 2>/dev/null)" \
      -c "$props" >>"$LOGS/kafka.log" 2>&1 || die "formatting Kafka storage failed: see $LOGS/kafka.log"
  fi
  spawn kafka "${java_cmd[@]}" kafka.Kafka "$props"
  # The broker listener opens only after the controller quorum is up: that is 'healthy'.
  wait_until kafka 60 tcp_open "$KAFKA_PORT"
}

stop_kafka() { stop_pid kafka 20; }

# --- Dapr sentry, placement and scheduler -------------------------------------------

# Sentry is the certificate authority of the local run: sidecars (--enable-mtls),
# placement and scheduler (--tls-enabled) get their identities from it, and access
# control in dapr-config.yaml identifies callers by those identities. It creates its
# root and issuer certificates in .data/sentry on first start; ca.crt is the trust
# anchor every other process is given.
SENTRY_DIR="$DATA_DIR/sentry"
TRUST_ANCHORS="$SENTRY_DIR/ca.crt"

start_sentry() {
  need_dapr_bin sentry
  mkdir -p "$SENTRY_DIR"
  spawn sentry "$BIN/sentry" --config "$ROOT/tools/sentry.yaml" --issuer-credentials "$SENTRY_DIR" \
    --trust-domain public --port "$SENTRY_PORT" --listen-address 127.0.0.1 \
    --healthz-port "$SENTRY_HEALTHZ_PORT" --healthz-listen-address 127.0.0.1 \
    --metrics-port "$SENTRY_METRICS_PORT" --metrics-listen-address 127.0.0.1
  wait_until sentry 30 http_ok "http://127.0.0.1:$SENTRY_HEALTHZ_PORT/healthz"
  wait_until sentry 10 test -s "$TRUST_ANCHORS"
}

stop_sentry() { stop_pid sentry; }

# Placement and scheduler talk TLS with certificates from sentry.
CONTROL_PLANE_TLS=(--tls-enabled --trust-anchors-file "$TRUST_ANCHORS"
  --sentry-address "127.0.0.1:$SENTRY_PORT" --trust-domain public)

need_dapr_bin() {
  [[ -x "$BIN/$1" ]] || die "$BIN/$1 is missing: run 'make runtime' (tools/build-dapr.sh) first"
}

start_placement() {
  need_dapr_bin placement
  spawn placement "$BIN/placement" --port "$PLACEMENT_PORT" --listen-address 127.0.0.1 \
    --healthz-port "$PLACEMENT_HEALTHZ_PORT" --healthz-listen-address 127.0.0.1 \
    --metrics-port "$PLACEMENT_METRICS_PORT" --metrics-listen-address 127.0.0.1 \
    --initial-cluster "dapr-placement-0=127.0.0.1:$PLACEMENT_RAFT_PORT" "${CONTROL_PLANE_TLS[@]}"
  wait_until placement 30 http_ok "http://127.0.0.1:$PLACEMENT_HEALTHZ_PORT/healthz"
}

start_scheduler() {
  need_dapr_bin scheduler
  mkdir -p "$DATA_DIR/scheduler"
  spawn scheduler "$BIN/scheduler" --port "$SCHEDULER_PORT" --listen-address 127.0.0.1 \
    --healthz-port "$SCHEDULER_HEALTHZ_PORT" --healthz-listen-address 127.0.0.1 \
    --metrics-port "$SCHEDULER_METRICS_PORT" --metrics-listen-address 127.0.0.1 \
    --etcd-data-dir "$DATA_DIR/scheduler" --etcd-client-port "$SCHEDULER_ETCD_CLIENT_PORT" \
    --etcd-client-listen-address 127.0.0.1 \
    --etcd-initial-cluster "dapr-scheduler-server-0=http://127.0.0.1:$SCHEDULER_ETCD_PEER_PORT" \
    --identity-directory-write "$DATA_DIR/scheduler/identity" "${CONTROL_PLANE_TLS[@]}"
  wait_until scheduler 45 http_ok "http://127.0.0.1:$SCHEDULER_HEALTHZ_PORT/healthz"
}

stop_placement() { stop_pid placement; }
stop_scheduler() { stop_pid scheduler; }

# --- SMTP sink (receipts land in .data/mail as .eml files) ---------------------------

start_mailsink() {
  local python="$ROOT/.venv/bin/python"
  [[ -x "$python" ]] || die "the Python environment is missing: run 'make deps' first"
  spawn mailsink "$python" "$ROOT/tools/mailsink.py" --port "$SMTP_PORT" --dir "$DATA_DIR/mail"
  wait_until mailsink 20 tcp_open "$SMTP_PORT"
}

stop_mailsink() { stop_pid mailsink; }

# --- Zipkin (traces of the apps and their sidecars; UI at http://127.0.0.1:$ZIPKIN_PORT) --

ZIPKIN_JAR="$RUNTIME_DIR/zipkin/zipkin-server-$ZIPKIN_VERSION-exec.jar"

start_zipkin() {
  [[ -x "$(command -v "$JAVA")" ]] ||
    die "$JAVA not found: install Java 17 (apt install openjdk-17-jre-headless), or point JAVA_HOME at one"
  if [[ ! -f "$ZIPKIN_JAR" ]]; then
    require_cmd mvn "install Maven (apt install maven) and re-run"
    log "fetching Zipkin $ZIPKIN_VERSION from Maven Central"
    mvn -q -B -Dstyle.color=never dependency:copy \
      -Dartifact="io.zipkin:zipkin-server:$ZIPKIN_VERSION:jar:exec" \
      -DoutputDirectory="$(dirname "$ZIPKIN_JAR")" ||
      die "Maven could not fetch Zipkin $ZIPKIN_VERSION (output above)"
  fi
  # In-memory storage: traces of the local run, gone when it stops. 200,000 spans took
  # more than a 512 MB heap after chaos runs and benchmarks (OutOfMemoryError, then no
  # answer): 1 GB holds them.
  spawn zipkin env STORAGE_TYPE=mem MEM_MAX_SPANS=200000 QUERY_PORT="$ZIPKIN_PORT" \
    "$JAVA" -Xms128m -Xmx1g -XX:+UseG1GC -jar "$ZIPKIN_JAR" --server.address=127.0.0.1
  wait_until zipkin 60 http_ok "http://127.0.0.1:$ZIPKIN_PORT/health"
}

stop_zipkin() { stop_pid zipkin; }

# --- Prometheus (scrapes every app and sidecar of `make run`; observability/prometheus) --

start_prometheus() {
  if ! command -v prometheus >/dev/null; then
    log "installing prometheus (apt)"
    apt_install prometheus
  fi
  mkdir -p "$DATA_DIR/prometheus"
  spawn prometheus prometheus --config.file="$ROOT/observability/prometheus/local.yml" \
    --storage.tsdb.path="$DATA_DIR/prometheus" --storage.tsdb.retention.time=2d \
    --web.listen-address="127.0.0.1:$PROMETHEUS_PORT" --web.enable-lifecycle
  wait_until prometheus 30 http_ok "http://127.0.0.1:$PROMETHEUS_PORT/-/ready"
}

stop_prometheus() { stop_pid prometheus; }

# --- shared -------------------------------------------------------------------------


stop_pid() { # <service> [grace seconds]
  local name="$1" grace="${2:-10}" pid
  pid="$(pid_of "$name")"
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + grace))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    log "stopped $name"
  fi
  rm -f "$PIDS/$name.pid"
}

ports_of() {
  case "$1" in
    redis) echo "$REDIS_PORT" ;;
    postgres) echo "$POSTGRES_PORT" ;;
    kafka) echo "$KAFKA_PORT $KAFKA_CONTROLLER_PORT" ;;
    placement) echo "$PLACEMENT_PORT $PLACEMENT_HEALTHZ_PORT $PLACEMENT_METRICS_PORT $PLACEMENT_RAFT_PORT" ;;
    scheduler) echo "$SCHEDULER_PORT $SCHEDULER_HEALTHZ_PORT $SCHEDULER_METRICS_PORT $SCHEDULER_ETCD_CLIENT_PORT $SCHEDULER_ETCD_PEER_PORT" ;;
    sentry) echo "$SENTRY_PORT $SENTRY_HEALTHZ_PORT $SENTRY_METRICS_PORT" ;;
    mailsink) echo "$SMTP_PORT" ;;
    zipkin) echo "$ZIPKIN_PORT" ;;
    prometheus) echo "$PROMETHEUS_PORT" ;;
  esac
}

up() {
  local profile="${1:-}"
  [[ -n "$profile" ]] || die "usage: tools/infra.sh up <$(echo "$PROFILES" | tr ' ' '|')|all>"
  local services
  services="$(services_for "$profile")"
  for pair in curl:curl ss:iproute2 openssl:openssl; do
    command -v "${pair%%:*}" >/dev/null || { log "installing ${pair#*:} (apt)"; apt_install "${pair#*:}"; }
  done
  ensure_secrets
  for svc in $services; do
    if alive "$svc"; then
      log "$svc is already running (pid $(pid_of "$svc"))"
      continue
    fi
    for port in $(ports_of "$svc"); do port_free_or_die "$svc" "$port"; done
    log "starting $svc"
    "start_$svc"
    log "$svc is up on 127.0.0.1:$(ports_of "$svc" | cut -d' ' -f1)"
  done
}

down() {
  for svc in $ALL_SERVICES; do "stop_$svc"; done
}

status() {
  for svc in $ALL_SERVICES; do
    if alive "$svc"; then
      printf '%-10s running  pid %-7s 127.0.0.1:%s\n' "$svc" "$(pid_of "$svc")" "$(ports_of "$svc" | cut -d' ' -f1)"
    else
      printf '%-10s stopped\n' "$svc"
    fi
  done
}

case "${1:-}" in
  up) up "${2:-}" ;;
  down) down ;;
  status) status ;;
  *) die "usage: tools/infra.sh up <profile>|down|status" ;;
esac
