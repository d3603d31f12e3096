#!/usr/bin/env bash
# Benchmark (not a test): a generated catalogue of 10,000 listings and 100,000 households, then
# wrk on loopback against
#   1. the catalogue page (/market) for an anonymous visitor (served from the page cache once
#      rendered) and for a signed-in buyer (rendered every time), with their ceiling: the same
#      HTML served by axum as a static file;
#      (and, for information, a search through the full-text index);
#   2. the checkout server function, one-line checkouts of 64 buyers in turn, with its ceiling:
#      a raw sqlx loop inserting the same rows without any checks.
# Prints requests/s for each and the two ratios. Uses the release binary (make build first).
# BENCH_SECONDS (default 10) and BENCH_CONNECTIONS (default 32) tune the load.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
BIN="${ZHUNONG_BIN:-${CARGO_TARGET_DIR:-target}/release/zhunong}"
SECS="${BENCH_SECONDS:-10}"
CONNS="${BENCH_CONNECTIONS:-32}"
[ -x "$BIN" ] || { echo "no release binary at $BIN: run make build" >&2; exit 1; }
if ! command -v wrk >/dev/null; then
  echo "==> apt-get install wrk"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk
fi
dir=$(mktemp -d)
export DATABASE_URL="sqlite://$dir/bench.db"
cleanup() { [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null; rm -rf "$dir" target/site/bench-static.html; }
trap cleanup EXIT

echo "==> generating the catalogue (100,000 households, 10,000 listings)"
/usr/bin/time -f "    %es, %MkB peak" "$BIN" bench --households 100000 --listings 10000

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ZHUNONG_LOG=warn ZHUNONG_MAX_UNPAID_CHECKOUTS=1000000 LEPTOS_SITE_ADDR="127.0.0.1:$port" "$BIN" serve &
pid=$!
base="http://127.0.0.1:$port"
for _ in $(seq 1 50); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.2; done

rps() { awk '/Requests\/sec/ {print $2}'; }
curl -sf "$base/market" -o target/site/bench-static.html
echo "==> catalogue page: $(wc -c < target/site/bench-static.html) bytes of HTML"
ssr=$(wrk -t2 -c"$CONNS" -d"${SECS}s" "$base/market" | rps)
static=$(wrk -t2 -c"$CONNS" -d"${SECS}s" "$base/bench-static.html" | rps)
echo "    /market for an anonymous visitor (page cache, ZHUNONG_PAGE_CACHE_MS): $ssr req/s; the same HTML as a static file: $static req/s"
# A search through the trigram index ("货品123": 压测货品123, 压测货品1230 … of 10,000 listings).
search=$(wrk -t2 -c"$CONNS" -d"${SECS}s" "$base/market?q=%E8%B4%A7%E5%93%81123" | rps)
echo "    server-rendered search /market?q=货品123: $search req/s"

cookie=$(curl -s -i -d login=buyer@demo.zhunong.cn -d password=zhunong2020 "$base/api/auth/login" | awk -F'[:;] *' 'tolower($1)=="set-cookie" {print $2; exit}')
listing=$(curl -s -X POST -d 'query[q]=bench item' "$base/api/market/catalogue" | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])')
# Signed in, every request is rendered afresh (the page cache serves anonymous visitors only).
signed=$(wrk -t2 -c"$CONNS" -d"${SECS}s" -H "Cookie: $cookie" "$base/market" | rps)
echo "    /market signed in (rendered every time): $signed req/s"
# An official's pages on this data set, rendered every time (signed in), at a moderate load:
# one household's income record and the county page, p99 latency from wrk --latency.
official=$(curl -s -i -d login=gov.zhenghe@demo.zhunong.cn -d password=zhunong2020 "$base/api/auth/login" | awk -F'[:;] *' 'tolower($1)=="set-cookie" {print $2; exit}')
household=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT MAX(id) FROM households WHERE region_code LIKE ?", ("350725%",)).fetchone()[0])' "$dir/bench.db")
p99() { awk '$1=="99%" {print $2}'; }
income_p99=$(wrk -t1 -c4 -d"${SECS}s" --latency -H "Cookie: $official" "$base/households/$household" | p99)
county_p99=$(wrk -t1 -c4 -d"${SECS}s" --latency -H "Cookie: $official" "$base/county/350725" | p99)
echo "    income page of household $household, p99 at 4 connections: $income_p99; county page: $county_p99"
# Checkouts from 64 buyers in turn (each with a session made by `zhunong bench --buyers`).
"$BIN" bench --buyers 64 | grep '^zn_session=' > "$dir/cookies.txt"
checkout=$(BENCH_COOKIES="$dir/cookies.txt" BENCH_LISTING="$listing" wrk -t2 -c"$CONNS" -d"${SECS}s" -s scripts/bench-checkout.lua "$base" | rps)
echo "    checkout server function: $checkout req/s"
rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
raw=$("$BIN" bench --raw-inserts 3000 | awk '/raw insert loop/ {print $4}')
echo "    raw sqlx insert loop: $raw transactions/s"
python3 - "$ssr" "$static" "$checkout" "$raw" "$rss" "$signed" <<'PY'
import sys
ssr, static, checkout, raw, rss, signed = map(float, sys.argv[1:])
print(f"==> catalogue, anonymous / static ceiling: {ssr / static:.1%}")
print(f"==> catalogue, signed in / static ceiling: {signed / static:.1%}")
print(f"==> checkout / raw insert ceiling: {checkout / raw:.1%}")
print(f"==> server RSS after the runs: {rss / 1024:.1f} MB")
PY
