#!/usr/bin/env bash
# The main job: install what is missing, build the package, and serve the
# demo page from www/ on 127.0.0.1 (the URL is printed). Ctrl-C stops it.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
./scripts/setup.sh
./scripts/build.sh
exec node scripts/serve.mjs
