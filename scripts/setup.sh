#!/usr/bin/env bash
# Installs what building (and, with `test`, testing) 助农集市 needs. Each step says what it does
# and skips what is already done, so a re-run is quick.
#   scripts/setup.sh build   toolchain able to build wasm32, cargo-leptos, wasm-bindgen, wasm-opt
#   scripts/setup.sh test    the above, plus Chromium, CJK fonts and the browser-test packages
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-build}"

CARGO_LEPTOS_VERSION=0.3.11
WASM_BINDGEN_VERSION=0.2.130   # must equal the wasm-bindgen pin in Cargo.toml
BINARYEN_VERSION=132.0.0       # never Debian's binaryen 108: its wasm-opt output breaks hydration
ZHUNONG_CACHE="${ZHUNONG_CACHE:-$HOME/.cache/zhunong}"
mkdir -p "$ZHUNONG_CACHE/tools"
export PATH="$ZHUNONG_CACHE/tools/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }
ok() { printf '    %s\n' "$*"; }

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then
    step "apt-get update"
    $SUDO apt-get update -q
    apt_updated=1
  fi
  step "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "$@"
}
missing_pkgs() {
  local out=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || out+=("$p")
  done
  echo "${out[@]:-}"
}

# --- 1. a Rust toolchain that can target wasm32 ---------------------------------------------
step "Rust toolchain for the server and for WebAssembly"
if ! command -v cargo >/dev/null && ! [ -x /usr/bin/cargo ]; then
  echo "No Rust toolchain found. Install one (https://rustup.rs) and re-run." >&2
  exit 1
fi
has_wasm_std() {
  local sysroot
  sysroot="$(rustc --print sysroot 2>/dev/null)" || return 1
  [ -d "$sysroot/lib/rustlib/wasm32-unknown-unknown/lib" ]
}
mode=""
if [ "${ZHUNONG_TOOLCHAIN:-}" = debian ]; then
  ok "ZHUNONG_TOOLCHAIN=debian: using Debian's rustc-web with -Zbuild-std"
elif command -v rustc >/dev/null && has_wasm_std; then
  mode=rustup
  ok "the toolchain on PATH has wasm32-unknown-unknown"
elif command -v rustup >/dev/null && ! [ -f "$ZHUNONG_CACHE/rustup-target-unavailable" ]; then
  ok "trying: rustup target add wasm32-unknown-unknown (60 s at most)"
  if timeout 60 rustup target add wasm32-unknown-unknown; then
    mode=rustup
  else
    ok "rustup could not download the target; using Debian's rustc-web with -Zbuild-std"
    touch "$ZHUNONG_CACHE/rustup-target-unavailable"
  fi
fi
if [ -z "$mode" ]; then
  mode=debian
  pkgs=$(missing_pkgs rustc-web cargo-web rust-web-src rust-web-llvm lld-22 rust-web-clippy rustfmt-web)
  if [ -n "$pkgs" ]; then apt_install $pkgs; else ok "Debian rustc-web is installed"; fi
fi
echo "$mode" > "$ZHUNONG_CACHE/toolchain"
# shellcheck source=scripts/env.sh
. scripts/env.sh
ok "using $(cargo --version) ($mode mode)"

# --- 2. cargo-leptos and its helpers (no downloads at build time) ------------------------------
step "cargo-leptos $CARGO_LEPTOS_VERSION"
if cargo leptos --version 2>/dev/null | grep -q " $CARGO_LEPTOS_VERSION\$"; then
  ok "already installed"
else
  ok "building it (5 to 15 minutes on two cores, once)"
  # A build tool, not the app: opt-level 1 without LTO halves its compile time, and what it
  # does at build time (splitting, hashing, compressing) stays a few seconds.
  export CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_DEBUG=0
  if ! cargo install cargo-leptos --locked --version "$CARGO_LEPTOS_VERSION" --features no_downloads; then
    # Its lockfile names cargo-util-schemas 0.14.2, which needs rustc 1.96. On an older rustc,
    # build the same source (now unpacked in cargo's registry) with only that crate moved back
    # to 0.14.1, the newest release this rustc supports; every other version stays as locked.
    ok "retrying with cargo-util-schemas 0.14.1 for $(rustc --version)"
    src=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/cargo-leptos-"$CARGO_LEPTOS_VERSION" | head -n 1)
    work="$ZHUNONG_CACHE/build/cargo-leptos-$CARGO_LEPTOS_VERSION"
    rm -rf "$work" && mkdir -p "$ZHUNONG_CACHE/build" && cp -r "$src" "$work"
    (cd "$work" && cargo update -p cargo-util-schemas --precise 0.14.1)
    cargo install --path "$work" --locked --features no_downloads
  fi
  unset CARGO_PROFILE_RELEASE_LTO CARGO_PROFILE_RELEASE_CODEGEN_UNITS \
    CARGO_PROFILE_RELEASE_OPT_LEVEL CARGO_PROFILE_RELEASE_DEBUG
fi

step "wasm-bindgen-cli $WASM_BINDGEN_VERSION"
if wasm-bindgen --version 2>/dev/null | grep -q " $WASM_BINDGEN_VERSION"; then
  ok "already installed"
else
  # Not --locked: its lockfile names a webpki-roots release the registry no longer has.
  # On an older rustc, pick the newest dependency releases it supports.
  CARGO_RESOLVER_INCOMPATIBLE_RUST_VERSIONS=fallback CARGO_PROFILE_RELEASE_OPT_LEVEL=1 \
    CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

step "wasm-opt (npm binaryen@$BINARYEN_VERSION)"
if ! command -v npm >/dev/null; then apt_install nodejs npm; fi
if [ -f "$ZHUNONG_CACHE/tools/node_modules/binaryen/package.json" ] && grep -q "\"version\": \"$BINARYEN_VERSION\"" "$ZHUNONG_CACHE/tools/node_modules/binaryen/package.json"; then
  ok "already installed"
else
  npm install --prefix "$ZHUNONG_CACHE/tools" --no-audit --no-fund "binaryen@$BINARYEN_VERSION"
fi

# --- 3. for the tests -------------------------------------------------------------------------
if [ "$what" = test ]; then
  step "Chromium and CJK fonts for the browser tests, nginx for the two-process test and the failover drill"
  pkgs=$(missing_pkgs chromium fonts-noto-cjk nginx-light libnginx-mod-stream)
  if [ -n "$pkgs" ]; then apt_install $pkgs; else ok "already installed"; fi
  step "browser-test packages (tests/e2e)"
  want=$(sed -n 's/.*"playwright-core": "\(.*\)".*/\1/p' tests/e2e/package.json)
  if grep -qs "\"version\": \"$want\"" tests/e2e/node_modules/playwright-core/package.json; then
    ok "already installed"
  else
    (cd tests/e2e && npm ci --no-audit --no-fund)
  fi
fi
step "setup done"
