#!/usr/bin/env bash
# Fuzzes the core with cargo fuzz (libFuzzer, nightly) for SECONDS in all
# (default 120), split between the targets: `ops` (operation sequences) and
# `snapshot` (the snapshot parser and loader). `./scripts/fuzz.sh 3600` for
# a long run. The test command runs it for 30 s. scripts/setup.sh installs
# the nightly toolchain and cargo-fuzz.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT/fuzz"
SECONDS_TO_RUN=${1:-120}
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz > /dev/null || cargo install cargo-fuzz --locked
HALF=$(( (SECONDS_TO_RUN + 1) / 2 ))
cargo +nightly fuzz run ops -- -max_total_time="$HALF" -max_len=512
cargo +nightly fuzz run snapshot -- -max_total_time="$HALF" -max_len=1024
