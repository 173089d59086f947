#!/usr/bin/env bash
# Start N Callit processes and nginx in front of them on this machine, in the foreground, the way
# docs/deployment.md describes a deployment. Ctrl-C (or SIGTERM) stops everything it started. An
# app process that dies is restarted on its port (after RESTART_DELAY seconds, default 1) while
# the others keep serving; if nginx dies, the rest are stopped and the script exits non-zero.
#
#   deploy/run-local.sh [N]                  N app processes (default 2)
#
# Environment (all optional except the first two):
#   DATABASE_URL   PostgreSQL, shared by every process (required)
#   REDIS_URL      Socket.IO message queue and rate-limit counters (required when N > 1)
#   LISTEN         where nginx listens (default 127.0.0.1:8080; 0.0.0.0:8080 for phones on the LAN)
#   BACKEND_PORTS  the app processes' ports (default 5001 5002 ... N of them)
#   RUN_DIR        nginx config, pid, logs and app logs (default: a new directory under /tmp)
#   PYTHON         the venv's python (default .venv/bin/python)
#   NGINX          the nginx binary (default: nginx on PATH, or /usr/sbin/nginx)
#   MIGRATE        1 (default) runs `flask db upgrade` once before starting; 0 skips it
#   ACCESS_LOG     nginx access log (default: off)
#   SECRET_KEY     shared by every process, so sessions survive a change of process; by default
#                  the first start writes one to instance/secret_key and all processes read it.
# Anything else the app reads (RATE_LIMIT_*, PUBLIC_URL, ...) is passed on to every process.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=${1:-2}
LISTEN=${LISTEN:-127.0.0.1:8080}
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
MIGRATE=${MIGRATE:-1}
ACCESS_LOG=${ACCESS_LOG:-off}

die() { echo "run-local: $*" >&2; exit 2; }

[[ "$N" =~ ^[1-9][0-9]*$ ]] || die "N must be a positive number, got '$N'"
[ -n "${DATABASE_URL:-}" ] || die "set DATABASE_URL (PostgreSQL, e.g. postgresql://postgres@127.0.0.1:5432/callit)"
case "$DATABASE_URL" in
  postgres:*|postgresql:*|postgresql+*) ;;
  *) [ "$N" -eq 1 ] || die "several processes need one shared PostgreSQL database, not $DATABASE_URL" ;;
esac
[ "$N" -eq 1 ] || [ -n "${REDIS_URL:-}" ] \
  || die "set REDIS_URL (e.g. redis://127.0.0.1:6379/0): it carries events between the $N processes"
[ -x "$PYTHON" ] || die "no python at $PYTHON (run 'make install', or set PYTHON)"

NGINX=${NGINX:-$(command -v nginx || true)}
[ -n "$NGINX" ] || { [ -x /usr/sbin/nginx ] && NGINX=/usr/sbin/nginx; } || true
if [ -z "$NGINX" ] || [ ! -x "$NGINX" ]; then
  if [ -n "${CI:-}" ] && [ "$(id -u)" -eq 0 ]; then   # CI's fresh Debian machine: install it
    echo "run-local: installing nginx (apt-get)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends nginx >/dev/null
    NGINX=$(command -v nginx || echo /usr/sbin/nginx)
  else
    die "nginx is not installed: apt-get install -y nginx (or set NGINX=/path/to/nginx)"
  fi
fi

if [ -n "${BACKEND_PORTS:-}" ]; then
  read -r -a PORTS <<<"$BACKEND_PORTS"
  [ "${#PORTS[@]}" -eq "$N" ] || die "BACKEND_PORTS lists ${#PORTS[@]} ports for $N processes"
else
  PORTS=(); for i in $(seq 1 "$N"); do PORTS+=($((5000 + i))); done
fi

if [ -z "${RUN_DIR:-}" ]; then RUN_DIR=$(mktemp -d /tmp/callit-run.XXXXXX); fi
mkdir -p "$RUN_DIR/tmp"
chmod 755 "$RUN_DIR" "$RUN_DIR/tmp"   # nginx's workers (user nobody, when started as root) use tmp/

pids=()
stopping=""
stop_all() {
  [ -z "$stopping" ] || return 0
  stopping=1
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
}
trap 'stop_all; exit 0' INT TERM
trap 'stop_all' EXIT

wait_healthy() {  # url seconds pid
  "$PYTHON" - "$1" "$2" "$3" <<'PY'
import os, sys, time, urllib.request
url, seconds, pid = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
deadline = time.monotonic() + seconds
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit(f"run-local: process {pid} exited before {url} answered")
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            if r.status == 200:
                sys.exit(0)
    except Exception:
        pass
    time.sleep(0.1)
sys.exit(f"run-local: {url} not healthy after {seconds:.0f}s")
PY
}

