#!/usr/bin/env bash
# Runs every test on a fresh machine that has only Node and npm: installs what it needs first.
# The whole suite runs on the machine's Node; the server's tests (apps/server/test) run again on
# the pinned Node 24 that `npm start` serves with (scripts/pinned-node.sh), where the engine's
# kernels compile differently.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
pnpm exec tsc -p tsconfig.json
pnpm exec vitest run
if NODE24="$(pinned_node "test")"; then
  echo "test: the server's tests on Node $NODE_VERSION" >&2
  PATH="$(dirname "$NODE24"):$PATH" pnpm exec vitest run apps/server/test
else
  echo "WARNING: the server's tests ran on the machine's Node $(node --version) only, not on the Node $NODE_VERSION it ships with" >&2
fi
