#!/usr/bin/env bash
# The background audit's figures (bench/README.md, "Background audit"): bytes per Pod held, time to
# a full report on OBJECTS Pods (5000), admission p99 with and without the audit. Uses the e2e
# suite's local control plane (builds its binaries first if they are not cached, about 5 minutes);
# takes the e2e lock, since the cluster uses fixed ports. Overrides: OBJECTS, REQUESTS (3000),
# CONCURRENCY (20), ROUNDS (3), CHURN (Pod changes per second, 10).
set -euo pipefail
cd "$(dirname "$0")/../.."
npm run build > /dev/null
exec flock /tmp/gapguard-e2e.lock node --expose-gc dist/bench/audit/run.js
