#!/usr/bin/env bash
# Starts the product: the Fastify server with the shipped weights and the demo page, on Node 24.
#
# The server runs on the pinned Node 24 of scripts/pinned-node.sh (fetched once from the npm
# registry, integrity-checked, cached outside the work tree). When that is impossible (another
# platform, no registry, a hash mismatch) it warns and runs on the machine's Node.
#
#   npm start                       # PORT, HOST and the other settings from the environment (apps/server/README.md)
#   DIGITLAB_SYSTEM_NODE=1 npm start  # skip Node 24, use the machine's Node
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/pinned-node.sh

warn() { echo "digitlab start: $*" >&2; }

if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version)" != "10.34.9" ]; then
  npm i -g pnpm@10.34.9 >/dev/null
fi
pnpm install --frozen-lockfile
if NODE="$(pinned_node "digitlab start")"; then
  echo "digitlab start: running on Node $NODE_VERSION ($NODE)" >&2
else
  NODE="$(command -v node)"
  warn "WARNING: running on the machine's Node $("$NODE" --version) instead of $NODE_VERSION; the models run 1.5-2x slower on Node 20"
fi
cd apps/server
# node with tsx's loader rather than the tsx CLI, so SIGTERM reaches the server itself
exec "$NODE" --import tsx src/main.ts
