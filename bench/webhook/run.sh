#!/usr/bin/env bash
# Webhook benchmark: gapguard /validate next to no-op node:https servers (one that parses the review with JSON.parse, the floor; one that does not) and a no-op Express server
# with express.json, then a soak of gapguard alone. Installs wrk (Debian) when missing.
# Usage: bash bench/webhook/run.sh        (RUNS, RUN_SECONDS, SOAK_SECONDS override the defaults)
#        bash bench/webhook/run.sh worst-case   the worst review under the policy's limits, and
#                                               normal reviews while one client sends it (RUNS, RUN_SECONDS)
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v wrk >/dev/null; then
  SUDO=$([ "$(id -u)" = 0 ] && echo "" || echo sudo)
  $SUDO apt-get install -y wrk >/dev/null 2>&1 || { $SUDO apt-get update >/dev/null && $SUDO apt-get install -y wrk >/dev/null; }
fi
npm run --silent build
if [ "${1:-}" = worst-case ]; then exec node dist/bench/webhook/worst-case.js; fi
exec node dist/bench/webhook/run.js
