# Sourced by the Makefile before every cargo command: puts the project's tools on PATH and
# selects the toolchain that scripts/setup.sh found able to build WebAssembly.
#   rustup mode: the toolchain on PATH has the wasm32-unknown-unknown target.
#   debian mode: Debian's rustc-web (first on PATH) builds std for wasm32 with -Zbuild-std.
ZHUNONG_CACHE="${ZHUNONG_CACHE:-$HOME/.cache/zhunong}"
export ZHUNONG_CACHE
export PATH="$ZHUNONG_CACHE/tools/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
# Leptos bakes this into the server at compile time (the names under /pkg/); every cargo build
# (the site's, the tests', clippy) needs the same value or it would rebuild leptos.
export LEPTOS_OUTPUT_NAME=zhunong
ZHUNONG_TOOLCHAIN="${ZHUNONG_TOOLCHAIN:-$(cat "$ZHUNONG_CACHE/toolchain" 2>/dev/null || echo rustup)}"
if [ "$ZHUNONG_TOOLCHAIN" = debian ]; then
  # Debian's cargo and rustc first, but the pinned npm tools before any apt-installed
  # esbuild or binaryen (Debian's binaryen 108 breaks hydration).
  export PATH="$ZHUNONG_CACHE/tools/node_modules/.bin:/usr/bin:$PATH"
  export RUSTC_BOOTSTRAP=1
  SITE_BUILD_ARGS="--lib-cargo-arg -Zbuild-std=std,panic_abort"
  WASM_CHECK_ARGS="-Zbuild-std=std,panic_abort"
else
  SITE_BUILD_ARGS=""
  WASM_CHECK_ARGS=""
fi
export ZHUNONG_TOOLCHAIN SITE_BUILD_ARGS WASM_CHECK_ARGS
