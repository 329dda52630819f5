#!/usr/bin/env bash
# Start or stop Clinico's own processes for development: web (gunicorn), the events process
# (uvicorn: the pages' live streams), Celery worker, beat, and the webhook listener (starts
# deliveries as their events commit).
# PIDs and logs live under .run/. Idempotent.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN_DIR="${CLINICO_RUN_DIR:-$ROOT/.run}"
VENV="${VENV:-$ROOT/.venv}"
PORT="${CLINICO_WEB_PORT:-8000}"
# The pages open their live streams on this port of their own host (clinico/settings/dev.py).
export CLINICO_EVENTS_PORT="${CLINICO_EVENTS_PORT:-8001}"
SHARDS="${CLINICO_SHARD_QUEUES:-4}"
# Each process kind serves Prometheus metrics on a loopback port of its own (docs/operations.md,
# deploy/prometheus/prometheus.yml); gunicorn's and the worker's files live under the directory.
export CLINICO_METRICS_PORT_WEB="${CLINICO_METRICS_PORT_WEB:-9181}"
export CLINICO_METRICS_PORT_EVENTS="${CLINICO_METRICS_PORT_EVENTS:-9182}"
export CLINICO_METRICS_PORT_WORKER="${CLINICO_METRICS_PORT_WORKER:-9183}"
export CLINICO_METRICS_PORT_BEAT="${CLINICO_METRICS_PORT_BEAT:-9184}"
export CLINICO_METRICS_PORT_WEBHOOKS="${CLINICO_METRICS_PORT_WEBHOOKS:-9185}"
export CLINICO_METRICS_DIR="${CLINICO_METRICS_DIR:-$RUN_DIR/prometheus}"
export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-clinico.settings.dev}"
mkdir -p "$RUN_DIR/logs"
cd "$ROOT"

worker_queues() {
  local queues="platform"
  for i in $(seq 0 $((SHARDS - 1))); do queues="$queues,clinic.shard.$i"; done
  echo "$queues"
}

running() { [ -f "$RUN_DIR/$1.pid" ] && kill -0 "$(cat "$RUN_DIR/$1.pid")" 2>/dev/null; }

start_one() {
  local name=$1; shift
  if running "$name"; then echo "[stack] $name already running"; return; fi
  nohup "$@" >"$RUN_DIR/logs/$name.log" 2>&1 &
  echo $! >"$RUN_DIR/$name.pid"
  echo "[stack] started $name (log: .run/logs/$name.log)"
}

stop_one() {
  local name=$1
  if running "$name"; then
    kill -TERM "$(cat "$RUN_DIR/$name.pid")" 2>/dev/null || true
    for _ in $(seq 1 40); do running "$name" || break; sleep 0.25; done
    running "$name" && kill -KILL "$(cat "$RUN_DIR/$name.pid")" 2>/dev/null || true
    echo "[stack] stopped $name"
  fi
  rm -f "$RUN_DIR/$name.pid"
}

case "${1:-start}" in
  start)
    # deploy/gunicorn.conf.py holds the access log format (paths without query strings).
    start_one web "$VENV/bin/gunicorn" clinico.wsgi:application \
      --config "$ROOT/deploy/gunicorn.conf.py" \
      --bind "127.0.0.1:$PORT" --workers "${CLINICO_WEB_WORKERS:-4}" \
      --threads "${CLINICO_WEB_THREADS:-2}" --worker-class gthread --access-logfile - --timeout 60
    # Server-sent events: an open stream costs a coroutine here, not a gunicorn thread. Each
    # worker process holds a fixed number of PostgreSQL connections, whatever its streams: one
    # LISTEN, CLINICO_EVENTS_DB_POOL for reads, CLINICO_EVENTS_OPENING_SLOTS for streams being
    # opened (docs/events.md). Past --limit-concurrency uvicorn answers 503 before Django.
    start_one events "$VENV/bin/uvicorn" clinico.asgi:application \
      --host 127.0.0.1 --port "$CLINICO_EVENTS_PORT" \
      --workers "${CLINICO_EVENTS_WORKERS:-1}" --no-access-log --timeout-graceful-shutdown 5 \
      --limit-concurrency "${CLINICO_EVENTS_LIMIT_CONCURRENCY:-10500}" --backlog 4096
    # Web and worker share this machine's CPUs: in a burst the receptionist's request is answered
    # first (the worker runs at nice 5) and the ticket follows milliseconds later. Where they run
    # on separate CPUs, set CLINICO_WORKER_NICE=0.
    start_one worker nice -n "${CLINICO_WORKER_NICE:-5}" \
      "$VENV/bin/celery" -A clinico worker -Q "$(worker_queues)" \
      --loglevel INFO --pool prefork \
      --concurrency "${CLINICO_WORKER_CONCURRENCY:-4}" --hostname "clinico@%h"
    start_one beat "$VENV/bin/celery" -A clinico beat --loglevel INFO \
      --scheduler tenants.beat:ClinicDatabaseScheduler \
      --pidfile "$RUN_DIR/celerybeat-internal.pid"
    start_one webhooks "$VENV/bin/python" manage.py webhooks_listen
    for _ in $(seq 1 60); do
      curl -fs -o /dev/null -H "Host: localhost" "http://127.0.0.1:$PORT/healthz" 2>/dev/null && break
      sleep 0.5
    done
    for _ in $(seq 1 60); do
      curl -fs -o /dev/null -H "Host: localhost" "http://127.0.0.1:$CLINICO_EVENTS_PORT/healthz" \
        2>/dev/null && break
      sleep 0.5
    done
    ;;
  stop) stop_one webhooks; stop_one beat; stop_one worker; stop_one events; stop_one web ;;
  queues) worker_queues ;;
  *) echo "usage: $0 start|stop|queues" >&2; exit 2 ;;
esac
