#!/usr/bin/env bash
# Installs what building (and, with `test`, testing) 助农集市 needs. Each step says what it does
# and skips what is already done, so a re-run is quick.
#   scripts/setup.sh build   toolchain able to build wasm32, the site's build tool, wasm-opt, esbuild
#   scripts/setup.sh test    the above, plus Chromium, CJK fonts and the browser-test packages
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-build}"

BINARYEN_VERSION=132.0.0       # never Debian's binaryen 108: its wasm-opt output breaks hydration
ESBUILD_VERSION=0.25.9
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

# --- 2. the site's build tool and its helpers (no downloads at build time) ---------------------
# tools/sitebuild: splits, binds (wasm-bindgen as a library, the version the app pins), then
# runs wasm-opt and esbuild. Rebuilt when its source changes (a fingerprint of its files).
step "zhunong-sitebuild (tools/sitebuild)"
app_wb=$(sed -n 's/^wasm-bindgen = { version = "=\([0-9.]*\)".*/\1/p' Cargo.toml)
tool_wb=$(sed -n 's/^wasm-bindgen-cli-support = "=\([0-9.]*\)"/\1/p' tools/sitebuild/Cargo.toml)
if [ -z "$app_wb" ] || [ "$app_wb" != "$tool_wb" ]; then
  echo "wasm-bindgen '$app_wb' (Cargo.toml) and wasm-bindgen-cli-support '$tool_wb' (tools/sitebuild/Cargo.toml) must be pinned to one version" >&2
  exit 1
fi
sum=$( (cd tools/sitebuild && find Cargo.toml Cargo.lock src -type f -print0 | LC_ALL=C sort -z \
  | xargs -0 sha256sum) | sha256sum | cut -c1-16)
bin_dir="${CARGO_HOME:-$HOME/.cargo}/bin"
if [ -x "$bin_dir/zhunong-sitebuild" ] && [ "$(cat "$ZHUNONG_CACHE/sitebuild.sum" 2>/dev/null)" = "$sum" ]; then
  ok "already installed"
else
  ok "building it (about 3 minutes on two cores, once)"
  # Its own target directory: a shared CARGO_TARGET_DIR would mix its profile with the app's.
  CARGO_TARGET_DIR="$ZHUNONG_CACHE/build/sitebuild" \
    cargo install --path tools/sitebuild --locked --force --root "${CARGO_HOME:-$HOME/.cargo}"
  echo "$sum" > "$ZHUNONG_CACHE/sitebuild.sum"
fi

if ! command -v npm >/dev/null; then apt_install nodejs npm; fi
npm_tool() { # package version: installed into $ZHUNONG_CACHE/tools, its commands on PATH
  step "$1 $2 (npm)"
  if grep -qs "\"version\": \"$2\"" "$ZHUNONG_CACHE/tools/node_modules/$1/package.json"; then
    ok "already installed"
  else
    npm install --prefix "$ZHUNONG_CACHE/tools" --no-audit --no-fund "$1@$2"
  fi
}
npm_tool binaryen "$BINARYEN_VERSION"   # wasm-opt
npm_tool esbuild "$ESBUILD_VERSION"     # minifies the glue script and the stylesheet

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
