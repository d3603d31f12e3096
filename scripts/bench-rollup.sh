#!/usr/bin/env bash
# Benchmark (not a test) of the officials' dashboard at province scale: a generated province of
# ROLLUP_HOUSEHOLDS households (default 1,000,000) in ROLLUP_VILLAGES villages (default 15,000,
# about Fujian's count) with ROLLUP_MONTHS months of verified income each (default 10: 10 million
# household-months), the roll-ups rebuilt from it, then the dashboard of the province and of one
# county (its own figures, the first page of the regions below, the monthly chart, the
# distribution, the pledges) timed five times after a warm-up, on SQLite and, when
# TEST_DATABASE_URL is set, on PostgreSQL (in a database of its own, dropped after); with the
# plan of the main query (EXPLAIN QUERY PLAN; EXPLAIN ANALYZE on PostgreSQL).
# Uses the release binary (make build first).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
BIN="${ZHUNONG_BIN:-${CARGO_TARGET_DIR:-target}/release/zhunong}"
[ -x "$BIN" ] || { echo "no release binary at $BIN: run make build" >&2; exit 1; }
HOUSEHOLDS="${ROLLUP_HOUSEHOLDS:-1000000}"
VILLAGES="${ROLLUP_VILLAGES:-15000}"
MONTHS="${ROLLUP_MONTHS:-10}"
dir=$(mktemp -d)
pgdb="zhunong_bench_rollup_$$"
cleanup() {
  rm -rf "$dir"
  if [ -n "${TEST_DATABASE_URL:-}" ]; then
    psql "$TEST_DATABASE_URL" -qc "DROP DATABASE IF EXISTS $pgdb" >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT
run() {
  echo "==> $1: $HOUSEHOLDS households in $VILLAGES villages, $MONTHS months of income each"
  DATABASE_URL="$2" ZHUNONG_LOG=warn /usr/bin/time -f "    %es in all, %MkB peak" \
    "$BIN" bench --households "$HOUSEHOLDS" --villages "$VILLAGES" --rollup-months "$MONTHS" --explain
}
run SQLite "sqlite://$dir/rollup.db"
if [ -n "${TEST_DATABASE_URL:-}" ]; then
  psql "$TEST_DATABASE_URL" -qc "CREATE DATABASE $pgdb" >/dev/null
  run PostgreSQL "${TEST_DATABASE_URL%/*}/$pgdb"
fi
