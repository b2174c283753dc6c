import gpujs from 'gpu.js';
import { afterEach, describe, expect, it } from 'vitest';
import { Backend, type KernelSpec, type Mode } from '../src/backend.js';
import { convGeometry, convKernelSpecs } from '../src/ops/conv2d.js';
import { gemmSpec, gemmSpec4x2 } from '../src/ops/gemm.js';

/*
 * patches/gpu.js@2.24.1.patch: FunctionNode.getDeclaration answers from a Map of the traced
 * Identifier nodes, built once per function, instead of scanning every identifier on each call.
 * These tests hold it to the unpatched scan: the same declaration object for every lookup a
 * compile makes, and byte-identical wasm modules when the scan is put back.
 */

interface TracedIdentifier {
  readonly ast: unknown;
  readonly declaration: unknown;
}
interface FunctionNodeProto {
  getDeclaration(this: { identifiers: TracedIdentifier[] }, ast: unknown): unknown;
}
interface WebAssemblyKernelProto {
  _assembleModule(...args: unknown[]): { bytes: Uint8Array };
}
const gpu = gpujs as unknown as { FunctionNode: { prototype: FunctionNodeProto }; WebAssemblyKernel: { prototype: WebAssemblyKernelProto } };
const nodeProto = gpu.FunctionNode.prototype;
const kernelProto = gpu.WebAssemblyKernel.prototype;
const patched = nodeProto.getDeclaration;
const assemble = kernelProto._assembleModule;

/** The unpatched getDeclaration: the first traced identifier whose node is `ast`. */
function scanDeclaration(this: { identifiers: TracedIdentifier[] }, ast: unknown): unknown {
  for (const identifier of this.identifiers) if (identifier.ast === ast) return identifier.declaration;
  return null;
}

const rand = (n: number): Float32Array => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.7) * 0.5);
const g = convGeometry([1, 4, 8, 8], [8, 4, 3, 3]);
const conv = convKernelSpecs('webasm', g, { relu: true });
const gemmShape = { batch: 1, M: 8, N: 12, K: 16, a: [128, 16, 1], b: [192, 12, 1] } as const;
// block-scoped names shadowing each other, a loop counter and a name declared after use
const scoped: KernelSpec = {
  name: 'scoped',
  source: `function(X) {
    let s = 0;
    for (let i = 0; i < 4; i++) { let t = X[i + this.thread.x]; s += t * i; }
    { let t = 2; s += t; }
    if (this.thread.x > 1) { const s2 = s * 2; let i = 3; return s2 + i; }
    return s;
  }`,
  output: [8],
};
const cases: [string, KernelSpec, Float32Array[]][] = [
  ['unrolled conv forward', conv.forward, [rand(4 * 64), rand(8 * 4 * 9), rand(8)]],
  ['conv weight gradient', conv.weightGradient, [rand(8 * 36), rand(4 * 64)]],
  ['gemm 4x1', gemmSpec(gemmShape), [rand(128), rand(192)]],
  ['gemm 4x2', gemmSpec4x2(gemmShape), [rand(128), rand(192)]],
  ['block scopes', scoped, [rand(16)]],
];

/** Compiles and runs spec on a fresh backend; returns the output and the wasm modules it assembled. */
async function compile(mode: Mode, spec: KernelSpec, args: Float32Array[]): Promise<{ out: Float32Array; modules: Uint8Array[] }> {
  const modules: Uint8Array[] = [];
  kernelProto._assembleModule = function (this: unknown, ...a: unknown[]) {
    const r = assemble.apply(this, a);
    modules.push(r.bytes);
    return r;
  };
  const be = new Backend(mode);
  try {
    return { out: await be.run(spec, args), modules };
  } finally {
    be.destroy();
    kernelProto._assembleModule = assemble;
  }
}

describe('declaration lookup by node (the gpu.js patch)', () => {
  afterEach(() => {
    nodeProto.getDeclaration = patched;
    kernelProto._assembleModule = assemble;
  });

  it('has the patch installed', () => {
    expect(patched.toString()).toContain('_declarationByAst');
  });

  for (const [label, spec, args] of cases) {
    it(`${label}: every lookup gives the scan's declaration, on webasm and cpu`, async () => {
      let lookups = 0;
      let found = 0;
      nodeProto.getDeclaration = function (ast: unknown): unknown {
        const got = patched.call(this, ast);
        expect(got).toBe(scanDeclaration.call(this, ast));
        lookups++;
        if (got !== null) found++;
        return got;
      };
      for (const mode of ['webasm', 'cpu'] as const) await compile(mode, spec, args);
      expect(lookups).toBeGreaterThan(0);
      expect(found).toBeGreaterThan(0);
    });

    it(`${label}: the wasm module is byte-identical with the scan put back`, async () => {
      const withMap = await compile('webasm', spec, args);
      nodeProto.getDeclaration = scanDeclaration;
      const withScan = await compile('webasm', spec, args);
      expect(withMap.modules.length).toBeGreaterThan(0);
      expect(withMap.modules).toEqual(withScan.modules);
      expect(withMap.out).toEqual(withScan.out);
    });
  }
});
