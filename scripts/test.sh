#!/usr/bin/env bash
# The one test command (README; .ci/run calls exactly this). Installs what is
# missing, builds, runs every suite in every runtime, and ends with one line
# "N passed, M failed" that adds them all up. A runtime that is missing or
# fails to start counts as a failure; nothing is skipped silently.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

"$ROOT/scripts/setup.sh" || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }

LOGS="$ROOT/target/test-logs"
mkdir -p "$LOGS"
PASSED=0
FAILED=0
SUMMARY=()
export DENO_NO_UPDATE_CHECK=1 NO_COLOR=1 CARGO_TERM_COLOR=never

# A step that runs longer than this is killed (with everything it started:
# timeout signals its whole process group) and counted as a failure, so a
# hung server or peer costs one step, not the CI budget.
STEP_TIMEOUT=${EDGECACHE_STEP_TIMEOUT:-20m}

# run NAME PARSER CMD...: runs CMD, prints its output, adds the counts PARSER
# reads from it. PARSER is one of: cargo, node, deno, plain, exit. CMD may be
# a function of this file (run through bash, which timeout needs).
run() {
  local name=$1 parser=$2; shift 2
  local log="$LOGS/$name.log" start=$SECONDS rc p=0 f=0
  log "$name"
  if declare -F "$1" > /dev/null; then
    set -- bash -c "source \"\$1\"; shift; $(declare -f "$1"); \"\$@\"" bash "$ROOT/scripts/lib.sh" "$@"
  fi
  timeout --kill-after=30s "$STEP_TIMEOUT" "$@" > "$log" 2>&1
  rc=$?
  case $rc in
    124) echo "$name: timed out after $STEP_TIMEOUT, killed" >> "$log" ;;
    137) echo "$name: killed by SIGKILL (still running 30 s after the $STEP_TIMEOUT timeout, or the OOM killer)" >> "$log" ;;
  esac
  cat "$log"
  case $parser in
    cargo) p=$(grep -Eo 'test result: [a-zA-Z]+\. [0-9]+ passed' "$log" | awk '{s+=$4} END {print s+0}')
           f=$(grep -Eo '[0-9]+ failed;' "$log" | awk '{s+=$1} END {print s+0}') ;;
    node)  p=$(grep -E '^# pass [0-9]+' "$log" | awk '{s+=$3} END {print s+0}')
           f=$(grep -E '^# fail [0-9]+' "$log" | awk '{s+=$3} END {print s+0}') ;;
    deno)  p=$(grep -Eo '\| [0-9]+ passed' "$log" | awk '{s+=$2} END {print s+0}')
           f=$(grep -Eo '\| [0-9]+ failed' "$log" | awk '{s+=$2} END {print s+0}') ;;
    plain) p=$(grep -E '^[a-z0-9 -]+: [0-9]+ passed, [0-9]+ failed$' "$log" | tail -1 | sed -E 's/.*: ([0-9]+) passed.*/\1/')
           f=$(grep -E '^[a-z0-9 -]+: [0-9]+ passed, [0-9]+ failed$' "$log" | tail -1 | sed -E 's/.*passed, ([0-9]+) failed/\1/')
           p=${p:-0}; f=${f:-0} ;;
    exit)  if [ $rc = 0 ]; then p=1; else f=1; fi ;;
  esac
  if [ $rc = 124 ] || [ $rc = 137 ]; then name="$name (killed)"; fi
  # A non-zero exit with no failure counted (crash, missing runtime, a step
  # killed by the timeout) is a failure.
  if [ $rc != 0 ] && [ "$f" = 0 ]; then f=1; fi
  if [ $rc = 0 ] && [ "$p" = 0 ] && [ "$f" = 0 ]; then f=1; echo "ran no test"; fi
  PASSED=$((PASSED + p))
  FAILED=$((FAILED + f))
  SUMMARY+=("$(printf '%-22s %4d passed, %3d failed  (%ds)' "$name" "$p" "$f" $((SECONDS - start)))")
}

nostd_build() {
  case "$(wasm_mode)" in
    rustup) cargo build --lib --release --target "$NOSTD_TARGET" ;;
    debian) RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1 \
              /usr/bin/cargo build --lib --release --target "$NOSTD_TARGET" -Zbuild-std=core,alloc ;;
  esac
}

run rust-fmt         exit  cargo fmt --check
run rust-clippy      exit  cargo clippy --all-targets --features std -- -D warnings
# The bindings lint on the host target: identical code, and it works on both
# toolchain paths (Debian ships no clippy for its build-std toolchain).
run rust-clippy-wasm exit  cargo clippy --lib --features wasm -- -D warnings
run rust-core        cargo cargo test --features std
run no-std-build     exit  nostd_build
run fuzz             exit  ./scripts/fuzz.sh 30
run wasm-node        cargo wasm_cargo test --features wasm --test web
run wasm-chromium    cargo env WASM_BINDGEN_USE_BROWSER=1 CHROMEDRIVER=/usr/bin/chromedriver bash -c "source scripts/lib.sh; wasm_cargo test --features wasm --test web"
run build-package    exit  ./scripts/build.sh
run js-node          node  node --test tests/runtimes/node.test.mjs
run js-deno          deno  js/node_modules/.bin/deno test --no-check tests/runtimes/deno.test.mjs
run js-workerd       plain node tests/runtimes/workerd.run.mjs
run js-chromium      plain node tests/runtimes/browser.run.mjs
run fetch-node       node  node --test tests/runtimes/fetch.node.test.mjs
run fetch-deno       deno  node tests/runtimes/fetch.deno.run.mjs
run fetch-workerd    plain node tests/runtimes/fetch.workerd.run.mjs
run tier-memory      node  node --test tests/runtimes/tier.node.test.mjs
run tier-redis       node  node --test tests/tiers/redis.test.mjs
run tier-cloudflare  node  node --test tests/tiers/cloudflare.test.mjs
run tier-deno        deno  js/node_modules/.bin/deno test --unstable-kv --no-check --allow-read --allow-write --allow-run --allow-env tests/tiers/deno.test.mjs
run prometheus       node  node --test tests/integrations/prometheus.test.mjs
run otel             node  node --test tests/integrations/otel.test.mjs
run hono-node        node  node --test tests/integrations/hono.test.mjs
run hono-deno        deno  js/node_modules/.bin/deno test --no-check --allow-net=127.0.0.1 --allow-read tests/integrations/hono.test.mjs
run hono-workerd     node  node --test tests/integrations/hono.workerd.test.mjs
run proxy            node  node --test tests/proxy.test.mjs
run worker-example   node  node --test tests/worker-example.test.mjs
run demo-page        node  node --test tests/demo.test.mjs
run types            exit  js/node_modules/.bin/tsc -p tests/types/tsconfig.json
run install          plain node tests/install.test.mjs

echo
echo "per suite:"
printf '  %s\n' "${SUMMARY[@]}"
echo
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
