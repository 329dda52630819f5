#!/usr/bin/env bash
# Start, stop or check the PostgreSQL cluster and RabbitMQ node Clinico needs, without Docker.
# Both live under .run/ in the repository (git-ignored) and listen on loopback only.
# Idempotent: starting what already runs, or stopping what is stopped, is harmless.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN_DIR="${CLINICO_RUN_DIR:-$ROOT/.run}"
PG_PORT="${CLINICO_PG_PORT:-54329}"
AMQP_PORT="${CLINICO_AMQP_PORT:-56729}"
PG_VERSION=15
PG_BIN="/usr/lib/postgresql/$PG_VERSION/bin"
PG_DATA="$RUN_DIR/postgres"
# PostgreSQL refuses to run as root, so as root the cluster runs as the `postgres` user, who must
# be able to reach its data folder. A checkout under a mode-700 parent (root's home, a
# `mktemp -d` folder) is out of its reach: there the cluster lives under /var/lib/clinico/, in a
# folder named after the checkout's path, and .run/postgres is a link to it.
PG_HOME="/var/lib/clinico/$(printf '%s' "$RUN_DIR" | sha1sum | cut -c1-16)"
RMQ_BASE="$RUN_DIR/rabbitmq"
RMQ_NODENAME="clinico-$AMQP_PORT@localhost"

log() { printf '[services] %s\n' "$*"; }

as_postgres() {
  # From /: the postgres user may not be allowed into the caller's folder.
  if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

install_missing() {
  local missing=()
  [ -x "$PG_BIN/pg_ctl" ] || missing+=("postgresql-$PG_VERSION")
  [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || missing+=(rabbitmq-server)
  # The pooler of production-like runs; the suite puts one in front of its database.
  [ -x /usr/sbin/pgbouncer ] || missing+=(pgbouncer)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]} with apt-get"
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}"
  fi
}

pg_data_place() {
  mkdir -p "$RUN_DIR"
  [ "$(id -u)" = 0 ] || { mkdir -p "$PG_DATA"; return; }
  [ -e "$PG_DATA" ] && { PG_DATA="$(readlink -f "$PG_DATA")"; return; }
  chmod o+x "$RUN_DIR"
  if runuser -u postgres -- test -x "$RUN_DIR"; then
    mkdir -p "$PG_DATA"
  else
    log "the postgres user cannot reach $RUN_DIR (a parent folder is private); the cluster lives in $PG_HOME"
    mkdir -p "$PG_HOME/postgres"
    chmod 711 /var/lib/clinico "$PG_HOME"
    ln -sfn "$PG_HOME/postgres" "$PG_DATA"
  fi
  PG_DATA="$(readlink -f "$PG_DATA")"
  chown postgres:postgres "$PG_DATA"
  chmod 700 "$PG_DATA"
}

pg_start() {
  pg_data_place
  if [ ! -s "$PG_DATA/PG_VERSION" ]; then
    log "creating PostgreSQL cluster in $PG_DATA"
    as_postgres "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    cat >>"$PG_DATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_DATA'
max_connections = 300
shared_buffers = 256MB
fsync = ${CLINICO_PG_FSYNC:-on}
synchronous_commit = ${CLINICO_PG_SYNC_COMMIT:-on}
max_locks_per_transaction = 256
CONF
  fi
  if as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
    log "PostgreSQL already running on 127.0.0.1:$PG_PORT"
  else
    log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
    as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_DATA/server.log" -w -t 60 start >/dev/null
  fi
  for _ in $(seq 1 60); do
    "$PG_BIN/pg_isready" -h 127.0.0.1 -p "$PG_PORT" -q && break
    sleep 0.5
  done
  "$PG_BIN/pg_isready" -h 127.0.0.1 -p "$PG_PORT" -q || { log "PostgreSQL did not answer"; exit 1; }
}

pg_stop() {
  [ -L "$PG_DATA" ] && PG_DATA="$(readlink -f "$PG_DATA")"
  if [ -s "$PG_DATA/PG_VERSION" ] && as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
    log "stopping PostgreSQL"
    as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null
  fi
}

