#!/usr/bin/env bash
# Pod startup latency on the e2e suite's real node (bench/README.md, "Pod startup"): no webhook, a
# no-op webhook pair, gapguard audit and enforce, interleaved. Needs root (the node). Run it under
# the machine's e2e lock, which it does not take itself:
#   flock /tmp/gapguard-e2e.lock npm run bench:startup
# Overrides: ROUNDS (5), PODS per configuration per round (20), RATE creates/s (1.5), WARMUP (5).
# Builds the binaries first if they are not cached, and gapguard's image (npm run image).
set -euo pipefail
cd "$(dirname "$0")/../.."
npm run build > /dev/null
exec node dist/bench/startup/run.js
