#!/usr/bin/env bash
# HTML report benchmark: `gapguard scan --output html` of the scan corpus (1,000 and 5,000
# Deployments), and the page loaded in Debian's Chromium. Usage: bash bench/report/run.sh
# Environment: RUNS (3), CASES (e.g. "1000"). About 3 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -x /usr/bin/chromium ] || bash scripts/install-test-tools.sh
npm run --silent build
exec node dist/bench/report/run.js
