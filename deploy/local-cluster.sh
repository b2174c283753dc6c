#!/usr/bin/env bash
# N server copies on loopback ports behind Debian's nginx on PORT, all stopped by Ctrl-C or SIGTERM.
#
#   bash deploy/local-cluster.sh N PORT        e.g. bash deploy/local-cluster.sh 2 8080
#
# The copies listen on 127.0.0.1:PORT+1 .. PORT+N (or the comma-separated COPY_PORTS), nginx on
# 127.0.0.1:PORT with deploy/nginx/digitlab.conf and those copies as its upstream. A copy that
# exits is started again after a second, as a process supervisor or Kubernetes would. nginx runs
# in the foreground as a child of this script, from a config generated in a temporary directory
# that also holds its pid file, temp files and access log (which names the copy that answered).
#
# Environment: NODE (the node binary; default node on PATH, e.g. run this under
# scripts/with-node.sh for Node 24), LOG_LEVEL of the copies (default warn), READY_TIMEOUT in
# seconds (default 300), COPY_PORTS, and any server setting (BACKEND, BODY_LIMIT, MAX_IMAGES, ...).
# nginx is installed with apt-get when it is missing and this runs as root.
#
# Output on stdout, one line each: "copy I: pid P, http://127.0.0.1:PORT", "copy I: ready after S s",
# "copy I: exited with status X; starting it again in 1 s", and once every copy is ready
# "ready: N copies behind nginx on http://127.0.0.1:PORT (nginx pid P, logs in DIR)".
set -uo pipefail

