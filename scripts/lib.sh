# Shared by the scripts: paths, logging, and the wasm toolchain detection.
# shellcheck shell=bash
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH="$HOME/.cargo/bin:$PATH"
TARGET=wasm32-unknown-unknown
NOSTD_TARGET=wasm32v1-none

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# The wasm-bindgen version pinned in Cargo.lock (the CLI must equal it).
wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock"
}

has_prebuilt_std() { # $1 = target
  local d
  d=$(rustc --print target-libdir --target "$1" 2>/dev/null) || return 1
  compgen -G "$d/libcore-*.rlib" > /dev/null
}

has_debian_build_std() {
  [ -x /usr/bin/rustc ] && [ -x /usr/bin/cargo ] && [ -e /usr/bin/rust-lld ] &&
    [ -f "$(/usr/bin/rustc --print sysroot)/lib/rustlib/src/rust/library/Cargo.lock" ]
}

# "rustup" when rustup's prebuilt wasm32 std is there, else "debian" (build-std).
wasm_mode() {
  if [ -n "${WASM_TOOLCHAIN:-}" ]; then echo "$WASM_TOOLCHAIN"
  elif has_prebuilt_std "$TARGET"; then echo rustup
  elif has_debian_build_std; then echo debian
  else echo none; fi
}

# cargo for the wasm target, on whichever path this machine has.
wasm_cargo() { # cargo subcommand and args; -Zbuild-std added on the Debian path
  local sub=$1; shift
  case "$(wasm_mode)" in
    rustup) cargo "$sub" --target "$TARGET" "$@" ;;
    debian) RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1 \
              /usr/bin/cargo "$sub" --target "$TARGET" -Zbuild-std=std,panic_abort "$@" ;;
    *) echo "no wasm32 toolchain: run scripts/setup.sh" >&2; return 1 ;;
  esac
}
