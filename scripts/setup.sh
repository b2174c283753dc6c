#!/usr/bin/env bash
# Installs pnpm (pinned), the workspace's packages, the server's pinned Node 24 (scripts/pinned-node.sh)
# and, where missing, Debian's chromium for the browser tests and nginx for the load-balancer test
# (deploy/test/local-cluster.test.ts).
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version)" != "10.34.9" ]; then
  npm i -g pnpm@10.34.9 >/dev/null
fi
pnpm install --frozen-lockfile
source "$(dirname "${BASH_SOURCE[0]}")/pinned-node.sh"
pinned_node "setup" >/dev/null || echo "warning: no Node $NODE_VERSION; the server and its tests run on the machine's Node only"
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || echo "warning: could not install chromium; browser tests will fail"
  else
    echo "warning: chromium missing and not root; browser tests will fail"
  fi
fi
if ! bash "$(dirname "${BASH_SOURCE[0]}")/../deploy/ensure-nginx.sh" >/dev/null; then
  echo "warning: nginx missing; the load-balancer test will be skipped"
fi