usage() {
  echo "usage: bash deploy/local-cluster.sh N PORT   (N copies from 1 to 32, nginx on 127.0.0.1:PORT)" >&2
  exit 2
}
[ $# -eq 2 ] || usage
COPIES="$1"
PORT="$2"
[[ "$COPIES" =~ ^[0-9]+$ ]] && [ "$COPIES" -ge 1 ] && [ "$COPIES" -le 32 ] || usage
[[ "$PORT" =~ ^[0-9]+$ ]] && [ "$PORT" -ge 1 ] && [ "$PORT" -le 65535 ] || usage

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1
NODE="${NODE:-node}"
export LOG_LEVEL="${LOG_LEVEL:-warn}"
READY_TIMEOUT="${READY_TIMEOUT:-300}"

if [ -n "${COPY_PORTS:-}" ]; then
  IFS=',' read -r -a PORTS <<<"$COPY_PORTS"
  [ "${#PORTS[@]}" -eq "$COPIES" ] || { echo "COPY_PORTS lists ${#PORTS[@]} ports for $COPIES copies" >&2; exit 2; }
else
  PORTS=()
  for ((i = 1; i <= COPIES; i++)); do PORTS+=("$((PORT + i))"); done
fi
for p in "${PORTS[@]}"; do
  [[ "$p" =~ ^[0-9]+$ ]] && [ "$p" -ge 1 ] && [ "$p" -le 65535 ] && [ "$p" != "$PORT" ] || { echo "bad copy port: $p" >&2; exit 2; }
done

NGINX="$(bash deploy/ensure-nginx.sh)" || exit 3

DIR="$(mktemp -d "${TMPDIR:-/tmp}/digitlab-cluster.XXXXXX")"
chmod 755 "$DIR"
mkdir -p "$DIR"/{body,proxy,fastcgi,uwsgi,scgi}

# The upstream servers and the listen address replace the examples in the shipped config.
servers=""
for p in "${PORTS[@]}"; do servers+="    server 127.0.0.1:$p max_fails=0;"$'\n'; done
awk -v servers="$servers" -v listen="    listen 127.0.0.1:$PORT;" '
  /# servers: begin/ { print; printf "%s", servers; skipping = 1; next }
  /# servers: end/ { skipping = 0 }
  skipping { next }
  /^    listen / { print listen; next }
  { print }
' deploy/nginx/digitlab.conf >"$DIR/digitlab.conf"

# As root, nginx's workers drop to an unprivileged user, which needs its temp directories.
user_line=""
if [ "$(id -u)" = "0" ]; then
  worker_user=nobody
  id -u www-data >/dev/null 2>&1 && worker_user=www-data
  user_line="user $worker_user $(id -gn "$worker_user");"
  chown "$worker_user" "$DIR"/{body,proxy,fastcgi,uwsgi,scgi}
fi
cat >"$DIR/nginx.conf" <<EOF
$user_line
daemon off;
worker_processes 1;
pid $DIR/nginx.pid;
error_log stderr warn;
events { worker_connections 1024; }
http {
  client_body_temp_path $DIR/body;
  proxy_temp_path $DIR/proxy;
  fastcgi_temp_path $DIR/fastcgi;
  uwsgi_temp_path $DIR/uwsgi;
  scgi_temp_path $DIR/scgi;
  include $DIR/digitlab.conf;
  access_log $DIR/access.log digitlab_upstream;
}
EOF

"$NGINX" -t -q -p "$DIR" -c "$DIR/nginx.conf" -e stderr || { rm -rf "$DIR"; exit 1; }

is_ready() {
  if command -v curl >/dev/null 2>&1; then
    curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$1/health/ready"
  else
    "$NODE" -e "fetch('http://127.0.0.1:$1/health/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
  fi
}

# Runs copy $1 on port $2 and starts it again whenever it exits, until told to stop (SIGTERM or
# the stop file). Its SIGTERM goes on to the copy, which finishes its requests in flight.
supervise() {
  local i="$1" port="$2" status started
  pid=""
  stop=0
  trap 'stop=1; [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null' TERM
  while :; do
    started=$SECONDS
    PORT="$port" HOST=127.0.0.1 "$NODE" --import tsx apps/server/src/main.ts > >(sed -u "s/^/[copy $i] /" >&2) 2>&1 &
    pid=$!
    echo "copy $i: pid $pid, http://127.0.0.1:$port"
    until [ "$stop" = 1 ] || is_ready "$port"; do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.25
    done
    if [ "$stop" = 0 ] && kill -0 "$pid" 2>/dev/null; then echo "copy $i: ready after $((SECONDS - started)) s"; fi
    wait "$pid"
    status=$?
    if kill -0 "$pid" 2>/dev/null; then
      wait "$pid"
      status=$?
    fi
    pid=""
    [ "$stop" = 1 ] || [ -e "$DIR/stopping" ] && break
    echo "copy $i: exited with status $status; starting it again in 1 s"
    sleep 1 &
    wait $!
    [ "$stop" = 1 ] || [ -e "$DIR/stopping" ] && break
  done
}

SUPERVISORS=()
NGINX_PID=""
cleanup() {
  trap - INT TERM EXIT
  touch "$DIR/stopping"
  # nginx first, so no new request reaches a copy that is stopping.
  [ -n "$NGINX_PID" ] && kill -QUIT "$NGINX_PID" 2>/dev/null
  for s in "${SUPERVISORS[@]}"; do kill -TERM "$s" 2>/dev/null; done
  [ -n "$NGINX_PID" ] && wait "$NGINX_PID" 2>/dev/null
  for s in "${SUPERVISORS[@]}"; do wait "$s" 2>/dev/null; done
  rm -rf "$DIR"
  echo "stopped: nginx and $COPIES copies"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for ((i = 1; i <= COPIES; i++)); do
  supervise "$i" "${PORTS[$((i - 1))]}" &
  SUPERVISORS+=("$!")
done

"$NGINX" -p "$DIR" -c "$DIR/nginx.conf" -e stderr &
NGINX_PID=$!

deadline=$((SECONDS + READY_TIMEOUT))
for p in "${PORTS[@]}"; do
  until is_ready "$p"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "a copy did not become ready on port $p within $READY_TIMEOUT s; stopping" >&2
      exit 1
    fi
    kill -0 "$NGINX_PID" 2>/dev/null || { echo "nginx exited" >&2; exit 1; }
    sleep 0.5
  done
done
echo "ready: $COPIES copies behind nginx on http://127.0.0.1:$PORT (nginx pid $NGINX_PID, logs in $DIR)"

# nginx exits on its own only when it fails (a signal to stop it ends this script through the traps).
wait "$NGINX_PID"
status=$?
NGINX_PID=""
[ "$status" = 0 ] && exit 0
echo "nginx exited with status $status; stopping the copies" >&2
exit 1
