# Sourced by the Makefile before every cargo command: puts the project's tools on PATH and
# selects the toolchain that scripts/setup.sh found able to build WebAssembly.
#   rustup mode: the toolchain on PATH has the wasm32-unknown-unknown target.
#   debian mode: Debian's rustc-web (first on PATH) builds std for wasm32 with -Zbuild-std.
ZHUNONG_CACHE="${ZHUNONG_CACHE:-$HOME/.cache/zhunong}"
export ZHUNONG_CACHE
export PATH="$ZHUNONG_CACHE/tools/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
# cargo-leptos bakes this into the server at compile time; plain cargo builds need the same value
# or they would rebuild leptos.
export LEPTOS_OUTPUT_NAME=zhunong
ZHUNONG_TOOLCHAIN="${ZHUNONG_TOOLCHAIN:-$(cat "$ZHUNONG_CACHE/toolchain" 2>/dev/null || echo rustup)}"
if [ "$ZHUNONG_TOOLCHAIN" = debian ]; then
  export PATH="/usr/bin:$PATH"
  export RUSTC_BOOTSTRAP=1
  LEPTOS_LIB_ARGS="--lib-cargo-args=-Zbuild-std=std,panic_abort"
  WASM_CHECK_ARGS="-Zbuild-std=std,panic_abort"
else
  LEPTOS_LIB_ARGS=""
  WASM_CHECK_ARGS=""
fi
export ZHUNONG_TOOLCHAIN LEPTOS_LIB_ARGS WASM_CHECK_ARGS
