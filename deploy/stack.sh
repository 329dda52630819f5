#!/usr/bin/env bash
# Start or stop Clinico's own processes for development: web (gunicorn), the events process
# (uvicorn: the pages' live streams), Celery worker, the webhook worker (webhooks queue), beat,
# and the webhook listener (starts deliveries as their events commit).
# Each process runs under a small supervisor (`supervise` below) that starts it again when it
# exits, after a back-off (1 s, doubling up to 30 s; back to 1 s once it had run for a minute),
# and writes "restarted <name> (exit code N)" to its log. `stop` stops the supervisors (each
# stops its process first) in the reverse order of the start.
# PIDs and logs live under .run/: <name>.pid is the supervisor, <name>.child.pid its process.
# Idempotent.
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

# Run "$@" as <name> until this supervisor gets SIGTERM; start it again whenever it exits.
supervise() {
  local name=$1; shift
  local delay=1 stopping=0 child="" sleeper="" code started
  # SIGTERM (stop): pass it on to the process, wait for it to exit, then end.
  trap 'stopping=1; [ -z "$child" ] || kill -TERM "$child" 2>/dev/null || true
        [ -z "$sleeper" ] || kill "$sleeper" 2>/dev/null || true' TERM
  while [ "$stopping" = 0 ]; do
    started=$SECONDS
    "$@" &
    child=$!
    echo "$child" >"$RUN_DIR/$name.child.pid"
    # `wait` returns early when a trapped signal arrives: wait again until the process is gone.
    while :; do
      code=0
      wait "$child" || code=$?
      kill -0 "$child" 2>/dev/null || break
    done
    child=""
    rm -f "$RUN_DIR/$name.child.pid"
    [ "$stopping" = 0 ] || break
    if [ $((SECONDS - started)) -ge 60 ]; then delay=1; fi
    echo "[supervisor] $(date -u +%FT%TZ) $name exited (exit code $code); restarting in $delay s"
    sleep "$delay" &
    sleeper=$!
    wait "$sleeper" || true
    sleeper=""
    [ "$stopping" = 0 ] || break
    echo "[supervisor] $(date -u +%FT%TZ) restarted $name (exit code $code)"
    delay=$((delay * 2 > 30 ? 30 : delay * 2))
  done
}

start_one() {
  local name=$1; shift
  if running "$name"; then echo "[stack] $name already running"; return; fi
  # A supervisor (this script again) ignores SIGHUP as nohup does, and so does its process.
  : >"$RUN_DIR/logs/$name.log"
  nohup bash "$ROOT/deploy/stack.sh" supervise "$name" "$@" >>"$RUN_DIR/logs/$name.log" 2>&1 &
  echo $! >"$RUN_DIR/$name.pid"
  grep -qx "$name" "$RUN_DIR/stack.started" 2>/dev/null || echo "$name" >>"$RUN_DIR/stack.started"
  echo "[stack] started $name (log: .run/logs/$name.log)"
}

stop_one() {
  local name=$1 child_file="$RUN_DIR/$1.child.pid" child=""
  [ -f "$child_file" ] && child=$(cat "$child_file")
  if running "$name"; then
    # The supervisor passes SIGTERM on to its process and ends once that process has exited.
    kill -TERM "$(cat "$RUN_DIR/$name.pid")" 2>/dev/null || true
    for _ in $(seq 1 80); do running "$name" || break; sleep 0.25; done
    running "$name" && kill -KILL "$(cat "$RUN_DIR/$name.pid")" 2>/dev/null || true
    echo "[stack] stopped $name"
  fi
  # A process its supervisor could not stop (or left behind when killed) goes too.
  if [ -n "$child" ] && kill -0 "$child" 2>/dev/null; then
    kill -TERM "$child" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$child" 2>/dev/null || break; sleep 0.25; done
    kill -KILL "$child" 2>/dev/null || true
  fi
  rm -f "$RUN_DIR/$name.pid" "$child_file"
}

# Every process started, in the reverse order of the start.
stop_all() {
  local name file
  if [ -f "$RUN_DIR/stack.started" ]; then
    for name in $(tac "$RUN_DIR/stack.started"); do stop_one "$name"; done
  fi
  # Whatever else has a pid file here: a start this run did not record, a process whose
  # supervisor is gone, or a stack started by an older version of this script.
  for file in "$RUN_DIR"/*.pid; do
    [ -e "$file" ] || continue
    name=$(basename "$file" .pid)
    case "$name" in
      celerybeat-internal) continue ;;
      *.child) name=${name%.child} ;;
    esac
    stop_one "$name"
  done
  rm -f "$RUN_DIR/stack.started"
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
      --limit-concurrency "${CLINICO_EVENTS_LIMIT_CONCURRENCY:-10500}" --backlog 4096 \
      --no-proxy-headers
    # Web and worker share this machine's CPUs: in a burst the receptionist's request is answered
    # first (the worker runs at nice 5) and the ticket follows milliseconds later. Where they run
    # on separate CPUs, set CLINICO_WORKER_NICE=0.
    start_one worker nice -n "${CLINICO_WORKER_NICE:-5}" \
      "$VENV/bin/celery" -A clinico worker -Q "$(worker_queues)" \
      --loglevel INFO --pool prefork \
      --concurrency "${CLINICO_WORKER_CONCURRENCY:-4}" --hostname "clinico@%h"
    # Webhook deliveries wait on partners' servers: their own queue and pool, never a process
    # that issues tickets (docs/webhooks.md, "Isolation").
    # A worker node of its own: its own metrics port (two nodes on one port would empty each
    # other's multiprocess files).
    start_one webhook-worker env CLINICO_METRICS_PORT_WORKER="${CLINICO_METRICS_PORT_WEBHOOK_WORKER:-9186}" \
      nice -n "${CLINICO_WORKER_NICE:-5}" \
      "$VENV/bin/celery" -A clinico worker -Q webhooks \
      --loglevel INFO --pool prefork \
      --concurrency "${CLINICO_WEBHOOK_WORKER_CONCURRENCY:-2}" --hostname "clinico-webhooks@%h"
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
  stop) stop_all ;;
  supervise) shift; supervise "$@" ;;
  queues) worker_queues ;;
  *) echo "usage: $0 start|stop|queues" >&2; exit 2 ;;
esac
