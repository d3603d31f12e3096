#!/usr/bin/env bash
# Benchmark (not a test): 1, 2 and 4 `zhunong serve` processes sharing one PostgreSQL database
# behind nginx (round robin, keep-alive to the upstreams), on the generated catalogue of 10,000
# listings and 100,000 households. For each count, wrk on loopback through nginx against
#   1. the server-rendered catalogue page (/market), anonymous;
#   2. the checkout server function (a fresh idempotency key each request, one buyer).
# Prints requests/s per process count. Everything (wrk, nginx, the processes, PostgreSQL) shares
# this machine's cores, so the figures say where one machine's limit is, not what more machines
# would add. Uses the release binary (make build first) and the PostgreSQL at
# BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres; a new database is
# made beside it and dropped after). BENCH_SECONDS (default 10), BENCH_CONNECTIONS (default 32; a process serves
# at most 64 requests at once from one address, and here every request comes from nginx),
# BENCH_PROCESSES (default "1 2 4") tune it.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
BIN="${ZHUNONG_BIN:-${CARGO_TARGET_DIR:-target}/release/zhunong}"
SECS="${BENCH_SECONDS:-10}"
CONNS="${BENCH_CONNECTIONS:-32}"
COUNTS="${BENCH_PROCESSES:-1 2 4}"
ADMIN_URL="${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
[ -x "$BIN" ] || { echo "no release binary at $BIN: run make build" >&2; exit 1; }
for tool in wrk nginx; do
  if ! command -v "$tool" >/dev/null && ! [ -x "/usr/sbin/$tool" ]; then
    pkg=$tool; [ "$tool" = nginx ] && pkg=nginx-light
    echo "==> apt-get install $pkg"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$pkg"
  fi
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
dir=$(mktemp -d)
db="zhunong_bench_scale_$$"
base_url="${ADMIN_URL%/*}"
export DATABASE_URL="$base_url/$db"
pids=()
stop_all() {
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
  pids=()
}
cleanup() {
  stop_all
  psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
psql -q "$ADMIN_URL" -c "CREATE DATABASE $db" >/dev/null

echo "==> generating the catalogue on PostgreSQL (100,000 households, 10,000 listings)"
/usr/bin/time -f "    %es, %MkB peak" "$BIN" bench --households 100000 --listings 10000

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rps() { awk '/Requests\/sec/ {print $2}'; }
proxy_port=$(free_port)
base="http://127.0.0.1:$proxy_port"
results=()
for n in $COUNTS; do
  servers=""
  for i in $(seq 1 "$n"); do
    port=$(free_port)
    ZHUNONG_LOG=warn ZHUNONG_MAX_UNPAID_CHECKOUTS=1000000 ZHUNONG_TRUSTED_PROXIES=127.0.0.1 \
      ZHUNONG_UPLOAD_DIR="$dir/uploads" LEPTOS_SITE_ADDR="127.0.0.1:$port" "$BIN" serve &
    pids+=($!)
    servers="$servers server 127.0.0.1:$port;"
    for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
  done
  mkdir -p "$dir/nginx"
  cat > "$dir/nginx/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $dir/nginx/body; proxy_temp_path $dir/nginx/proxy;
  fastcgi_temp_path $dir/nginx/fastcgi; uwsgi_temp_path $dir/nginx/uwsgi; scgi_temp_path $dir/nginx/scgi;
  upstream app { $servers keepalive 64; }
  server {
    listen 127.0.0.1:$proxy_port;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$http_host;
      proxy_set_header X-Forwarded-For \$remote_addr;
    }
  }
}
CONF
  "$NGINX" -p "$dir/nginx" -c "$dir/nginx/nginx.conf" &
  pids+=($!)
  for _ in $(seq 1 100); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done
  cookie=$(curl -s -i -d login=buyer@demo.zhunong.cn -d password=zhunong2020 "$base/api/auth/login" | awk -F'[:;] *' 'tolower($1)=="set-cookie" {print $2; exit}')
  listing=$(curl -s -X POST -d 'query[q]=bench item' "$base/api/market/catalogue" | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])')
  [ -n "$cookie" ] || { echo "the bench buyer could not log in" >&2; exit 1; }
  wrk -t2 -c"$CONNS" -d2s "$base/market" >/dev/null
  out=$(wrk -t2 -c"$CONNS" -d"${SECS}s" "$base/market")
  market=$(echo "$out" | rps)
  # wrk counts every answer; a run with errors is not a throughput figure.
  if echo "$out" | grep -q "Non-2xx"; then echo "$out" >&2; echo "/market answered errors" >&2; exit 1; fi
  out=$(BENCH_COOKIE="$cookie" BENCH_LISTING="$listing" wrk -t2 -c"$CONNS" -d"${SECS}s" -s scripts/bench-checkout.lua "$base")
  checkout=$(echo "$out" | rps)
  if echo "$out" | grep -q "Non-2xx"; then echo "$out" >&2; echo "checkout answered errors" >&2; exit 1; fi
  echo "    $n process(es): /market $market req/s, checkout $checkout req/s"
  results+=("$n $market $checkout")
  stop_all
done
echo "==> processes, /market req/s, checkout req/s (through nginx, PostgreSQL)"
printf '    %s\n' "${results[@]}"
# The checkout's ceiling on PostgreSQL: the same rows inserted by a raw sqlx loop (one
# connection, one transaction a checkout, no checks), as `make bench` measures it on SQLite.
raw=$("$BIN" bench --raw-inserts 2000 | awk '/raw insert loop/ {print $4}')
echo "    raw sqlx insert loop on PostgreSQL: $raw transactions/s"
python3 - "$raw" "${results[@]}" <<'PY'
import sys
raw = float(sys.argv[1])
for r in sys.argv[2:]:
    n, _, checkout = r.split()
    print(f"==> checkout / raw insert ceiling on PostgreSQL, {n} process(es): {float(checkout) / raw:.1%}")
PY
