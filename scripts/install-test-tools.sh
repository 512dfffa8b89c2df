#!/usr/bin/env bash
# Installs what the test command needs beyond npm packages, idempotently, so `npm test` works on a
# fresh machine (it runs as the `pretest` script) and `.ci/run` needs nothing by hand:
#   - helm and kubectl for the chart tests (scripts/install-helm.sh, cached outside the repository);
#   - Debian's docker-registry, the real OCI registry the registry-client tests run against;
#   - Debian's chromium, the real browser the HTML report and dashboard tests drive (playwright-core).
#   - cosign, which signs images in that registry for the signature tests (scripts/install-cosign.sh,
#     built from the Go module proxy and cached outside the repository).
# The webhook benchmark's wrk is installed by bench/webhook/run.sh itself.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-helm.sh > /dev/null
scripts/install-cosign.sh > /dev/null

missing=()
command -v docker-registry > /dev/null || missing+=(docker-registry)
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "install-test-tools: installing Debian's ${missing[*]}" >&2
  $sudo apt-get update -qq > /dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
fi
