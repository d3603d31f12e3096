#!/usr/bin/env bash
# Profile (not a test): where the server's time goes while it renders /market for a signed-in
# buyer (the page cache serves only anonymous visitors, so every request here is a full render),
# or with PROFILE_TARGET=checkout while one buyer places checkouts (scripts/bench-checkout.lua)
# on the bench data set (10,000 listings, 100,000 households, SQLite). `perf record` samples
# the release binary under `wrk -c8`; inferno folds the stacks into target/flamegraph.svg and
# the script prints the functions with the most samples (self time, then inclusive).
# Needs perf (Debian's linux-perf) and inferno (`cargo install inferno`, done here if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
BIN="${ZHUNONG_BIN:-${CARGO_TARGET_DIR:-target}/release/zhunong}"
SECS="${PROFILE_SECONDS:-5}"
OUT="${PROFILE_OUT:-target/flamegraph.svg}"
[ -x "$BIN" ] || { echo "no release binary at $BIN: run make build" >&2; exit 1; }
command -v perf >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q linux-perf
command -v wrk >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk
command -v inferno-flamegraph >/dev/null || cargo install --locked inferno --version 0.12.8
dir=$(mktemp -d)
export DATABASE_URL="sqlite://$dir/bench.db"
cleanup() { [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
"$BIN" bench --households 100000 --listings 10000 >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ZHUNONG_LOG=warn ZHUNONG_MAX_UNPAID_CHECKOUTS=1000000 LEPTOS_SITE_ADDR="127.0.0.1:$port" "$BIN" serve &
pid=$!
base="http://127.0.0.1:$port"
for _ in $(seq 1 50); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.2; done
cookie=$(curl -s -i -d login=buyer@demo.zhunong.cn -d password=zhunong2020 "$base/api/auth/login" | awk -F'[:;] *' 'tolower($1)=="set-cookie" {print $2; exit}')
if [ "${PROFILE_TARGET:-market}" = checkout ]; then
  what="checkout, one buyer, fresh key each"
  listing=$(curl -s -X POST -d 'query[q]=bench item' "$base/api/market/catalogue" | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])')
  BENCH_COOKIE="$cookie" BENCH_LISTING="$listing" wrk -t1 -c8 -d"$((SECS + 4))s" -s scripts/bench-checkout.lua "$base" > "$dir/wrk.txt" &
else
  what="signed-in /market"
  wrk -t1 -c8 -d"$((SECS + 4))s" -H "Cookie: $cookie" "$base/market" > "$dir/wrk.txt" &
fi
wrkpid=$!
sleep 2
perf record -F 199 --call-graph dwarf,8192 -p "$pid" -o "$dir/perf.data" -- sleep "$SECS" 2>/dev/null
wait "$wrkpid"
echo "==> under profile: $(awk '/Requests\/sec/ {print $2}' "$dir/wrk.txt") req/s ($what, 8 connections, perf sampling)"
perf script -i "$dir/perf.data" 2>/dev/null | inferno-collapse-perf > "$dir/folded.txt"
mkdir -p "$(dirname "$OUT")"
inferno-flamegraph --title "zhunong: $what" < "$dir/folded.txt" > "$OUT"
echo "==> $OUT"
python3 - "$dir/folded.txt" <<'PY'
import sys, collections, re
self_t, incl = collections.Counter(), collections.Counter()
total = 0
for line in open(sys.argv[1]):
    stack, _, n = line.rpartition(' ')
    n = int(n); total += n
    frames = [re.sub(r'::h[0-9a-f]{16}$', '', f) for f in stack.split(';')]
    self_t[frames[-1]] += n
    for f in set(frames):
        incl[f] += n
print(f"{total} samples. Most self time:")
for f, n in self_t.most_common(15):
    print(f"  {n / total:6.1%}  {f[:150]}")
print("Most inclusive time (our code and the libraries that matter):")
shown = 0
for f, n in incl.most_common(400):
    if re.search(r'zhunong|sqlx|tachys|leptos|serde|sqlite|argon|tokio::runtime::task', f) and shown < 20:
        print(f"  {n / total:6.1%}  {f[:150]}")
        shown += 1
PY
