#!/usr/bin/env bash
# Builds the npm package into js/dist: the core with the `wasm` feature for
# wasm32 → wasm-bindgen --target web → wasm-opt (npm binaryen, never Debian's
# 108, which corrupts wasm-bindgen output) → the JS sources and types.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

log "cargo build --target $TARGET --features wasm ($(wasm_mode))"
wasm_cargo rustc --lib --release --features wasm --crate-type cdylib --quiet
WASM="target/$TARGET/release/edgecache.wasm"

rm -rf js/dist
mkdir -p js/dist/wasm
wasm-bindgen --target web --out-name edgecache --out-dir js/dist/wasm "$WASM"
WASM_OPT="${WASM_OPT:-js/node_modules/.bin/wasm-opt}"
"$WASM_OPT" -Oz --enable-bulk-memory --enable-reference-types --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals --enable-multivalue \
  js/dist/wasm/edgecache_bg.wasm -o js/dist/wasm/edgecache_bg.wasm
cp js/src/*.js js/dist/
cp js/src/*.d.ts js/dist/ 2>/dev/null || true
rm -f js/dist/wasm/.gitignore js/dist/wasm/package.json
log "built js/dist ($(stat -c %s js/dist/wasm/edgecache_bg.wasm) bytes of wasm)"
