#!/usr/bin/env bash
# Installs whatever the build and the tests need, idempotently: each step
# checks first and skips what is already there. Safe to run on every build.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

apt_updated=0
apt_install() {
  if [ $apt_updated = 0 ]; then apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" > /dev/null
}

# 1. The wasm32 target: rustup's prebuilt std where rustup can fetch it,
#    otherwise Debian's Rust with its std sources (built with -Zbuild-std).
if ! has_prebuilt_std "$TARGET"; then
  log "rustup target add $TARGET $NOSTD_TARGET"
  timeout 180 rustup target add "$TARGET" "$NOSTD_TARGET" || true
fi
if ! has_prebuilt_std "$TARGET" && ! has_debian_build_std; then
  log "rustup could not add $TARGET: installing Debian's rustc-web toolchain (build-std path)"
  # lld-22 is not a dependency of rust-web-llvm, but /usr/bin/rust-lld points to it.
  apt_install rustc-web cargo-web rust-web-src rust-web-llvm lld-22
fi
if ! has_prebuilt_std "$NOSTD_TARGET" && has_prebuilt_std "$TARGET"; then
  timeout 180 rustup target add "$NOSTD_TARGET" || true
fi
[ "$(wasm_mode)" != none ] || { echo "no wasm32 toolchain could be installed" >&2; exit 1; }
log "wasm toolchain: $(wasm_mode)"

# 2. rustfmt and clippy (the lint step of the tests).
if ! cargo fmt --version > /dev/null 2>&1 || ! cargo clippy --version > /dev/null 2>&1; then
  timeout 180 rustup component add rustfmt clippy || true
fi

# 3. wasm-bindgen-cli at exactly the version in Cargo.lock (a 7-minute build:
#    skipped when that version is installed). No --locked: its lockfile pins a
#    webpki-roots release the registry does not have.
want=$(wasm_bindgen_version)
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $want" ]; then
  log "cargo install wasm-bindgen-cli $want (about 7 minutes on 2 cores)"
  cargo install wasm-bindgen-cli --version "$want" --force
fi

# 4. Chromium and its driver for the browser tests (Debian's; npm's browser
#    downloads cannot reach their hosts from here).
if ! command -v chromium > /dev/null || ! command -v chromedriver > /dev/null; then
  log "apt-get install chromium chromium-driver"
  apt_install chromium chromium-driver
fi

# 4b. redis-server for the Redis tier's tests (started on a free loopback port
#     by the tests themselves; the packaged service is not used).
if ! command -v redis-server > /dev/null; then
  log "apt-get install redis-server"
  apt_install redis-server
  { systemctl stop redis-server || service redis-server stop; } > /dev/null 2>&1 || true
fi

# 4c. The proxy benchmark's peers and load generator (bench/proxy-compare.mjs,
#     not part of the tests): nginx, Varnish and wrk. The benchmark starts its
#     own nginx and varnishd on free loopback ports; the packaged services
#     (nginx on port 80, varnish on 6081) are stopped.
if ! command -v nginx > /dev/null || ! command -v varnishd > /dev/null || ! command -v wrk > /dev/null; then
  log "apt-get install nginx-light varnish wrk (proxy benchmark)"
  apt_install nginx-light varnish wrk
  for service in nginx varnish varnishncsa; do
    { systemctl stop "$service" || service "$service" stop; } > /dev/null 2>&1 || true
  done
fi

# 5. The fuzz step of the tests: cargo fuzz needs the nightly toolchain
#    (rustup's, minimal profile) and cargo-fuzz (crates.io); libFuzzer is
#    built by libfuzzer-sys with the system C++ compiler.
if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  log "rustup toolchain install nightly (cargo fuzz)"
  timeout 300 rustup toolchain install nightly --profile minimal
fi
if ! command -v cargo-fuzz > /dev/null; then
  log "cargo install cargo-fuzz (about 3 minutes on 2 cores)"
  cargo install cargo-fuzz --locked
fi
if ! command -v c++ > /dev/null; then
  log "apt-get install g++ (libFuzzer)"
  apt_install g++
fi

# 6. npm dependencies, pinned exactly in js/package-lock.json.
if [ ! -x js/node_modules/.bin/wasm-opt ] || [ js/package-lock.json -nt js/node_modules/.package-lock.json ]; then
  log "npm ci (js/)"
  (cd js && npm ci --no-audit --no-fund --loglevel=error)
fi
log "setup done"
