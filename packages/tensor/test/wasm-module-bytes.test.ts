import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

/*
 * patches/gpu.js@2.24.1.patch: WasmModuleBuilder.toBytes lays out the code section as whole
 * chunks (typed-array copies) instead of pushing every byte of every function body through three
 * growing arrays. These tests hold it to the binary format: a small module byte for byte as the
 * WebAssembly spec encodes it, and a megabyte body that validates and computes.
 */

interface Emitter {
  localGet(i: number): Emitter;
  call(name: string): Emitter;
  i32Const(v: number): Emitter;
  i32Add(): Emitter;
}
interface Builder {
  addFuncImport(name: string, params: string[], results: string[]): number;
  addFunction(name: string, signature: { params?: string[]; results?: string[]; locals?: string[] }): Emitter;
  exportFunction(name: string): Builder;
  toBytes(): Uint8Array<ArrayBuffer>;
}
const require = createRequire(import.meta.url);
const { WasmModuleBuilder } = require('gpu.js/src/backend/web-assembly/wasm-builder.js') as { WasmModuleBuilder: new () => Builder };

const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));

describe('wasm module bytes (the gpu.js patch)', () => {
  it('encodes a module with an import, a patched call and run-length locals exactly as the spec does', () => {
    const b = new WasmModuleBuilder();
    b.addFuncImport('twice', ['i32'], ['i32']);
    b.addFunction('inc', { params: ['i32'], results: ['i32'], locals: ['i32', 'i32', 'f32'] }).localGet(0).call('twice').i32Const(1).i32Add();
    b.exportFunction('inc');
    const expected = [
      ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
      // type: one (i32) -> (i32)
      ...[0x01, 0x06, 0x01, 0x60, 0x01, 0x7f, 0x01, 0x7f],
      // import: env.twice, a function of type 0
      ...[0x02, 0x0d, 0x01, 0x03, ...ascii('env'), 0x05, ...ascii('twice'), 0x00, 0x00],
      // function: one, of type 0
      ...[0x03, 0x02, 0x01, 0x00],
      // export: "inc", function 1 (after the import)
      ...[0x07, 0x07, 0x01, 0x03, ...ascii('inc'), 0x00, 0x01],
      // code: one body of 17 bytes, locals 2 x i32 and 1 x f32, then
      // local.get 0, call 0 (a 5-byte index slot), i32.const 1, i32.add, end
      ...[0x0a, 0x13, 0x01, 0x11, 0x02, 0x02, 0x7f, 0x01, 0x7d],
      ...[0x20, 0x00, 0x10, 0x80, 0x80, 0x80, 0x80, 0x00, 0x41, 0x01, 0x6a, 0x0b],
    ];
    const bytes = b.toBytes();
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect([...bytes]).toEqual(expected);
    // the call's index is patched into a copy: the module is the same each time
    expect([...b.toBytes()]).toEqual(expected);
    const inc = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { twice: (x: number) => 2 * x } }).exports.inc as (x: number) => number;
    expect(inc(5)).toBe(11);
  });

  it('assembles a megabyte function body that validates and computes', () => {
    const b = new WasmModuleBuilder();
    const terms = 300_000;
    const f = b.addFunction('sum', { params: ['i32'], results: ['i32'] }).localGet(0);
    // i32.const 1000 is three bytes, i32.add one: four bytes a term
    for (let i = 0; i < terms; i++) f.i32Const(1000).i32Add();
    b.exportFunction('sum');
    const bytes = b.toBytes();
    expect(bytes.length).toBeGreaterThan(4 * terms);
    expect(WebAssembly.validate(bytes)).toBe(true);
    const sum = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports.sum as (x: number) => number;
    expect(sum(7)).toBe(7 + 1000 * terms);
  });
});