cd "$ROOT"
export DATABASE_URL TRUST_PROXY=1 HOST=127.0.0.1 PYTHONUNBUFFERED=1
[ -z "${REDIS_URL:-}" ] || export REDIS_URL
if [ "$MIGRATE" = "1" ]; then
  FLASK_APP=questions:create_app "$PYTHON" -m flask db upgrade
fi

start_app() {  # index: (re)start the app process on PORTS[index]; its log is appended to
  PORT=${PORTS[$1]} "$PYTHON" app.py >>"$RUN_DIR/app-$(($1 + 1)).log" 2>&1 &
  pids[$1]=$!
}
for i in "${!PORTS[@]}"; do start_app "$i"; done
upstreams=""
for i in "${!PORTS[@]}"; do
  if ! wait_healthy "http://127.0.0.1:${PORTS[$i]}/healthz" 60 "${pids[$i]}"; then
    tail -n 30 "$RUN_DIR/app-$((i + 1)).log" >&2
    exit 1
  fi
  upstreams+="        server 127.0.0.1:${PORTS[$i]} max_fails=3 fail_timeout=10s;"$'\n'
done

# Each phone is two connections of one nginx worker (its own, and the one to the app), each one
# descriptor; worker_connections counts both. nginx started as root raises its workers' limit
# itself (worker_rlimit_nofile), past this shell's hard limit.
nofile=$(ulimit -Hn)
[ "$nofile" = "unlimited" ] && nofile=65536
[ "$(id -u)" -eq 0 ] && nofile=65536
[ "$nofile" -le 65536 ] || nofile=65536
worker_connections=$(( nofile - 64 > 1024 ? nofile - 64 : 1024 ))   # a few for logs and listeners
# placeholders may contain '/', '|' never does
sed -e "s|@RUN_DIR@|$RUN_DIR|g" -e "s|@LISTEN@|$LISTEN|g" -e "s|@NOFILE@|$nofile|g" \
    -e "s|@WORKER_CONNECTIONS@|$worker_connections|g" -e "s|@ACCESS_LOG@|$ACCESS_LOG|g" \
    "$ROOT/deploy/nginx.conf" | while IFS= read -r line; do
      if [ "$line" = "@UPSTREAM_SERVERS@" ]; then printf '%s' "$upstreams"; else printf '%s\n' "$line"; fi
    done >"$RUN_DIR/nginx.conf"
"$NGINX" -t -q -p "$RUN_DIR" -e "$RUN_DIR/error.log" -c "$RUN_DIR/nginx.conf"
"$NGINX" -p "$RUN_DIR" -e "$RUN_DIR/error.log" -c "$RUN_DIR/nginx.conf" -g 'daemon off;' &
nginx_pid=$!
pids+=("$nginx_pid")
case "$LISTEN" in
  *:*) probe=${LISTEN/#0.0.0.0:/127.0.0.1:}; probe=${probe/#\*:/127.0.0.1:} ;;
  *) probe=127.0.0.1:$LISTEN ;;
esac
if ! wait_healthy "http://$probe/healthz" 30 "$nginx_pid"; then
  cat "$RUN_DIR/error.log" >&2 || true
  exit 1
fi

echo "Callit is running behind nginx: http://$LISTEN/ ($N processes on ports ${PORTS[*]}; logs in $RUN_DIR)"
# Supervise: an app process that exits (a crash, an OOM kill) is started again on its port
# after RESTART_DELAY seconds, while nginx sends its phones to the others (a refused
# connection is passed to the next backend) until it answers again. nginx itself exiting
# stops everything: nothing could reach the app any more.
RESTART_DELAY=${RESTART_DELAY:-1}
set +e
while true; do
  wait -n "${pids[@]}"   # returns as soon as any process exits (or a signal stops us)
  status=$?
  [ -z "$stopping" ] || exit 0
  if ! kill -0 "$nginx_pid" 2>/dev/null; then
    echo "run-local: nginx exited ($status); stopping the rest" >&2
    exit 1
  fi
  for i in "${!PORTS[@]}"; do
    if ! kill -0 "${pids[$i]}" 2>/dev/null; then
      echo "run-local: the app process on port ${PORTS[$i]} exited ($status); restarting it" >&2
      sleep "$RESTART_DELAY"
      start_app "$i"
    fi
  done
done
