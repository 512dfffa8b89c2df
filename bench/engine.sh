#!/usr/bin/env bash
# Engine benchmark on one core. Usage: bash bench/engine.sh
set -euo pipefail
cd "$(dirname "$0")/.."
npm run --silent build
exec taskset -c 0 node dist/bench/engine.js
