#!/usr/bin/env bash
# Signature verification cost: cold, cached per review, and the webhook's latency when every image
# of every review needs a (cached) verification. Needs Debian's docker-registry, cosign
# (scripts/install-test-tools.sh installs both) and wrk (installed here when missing).
# Usage: bash bench/signatures/run.sh     (RUNS, RUN_SECONDS override the defaults: 3, 20)
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/install-test-tools.sh
if ! command -v wrk >/dev/null; then
  SUDO=$([ "$(id -u)" = 0 ] && echo "" || echo sudo)
  $SUDO apt-get install -y wrk >/dev/null 2>&1 || { $SUDO apt-get update >/dev/null && $SUDO apt-get install -y wrk >/dev/null; }
fi
npx tsc -p tsconfig.json
exec node dist/bench/signatures/run.js
