#!/usr/bin/env bash
# Serving scaled out (issue 15): two `tuijian serve` instances sharing one PostgreSQL database behind nginx.
#
#   scripts/scaleout.sh start --database-url postgresql://... [--dataset D] [--model M] [--run-dir DIR]
#                             [--port 8080] [--ports 8081,8082] [--home DIR] [--data-dir DIR]
#   scripts/scaleout.sh stop  [--run-dir DIR]
#
# `start` installs Debian's nginx when it is missing (as setup-services.sh installs PostgreSQL), starts the
# first instance and waits until it is ready (it bootstraps the dataset into the database and trains a first
# model when the database has none), then the second one (which finds that version and loads it), then nginx
# on --port, balancing over both (least connections; a request that cannot reach one instance goes to the
# other). Both instances share --home, so an artifact trained by either (POST /v1/admin/retrain) is on disk
# for both; the database's model_versions table tells every instance which version to serve.
# PIDs and logs go to --run-dir (default var/scaleout): inst1.pid, inst2.pid, nginx.pid, *.log; `stop` ends
# exactly those processes. The admin key is TUIJIAN_ADMIN_KEY from the environment (required).
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "scaleout: ERROR: $*" >&2; exit 1; }
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    die "need root (or sudo) to run: $*"; fi
}

cmd="${1:-}"; shift || true
RUN_DIR="var/scaleout"; PORT=8080; PORTS="8081,8082"; DATASET="online-retail-demo"; MODEL="item-knn"
DB_URL=""; HOME_DIR=""; DATA_DIR=""
while [ $# -gt 0 ]; do
  case "$1" in
    --run-dir) RUN_DIR="$2"; shift 2 ;;
    --port) PORT="$2"; shift 2 ;;
    --ports) PORTS="$2"; shift 2 ;;
    --dataset) DATASET="$2"; shift 2 ;;
    --model) MODEL="$2"; shift 2 ;;
    --database-url) DB_URL="$2"; shift 2 ;;
    --home) HOME_DIR="$2"; shift 2 ;;
    --data-dir) DATA_DIR="$2"; shift 2 ;;
    *) die "unknown option $1 (see the header of $0)" ;;
  esac
done
mkdir -p "$RUN_DIR"
RUN_DIR="$(cd "$RUN_DIR" && pwd)"
HOME_DIR="${HOME_DIR:-$RUN_DIR/home}"

stop_pid() {  # stop_pid FILE: TERM, then KILL after 10 s, the process whose id FILE holds
  local file="$1" pid
  [ -f "$file" ] || return 0
  pid="$(cat "$file")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

if [ "$cmd" = stop ]; then
  if [ -f "$RUN_DIR/nginx.pid" ] && [ -f "$RUN_DIR/nginx.conf" ]; then
    nginx -p "$RUN_DIR" -c "$RUN_DIR/nginx.conf" -s quit 2>/dev/null || true
    for _ in $(seq 1 50); do [ -f "$RUN_DIR/nginx.pid" ] || break; sleep 0.1; done
  fi
  stop_pid "$RUN_DIR/nginx.pid"
  stop_pid "$RUN_DIR/inst1.pid"
  stop_pid "$RUN_DIR/inst2.pid"
  echo "scaleout: stopped ($RUN_DIR)"
  exit 0
fi
[ "$cmd" = start ] || die "usage: $0 start|stop [options] (see the header of $0)"
[ -n "$DB_URL" ] || die "--database-url postgresql://... is required (both instances share it)"
case "$DB_URL" in postgresql*) ;; *) die "--database-url must be PostgreSQL (SQLite cannot be shared by two servers), got $DB_URL" ;; esac
[ -n "${TUIJIAN_ADMIN_KEY:-}" ] || die "set TUIJIAN_ADMIN_KEY (the admin key both instances accept)"

# ---------------------------------------------------------------- nginx from Debian
if ! command -v nginx >/dev/null; then
  echo "scaleout: installing Debian nginx-light"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null
  command -v nginx >/dev/null || die "nginx installed but not on PATH"
fi

IFS=, read -r P1 P2 <<<"$PORTS"
[ -n "$P1" ] && [ -n "$P2" ] || die "--ports needs two ports, e.g. 8081,8082; got $PORTS"

wait_ready() {  # wait_ready PORT PIDFILE LOG
  for _ in $(seq 1 600); do
    if ! kill -0 "$(cat "$2")" 2>/dev/null; then tail -30 "$3" >&2; die "instance on port $1 exited (log above)"; fi
    if curl -fsS "http://127.0.0.1:$1/ready" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  tail -30 "$3" >&2; die "instance on port $1 not ready after 300 s (log above)"
}

start_instance() {  # start_instance N PORT
  local extra=()
  [ -n "$DATA_DIR" ] && extra+=(--data-dir "$DATA_DIR")
  setsid .venv/bin/tuijian serve --dataset "$DATASET" --model "$MODEL" --host 127.0.0.1 --port "$2" \
    --workers 1 --database-url "$DB_URL" --home "$HOME_DIR" --no-access-log "${extra[@]}" \
    >"$RUN_DIR/inst$1.log" 2>&1 &
  echo $! >"$RUN_DIR/inst$1.pid"
  wait_ready "$2" "$RUN_DIR/inst$1.pid" "$RUN_DIR/inst$1.log"
  echo "scaleout: instance $1 ready on 127.0.0.1:$2 (pid $(cat "$RUN_DIR/inst$1.pid"))"
}

start_instance 1 "$P1"
start_instance 2 "$P2"

mkdir -p "$RUN_DIR/nginx-tmp"
cat >"$RUN_DIR/nginx.conf" <<CONF
# written by scripts/scaleout.sh
worker_processes 1;
pid $RUN_DIR/nginx.pid;
error_log $RUN_DIR/nginx-error.log warn;
daemon on;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $RUN_DIR/nginx-tmp/body;
  proxy_temp_path $RUN_DIR/nginx-tmp/proxy;
  fastcgi_temp_path $RUN_DIR/nginx-tmp/fastcgi;
  uwsgi_temp_path $RUN_DIR/nginx-tmp/uwsgi;
  scgi_temp_path $RUN_DIR/nginx-tmp/scgi;
  upstream tuijian {
    least_conn;
    server 127.0.0.1:$P1 max_fails=1 fail_timeout=5s;
    server 127.0.0.1:$P2 max_fails=1 fail_timeout=5s;
    keepalive 16;
  }
  server {
    listen 127.0.0.1:$PORT;
    location / {
      proxy_pass http://tuijian;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$remote_addr;
      proxy_connect_timeout 2s;
      proxy_read_timeout 60s;
      # POST /v1/events is idempotent by event_id, so a request an instance could not answer is safe to
      # send to the other one
      proxy_next_upstream error timeout http_502 http_503 non_idempotent;
      proxy_next_upstream_tries 2;
    }
  }
}
CONF
nginx -p "$RUN_DIR" -c "$RUN_DIR/nginx.conf" -t 2>"$RUN_DIR/nginx-test.log" || { cat "$RUN_DIR/nginx-test.log" >&2; die "bad nginx config"; }
nginx -p "$RUN_DIR" -c "$RUN_DIR/nginx.conf"
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$PORT/ready" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "http://127.0.0.1:$PORT/ready" >/dev/null || die "nginx on port $PORT does not answer"
echo "scaleout: nginx on http://127.0.0.1:$PORT -> 127.0.0.1:$P1, 127.0.0.1:$P2 (stop: $0 stop --run-dir $RUN_DIR)"
