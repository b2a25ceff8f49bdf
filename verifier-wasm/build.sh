#!/usr/bin/env bash
# Builds the portal's verifier: daylight-verifier-wasm for wasm32-unknown-unknown, then
# wasm-bindgen --target web into portal/assets/wasm/ (daylight_verifier_wasm.js and
# daylight_verifier_wasm_bg.wasm). The outputs are committed, so a checkout builds the node
# without the WebAssembly toolchain; CI runs this and fails if they changed.
#
# Needs: rustup target add wasm32-unknown-unknown, and the wasm-bindgen CLI of exactly the
# version of the wasm-bindgen crate in Cargo.lock (the two must match):
#   cargo install wasm-bindgen-cli --version <that version> --locked
# Set WASM_BINDGEN to use a wasm-bindgen binary that is not first on PATH.
#
# Uses its own target directory (target/wasm), so it never waits for the host build's lock,
# and size-optimised release settings passed through the environment, so the host's release
# profile is untouched.
set -euo pipefail
cd "$(dirname "$0")/.."

want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
bindgen=${WASM_BINDGEN:-wasm-bindgen}
if ! command -v "$bindgen" >/dev/null; then
    echo "build.sh: $bindgen not found; install it with:" >&2
    echo "  cargo install wasm-bindgen-cli --version $want --locked" >&2
    exit 2
fi
have=$("$bindgen" --version | awk '{print $2}')
if [ "$have" != "$want" ]; then
    echo "build.sh: $bindgen is version $have, but Cargo.lock has wasm-bindgen $want; the two" >&2
    echo "must match. Install it with: cargo install wasm-bindgen-cli --version $want --locked" >&2
    echo "(or point WASM_BINDGEN at a wasm-bindgen $want binary)" >&2
    exit 2
fi

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR_WASM:-target/wasm}
export CARGO_PROFILE_RELEASE_OPT_LEVEL=z
export CARGO_PROFILE_RELEASE_LTO=true
export CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1
export CARGO_PROFILE_RELEASE_DEBUG=0
export CARGO_PROFILE_RELEASE_STRIP=true
export CARGO_PROFILE_RELEASE_PANIC=abort
cargo build --release --target wasm32-unknown-unknown -p daylight-verifier-wasm

out=portal/assets/wasm
mkdir -p "$out"
"$bindgen" --target web --no-typescript --out-dir "$out" \
    "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/daylight_verifier_wasm.wasm"
raw=$(wc -c <"$out/daylight_verifier_wasm_bg.wasm")
gz=$(gzip -9 -c "$out/daylight_verifier_wasm_bg.wasm" | wc -c)
echo "build.sh: $out/daylight_verifier_wasm_bg.wasm is $raw bytes ($gz gzipped)"
