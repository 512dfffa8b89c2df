#!/usr/bin/env bash
# Scan benchmark: gapguard scan --output json against js-yaml alone, interleaved. Usage: bash bench/scan/run.sh
# Environment: RUNS (5), STARTUP_RUNS (15), CASES (e.g. "1000,5000"). About 3 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v /usr/bin/time > /dev/null || { echo "bench/scan needs GNU time (Debian package: time)" >&2; exit 1; }
npm run --silent build
exec node dist/bench/scan/run.js
