#!/usr/bin/env bash
# End-to-end benchmark: Pod creation latency through a real kube-apiserver with no webhook, gapguard
# audit and gapguard enforce (bench/README.md, "End to end"). Overrides: PODS (1000), CONCURRENCY
# (20), ROUNDS (5), WARMUP (100). Builds the binaries first if they are not cached (about 5 minutes).
set -euo pipefail
cd "$(dirname "$0")/../.."
npm run build > /dev/null
exec node dist/bench/e2e/run.js
