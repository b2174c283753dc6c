#!/usr/bin/env bash
# Builds the `gl` package (headless-gl 8.1.6) that pnpm installed, so that gpu.js's `headlessgl`
# backend runs in Node under Xvfb. Opt-in: nothing else runs this.
#
# Why a script and not pnpm: `gl` is in `pnpm.ignoredBuiltDependencies`, so `pnpm install
# --frozen-lockfile` (CI, `npm test`, everyone) never runs its install script. That script tries a
# prebuilt download first, which fails here (only the npm registry is reachable), then builds ANGLE
# and the binding from source with node-gyp: minutes of both cores and five Debian -dev packages
# that nobody else needs. This script does that build in place, in node_modules/.pnpm/gl@*/, and
# changes nothing pnpm tracks: package.json and the lockfile stay as they are, and the next
# `pnpm install` keeps the built binding (or drops it, after which this script builds it again).
#
#   bash scripts/build-headlessgl.sh          # apt packages, build (~5+ min on 2 cores), check
#   bash scripts/build-headlessgl.sh --check  # only the check under Xvfb
#
# Then: DIGITLAB_HEADLESSGL=1 xvfb-run -a -s "-ac -screen 0 1280x1024x24" pnpm bench --impls reference,webasm,async,headlessgl
#
# Idempotent: apt-get runs only for missing packages; node-gyp configures once and `make` is
# incremental, so a build that was stopped goes on where it was; a finished build is only checked.
# The compile runs at `nice -n 19` (the machine is shared with timed benchmarks). Needs root for
# apt-get (or the packages already installed). Debian 12 / Node 20 checked.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# build tools and GL headers for the build, Xvfb for a display to run under
PACKAGES=(xvfb build-essential libxi-dev libglu1-mesa-dev libglew-dev pkg-config)
XVFB_ARGS=(-a -s "-ac -screen 0 1280x1024x24")

# gl is gpu.js's optional dependency: resolve it the way gpu.js does, from gpu.js's own directory
# (pnpm does not hoist either package to the root)
resolve_gl() {
  (cd packages/tensor && node -e '
    const { dirname } = require("node:path");
    const gpu = dirname(require.resolve("gpu.js/package.json"));
    console.log(dirname(require.resolve("gl/package.json", { paths: [gpu] })));')
}

check() {
  # A tiny kernel under Xvfb: gpu.js must see a working gl, and the kernel must run as a
  # HeadlessGLKernel with the right numbers (gpu.js falls back to another backend silently).
  (cd packages/tensor && xvfb-run "${XVFB_ARGS[@]}" node -e '
    const { GPU } = require("gpu.js");
    if (GPU.isHeadlessGLSupported !== true) throw new Error("GPU.isHeadlessGLSupported is " + GPU.isHeadlessGLSupported);
    const gpu = new GPU({ mode: "headlessgl" });
    const k = gpu.createKernel(function (a) { return a[this.thread.x] * 2 + 1; }, { output: [4] });
    const out = Array.from(k([1, 2, 3, 4]));
    const cls = k.kernel.constructor.name;
    if (cls !== "HeadlessGLKernel") throw new Error("kernel ran as " + cls);
    if (out.join() !== "3,5,7,9") throw new Error("wrong result " + out.join());
    const gl = k.kernel.context;
    console.log("headlessgl works: " + cls + " -> [" + out.join(", ") + "]; " +
      gl.getParameter(gl.VERSION) + " / " + gl.getParameter(gl.RENDERER) +
      "; MAX_TEXTURE_SIZE " + gl.getParameter(gl.MAX_TEXTURE_SIZE));
    gpu.destroy();')
}

if [ "${1:-}" = "--check" ]; then check; exit; fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "build-headlessgl: apt-get install ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

GL="$(resolve_gl)"
echo "build-headlessgl: gl at $GL" >&2
if [ -f "$GL/build/Release/webgl.node" ] && node -e 'require(process.argv[1])' "$GL" 2>/dev/null; then
  echo "build-headlessgl: already built" >&2
else
  # node-gyp as gl declares it (its own dependency); Debian's Node ships its headers in
  # /usr/include/node, so node-gyp must not try to download them (npm_config_nodedir=/usr)
  GYP="$(cd "$GL" && node -p 'require.resolve("node-gyp/bin/node-gyp.js")')"
  export npm_config_nodedir=/usr
  cd "$GL"
  [ -f build/Makefile ] || nice -n 19 node "$GYP" configure
  nice -n 19 node "$GYP" build --jobs "$(nproc)"
  cd "$ROOT"
fi
check
