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
cp -r js/src/. js/dist/
rm -f js/dist/wasm/.gitignore js/dist/wasm/package.json
# The demo's bundled trace (cache2k web07, CC BY 4.0): generated, not committed.
TRACE="$ROOT/../shared/traces/cache2k-web07.trace.xz"
mkdir -p www/traces
if [ -f "$TRACE" ] && [ ! -s www/traces/web07.bin ]; then xz -dc "$TRACE" > www/traces/web07.bin; fi
log "built js/dist ($(stat -c %s js/dist/wasm/edgecache_bg.wasm) bytes of wasm)"