rmq_env() {
  export HOME="$RMQ_BASE"
  export RABBITMQ_NODENAME="$RMQ_NODENAME"
  export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
  export RABBITMQ_NODE_PORT="$AMQP_PORT"
  # Below the ephemeral range (32768-60999), where an outgoing connection could hold it.
  export RABBITMQ_DIST_PORT=$((AMQP_PORT - 30000))
  export ERL_EPMD_ADDRESS=127.0.0.1
  export RABBITMQ_MNESIA_BASE="$RMQ_BASE/mnesia"
  export RABBITMQ_LOG_BASE="$RMQ_BASE/log"
  export RABBITMQ_PID_FILE="$RMQ_BASE/rabbitmq.pid"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$RMQ_BASE/enabled_plugins"
  export RABBITMQ_CONFIG_FILE="$RMQ_BASE/rabbitmq"
  export RABBITMQ_ADVANCED_CONFIG_FILE="$RMQ_BASE/advanced.config"
  export RABBITMQ_CONF_ENV_FILE="$RMQ_BASE/rabbitmq-env.conf"
  export ERL_CRASH_DUMP="$RMQ_BASE/log/erl_crash.dump"
}

rmqctl() { /usr/lib/rabbitmq/bin/rabbitmqctl -n "$RMQ_NODENAME" "$@"; }

rmq_running() { rmqctl status >/dev/null 2>&1; }

rmq_start() {
  mkdir -p "$RMQ_BASE/log" "$RMQ_BASE/mnesia"
  rmq_env
  [ -f "$RMQ_BASE/enabled_plugins" ] || echo '[].' >"$RMQ_BASE/enabled_plugins"
  [ -f "$RMQ_BASE/rabbitmq-env.conf" ] || : >"$RMQ_BASE/rabbitmq-env.conf"
  [ -f "$RMQ_BASE/advanced.config" ] || echo '[].' >"$RMQ_BASE/advanced.config"
  # Loopback only; a low disk-free alarm would stop publishers on small CI disks.
  cat >"$RMQ_BASE/rabbitmq.conf" <<CONF
loopback_users = none
listeners.tcp.default = 127.0.0.1:$AMQP_PORT
disk_free_limit.absolute = 50MB
log.console = false
log.file.level = warning
CONF
  if rmq_running; then
    log "RabbitMQ already running on 127.0.0.1:$AMQP_PORT"
  else
    log "starting RabbitMQ on 127.0.0.1:$AMQP_PORT"
    nohup /usr/lib/rabbitmq/bin/rabbitmq-server >"$RMQ_BASE/log/stdout.log" 2>&1 &
    rmqctl -q -t 120 await_startup >/dev/null 2>&1 || {
      sleep 2; rmqctl -q -t 120 await_startup || { log "RabbitMQ did not start; see $RMQ_BASE/log"; exit 1; }
    }
  fi
  for vhost in ${CLINICO_AMQP_VHOSTS:-}; do
    rmqctl -q add_vhost "$vhost" >/dev/null 2>&1 || true
    rmqctl -q set_permissions -p "$vhost" guest '.*' '.*' '.*' >/dev/null
  done
}

rmq_stop() {
  rmq_env
  if rmq_running; then
    log "stopping RabbitMQ"
    rmqctl -q stop >/dev/null 2>&1 || true
  fi
}

case "${1:-start}" in
  start) install_missing; pg_start; rmq_start ;;
  stop) rmq_stop; pg_stop ;;
  start-postgres) install_missing; pg_start ;;
  stop-postgres) pg_stop ;;
  start-rabbitmq) install_missing; rmq_start ;;
  stop-rabbitmq) rmq_stop ;;
  status)
    "$PG_BIN/pg_isready" -h 127.0.0.1 -p "$PG_PORT" || true
    rmq_env; rmq_running && log "RabbitMQ running on 127.0.0.1:$AMQP_PORT" || log "RabbitMQ stopped" ;;
  *) echo "usage: $0 start|stop|status|start-postgres|stop-postgres|start-rabbitmq|stop-rabbitmq" >&2; exit 2 ;;
esac
