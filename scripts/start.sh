#!/usr/bin/env bash
# Starts the product: the Fastify server with the shipped weights and the demo page.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version)" != "10.34.9" ]; then
  npm i -g pnpm@10.34.9 >/dev/null
fi
pnpm install --frozen-lockfile
exec pnpm --filter @digitlab/server start
