# 助农集市 — the two commands most people need:
#   make run    install what is missing, build the release app, serve http://127.0.0.1:3000
#   make test   install what is missing, run every test layer (unit, integration on SQLite and,
#               with TEST_DATABASE_URL, PostgreSQL, browser)
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
ENV := . scripts/env.sh &&
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
BIN := $(TARGET_DIR)/release/zhunong

.PHONY: migrations-check crash run test setup setup-test build rust-tests unit integration e2e lint fmt fmt-check clippy wasm-check screenshots bench bench-rollup bench-live bench-scale flamegraph failover-drill audit clean-data

# The demo: `zhunong serve` never loads demo data by itself, so this asks for it explicitly
# (idempotent). A production deploy runs `zhunong create-admin` and `zhunong serve` instead.
run: setup build
	@echo "==> loading the demo data (zhunong seed --demo; a second run adds nothing and moves the demo livestreams to now)"
	$(ENV) $(BIN) seed --demo
	@echo "==> serving on http://$${LEPTOS_SITE_ADDR:-127.0.0.1:3000} (Ctrl-C to stop); payments go to the local fake provider"
	$(ENV) ZHUNONG_FAKE_PAYMENTS=$${ZHUNONG_FAKE_PAYMENTS:-1} \
	  ZHUNONG_TRANSFER_ACCOUNT="$${ZHUNONG_TRANSFER_ACCOUNT:-助农集市演示收款账户|中国农业银行福州分行（演示）|6228480000000000000}" $(BIN) serve

test: setup-test build rust-tests e2e
	@echo "==> all test layers passed"

setup:
	@scripts/setup.sh build

setup-test:
	@scripts/setup.sh test

# After setup (quick when nothing is missing): a pulled change to tools/sitebuild is built first.
build: setup
	@echo "==> zhunong-sitebuild (tools/sitebuild): the WebAssembly split by route, bound, optimised, .br/.gz beside each file; then the server"
	$(ENV) zhunong-sitebuild $$SITE_BUILD_ARGS

# `--no-default-features --features ssr`: exactly what `zhunong-sitebuild` passes for the server,
# so the tests link the library and binary it built instead of building both again.
# One cargo run builds the unit-test harness and the integration binary side by side on two cores.
rust-tests:
	@echo "==> unit tests (domain types and rules), then integration tests (real server on port 0; SQLite, and PostgreSQL when TEST_DATABASE_URL is set)"
	$(ENV) cargo test --release --no-default-features --features ssr --no-fail-fast --lib --test integration

unit:
	@echo "==> unit tests (domain types and rules)"
	$(ENV) cargo test --release --no-default-features --features ssr --lib

integration:
	@echo "==> integration tests (real server on port 0; SQLite, and PostgreSQL when TEST_DATABASE_URL is set)"
	$(ENV) cargo test --release --no-default-features --features ssr --no-fail-fast --test integration

e2e:
	@echo "==> browser tests (headless Chromium)"
	$(ENV) ZHUNONG_BIN=$(abspath $(BIN)) npm --prefix tests/e2e test

lint: migrations-check fmt-check clippy wasm-check

migrations-check:
	@echo "==> migrations that landed are unchanged"
	scripts/check-migrations.sh

fmt:
	$(ENV) cargo fmt --all
	$(ENV) cargo fmt --manifest-path tools/sitebuild/Cargo.toml

fmt-check:
	@echo "==> cargo fmt --check"
	$(ENV) cargo fmt --all -- --check
	$(ENV) cargo fmt --manifest-path tools/sitebuild/Cargo.toml -- --check

clippy:
	@echo "==> clippy (server build, warnings are errors)"
	$(ENV) cargo clippy --release --features ssr --all-targets -- -D warnings
	$(ENV) cargo clippy --release --manifest-path tools/sitebuild/Cargo.toml -- -D warnings

wasm-check:
	@echo "==> cargo check of the browser build (hydrate, wasm32)"
	$(ENV) cargo check --release --lib --no-default-features --features hydrate --target wasm32-unknown-unknown $$WASM_CHECK_ARGS

crash:
	@echo "==> kill -9 under an order-and-payment load: nothing acknowledged may be lost"
	$(ENV) ZHUNONG_BIN=$(abspath $(BIN)) scripts/crash-test.py

bench: build
	scripts/bench.sh

# The officials' dashboard at province scale (1M households; SQLite, and PostgreSQL with
# TEST_DATABASE_URL). Takes a while: it generates 10 million household-months each time.
bench-rollup: build
	scripts/bench-rollup.sh

# 1,000 viewers on a livestream's server-sent events while orders are paid: delay from payment
# to each viewer's counter update (p50, p99) and the server's RSS.
bench-live: setup-test build
	$(ENV) ZHUNONG_BIN=$(abspath $(BIN)) node scripts/bench-live.mjs $${VIEWERS:-1000} $${PAYMENTS:-20}

# axe-core, the Nu HTML checker and LCP/CLS (throttled and not) on the public pages at 375 px.
audit: setup-test build
	npm install --prefix $(HOME)/.cache/zhunong/tools --no-audit --no-fund axe-core@4.14.1 vnu-jar@26.9.27 lighthouse@12.2.3
	ZHUNONG_BIN=$(abspath $(BIN)) node tests/e2e/audit.mjs

# PostgreSQL primary + synchronous hot standby behind nginx's TCP proxy; the primary is stopped
# hard and the standby promoted under an order load: the app reconnects, nothing is lost.
failover-drill: build
	ZHUNONG_BIN=$(abspath $(BIN)) scripts/failover-drill.py

# 1, 2 and 4 app processes behind nginx on one PostgreSQL: /market and checkout req/s.
flamegraph: build
	ZHUNONG_BIN=$(abspath $(BIN)) scripts/flamegraph.sh

bench-scale: build
	ZHUNONG_BIN=$(abspath $(BIN)) scripts/bench-scale.sh

screenshots: build
	$(ENV) ZHUNONG_BIN=$(abspath $(BIN)) node tests/e2e/screenshots.mjs

clean-data:
	rm -rf data/zhunong.db data/zhunong.db-wal data/zhunong.db-shm data/uploads
