#!/usr/bin/env bash
# Who should send the bytes? Compares, in one run with alternating rounds, for a 1 KiB and a
# 1 MiB file, with wrk on loopback:
#   nginx-secure-link  nginx's own secure_link location (`secure-link nginx-config`) serving the file
#   nginx-native       nginx verifying native links itself with njs (`secure-link nginx-config --native`)
#   nginx-accel        nginx in front of the X-Accel-Redirect backend (examples/accel.rs), configured
#                      as `secure-link nginx-config --accel-internal` prints it (keep-alive upstream)
#   serve              `secure-link serve` alone (axum + tower-http ServeDir)
# and prints req/s and each one's ratio to nginx-secure-link.
#
#   scripts/bench-nginx.sh            # ROUNDS=3 SECONDS_PER_RUN=5 CONNECTIONS=16 by default
#
# Needs nginx and wrk (Debian: nginx-light, wrk). Bounded: ROUNDS x 2 sizes x 3 targets runs.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-5}
CONNECTIONS=${CONNECTIONS:-16}
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
command -v wrk >/dev/null || { echo "wrk is missing (apt-get install wrk)" >&2; exit 2; }
[ -x "$NGINX" ] || { echo "nginx is missing (apt-get install nginx-light)" >&2; exit 2; }

cargo build --quiet --release --all-features --examples
BIN=target/release/examples
WORK=$(mktemp -d)
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

export SECURE_LINK_KEY="bench secret of at least thirty-two bytes!"
mkdir -p "$WORK/files/private"
head -c 1024 /dev/urandom > "$WORK/files/private/1k.bin"
head -c 1048576 /dev/urandom > "$WORK/files/private/1m.bin"
chmod -R a+rX "$WORK"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (echo > "/dev/tcp/127.0.0.1/$1") 2>/dev/null && return; sleep 0.1; done; echo "nothing on port $1" >&2; exit 1; }
# Servers on core 0 and wrk on core 1, when taskset is there. `exec`, so that a server started
# in the background is the process `$!` names.
server_cpu() { if command -v taskset >/dev/null; then exec taskset -c 0 "$@"; else exec "$@"; fi; }
client_cpu() { if command -v taskset >/dev/null; then taskset -c 1 "$@"; else "$@"; fi; }

start_nginx() { # name http_part server_part port
  local prefix="$WORK/nginx-$1"
  mkdir -p "$prefix/logs" "$prefix/tmp"
  cat > "$prefix/nginx.conf" <<CONF
load_module /usr/lib/nginx/modules/ngx_http_js_module.so;
daemon off;
worker_processes 1;
pid $prefix/nginx.pid;
error_log $prefix/logs/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  default_type application/octet-stream;
  client_body_temp_path $prefix/tmp/body; proxy_temp_path $prefix/tmp/proxy;
  fastcgi_temp_path $prefix/tmp/fastcgi; uwsgi_temp_path $prefix/tmp/uwsgi; scgi_temp_path $prefix/tmp/scgi;
$2
  server {
    listen 127.0.0.1:$4;
$3
  }
}
CONF
  server_cpu "$NGINX" -p "$prefix/" -c "$prefix/nginx.conf" > /dev/null 2>&1 &
  PIDS+=($!)
  wait_port "$4"
}

# nginx serving the files itself through secure_link.
PORT_NGINX=$(free_port)
start_nginx secure-link "" "$("$BIN/secure-link" nginx-config --alias "$WORK/files/private/")" "$PORT_NGINX"

# nginx verifying native links itself with its JavaScript module (nginx-config --native).
NATIVE=$("$BIN/secure-link" nginx-config --native --alias "$WORK/files/private/" --js-dir "$WORK/js")
PORT_NATIVE=$(free_port)
start_nginx native "$(printf '%s\n' "$NATIVE" | sed '/^# server { } context:/,$d')" \
  "$(printf '%s\n' "$NATIVE" | sed -n '/^# server { } context:/,$p')" "$PORT_NATIVE"

# The accel backend and nginx in front of it, configured as the crate prints it.
PORT_BACKEND=$(free_port)
server_cpu "$BIN/accel" --addr "127.0.0.1:$PORT_BACKEND" --alias "$WORK/files/private/" > "$WORK/accel.out" 2>&1 &
PIDS+=($!)
wait_port "$PORT_BACKEND"
ACCEL_CONFIG=$(sed -n '/^# http/,/^backend on/p' "$WORK/accel.out" | sed '$d')
HTTP_PART=$(printf '%s\n' "$ACCEL_CONFIG" | sed '/^# server { } context:/,$d')
SERVER_PART=$(printf '%s\n' "$ACCEL_CONFIG" | sed -n '/^# server { } context:/,$p')
PORT_ACCEL=$(free_port)
start_nginx accel "$HTTP_PART" "$SERVER_PART" "$PORT_ACCEL"

# serve alone.
PORT_SERVE=$(free_port)
server_cpu "$BIN/secure-link" serve --root "$WORK/files" --addr "127.0.0.1:$PORT_SERVE" > "$WORK/serve.out" 2>/dev/null &
PIDS+=($!)
wait_port "$PORT_SERVE"

url() { # target size
  case "$1" in
    nginx-secure-link) echo "http://127.0.0.1:$PORT_NGINX$("$BIN/secure-link" sign --format nginx --ttl 86400 "/private/$2.bin")" ;;
    nginx-native) echo "http://127.0.0.1:$PORT_NATIVE$("$BIN/secure-link" sign --ttl 86400 "/private/$2.bin")" ;;
    nginx-accel) echo "http://127.0.0.1:$PORT_ACCEL$("$BIN/secure-link" sign --ttl 86400 "/private/$2.bin")" ;;
    serve) echo "http://127.0.0.1:$PORT_SERVE$("$BIN/secure-link" sign --ttl 86400 "/private/$2.bin")" ;;
  esac
}

declare -A TOTAL
TARGETS=(nginx-secure-link nginx-native nginx-accel serve)
for size in 1k 1m; do
  for target in "${TARGETS[@]}"; do
    status=$(curl -s -o /dev/null -w '%{http_code}' "$(url "$target" "$size")")
    [ "$status" = 200 ] || { echo "$target $size answered $status, not 200" >&2; exit 1; }
    TOTAL[$target-$size]=0
  done
done
for round in $(seq "$ROUNDS"); do
  for size in 1k 1m; do
    # Alternate the order each round so no target always runs on a warmer machine.
    if [ $((round % 2)) = 0 ]; then order=(serve nginx-accel nginx-native nginx-secure-link); else order=("${TARGETS[@]}"); fi
    for target in "${order[@]}"; do
      rps=$(client_cpu wrk -t1 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" "$(url "$target" "$size")" \
        | awk '/Requests\/sec/ {print $2}')
      TOTAL[$target-$size]=$(echo "${TOTAL[$target-$size]} + $rps" | bc)
      echo "round $round, $size, $target: $rps req/s" >&2
    done
  done
done

echo "| file | target | req/s (mean of $ROUNDS) | ratio to nginx secure_link |"
echo "| --- | --- | --- | --- |"
for size in 1k 1m; do
  base=$(echo "${TOTAL[nginx-secure-link-$size]} / $ROUNDS" | bc -l)
  for target in "${TARGETS[@]}"; do
    mean=$(echo "${TOTAL[$target-$size]} / $ROUNDS" | bc -l)
    printf '| %s | %s | %.0f | %.2f |\n' "$size" "$target" "$mean" "$(echo "$mean / $base" | bc -l)"
  done
done
