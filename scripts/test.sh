#!/usr/bin/env bash
# `npm test` and `npm run test:deploy`: provide what the suite needs (scripts/lib/provision.sh:
# Docker, images, Chromium, tools; installed as root on Debian, else the exact command to run is
# printed), then run it. Arguments go to vitest, e.g. `npm test -- test/relay`.
#
#   scripts/test.sh [vitest args]            build, then every vitest project (npm test)
#   scripts/test.sh --deploy [vitest args]   the compose cluster test (npm run test:deploy)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/provision.sh
source scripts/lib/provision.sh

if [[ "${1:-}" == --deploy ]]; then
  shift
  provision deploy
  exec npx vitest run --config test/deploy/vitest.config.ts "$@"
fi

provision suite
npm run build
exec npx vitest run "$@"
