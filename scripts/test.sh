#!/usr/bin/env bash
# Runs every test on a fresh machine that has only Node and npm: installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
pnpm exec tsc -p tsconfig.json
pnpm exec vitest run
