import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { SafetensorsError, decodeSafetensors, encodeSafetensors, sha256, writeFileAtomic, type NamedTensor } from '../src/index.js';

const enc = new TextEncoder();

/** Builds a file by hand from a header string and raw data bytes, the way another writer might. */
function rawFile(header: string, data: Uint8Array = new Uint8Array(0), declaredLength?: number): Uint8Array {
  const json = enc.encode(header);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(declaredLength ?? json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function f32le(values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return out;
}

function bits(a: Float32Array): number[] {
  return Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
}

function errorOf(bytes: Uint8Array): string {
  try {
    decodeSafetensors(bytes);
  } catch (err) {
    expect(err).toBeInstanceOf(SafetensorsError);
    return (err as Error).message;
  }
  throw new Error('expected a SafetensorsError');
}

const sample = {
  'conv1.weight': { shape: [2, 1, 3, 3], data: Float32Array.from({ length: 18 }, (_, i) => (i - 9) / 7) },
  'conv1.bias': { shape: [2], data: new Float32Array([0.5, -0.25]) },
  scalar: { shape: [], data: new Float32Array([Math.PI]) },
  empty: { shape: [0, 4], data: new Float32Array(0) },
  special: { shape: [6], data: new Float32Array([NaN, -0, Infinity, -Infinity, 1e-45, 3.4028234663852886e38]) },
};

describe('encodeSafetensors / decodeSafetensors', () => {
  it('round-trips tensors bit-exactly, including scalars, empty tensors and special values', () => {
    const { tensors, metadata } = decodeSafetensors(encodeSafetensors(sample));
    expect(Object.keys(tensors).sort()).toEqual(Object.keys(sample).sort());
    for (const [name, t] of Object.entries(sample)) {
      expect(tensors[name].shape).toEqual(t.shape);
      expect(tensors[name].data).toBeInstanceOf(Float32Array);
      expect(bits(tensors[name].data)).toEqual(bits(t.data));
    }
    expect(metadata).toEqual({});
  });

  it('round-trips metadata', () => {
    const meta = { format: 'pt', model: 'cnn', 'config.json': '{"a":1}', unicode: 'ü→✓' };
    const { metadata } = decodeSafetensors(encodeSafetensors(sample, meta));
    expect(metadata).toEqual(meta);
  });

  it('gives bytes that depend only on the content, not on insertion order', () => {
    const reversed = Object.fromEntries(Object.entries(sample).reverse());
    expect(sha256(encodeSafetensors(reversed))).toBe(sha256(encodeSafetensors(sample)));
  });

  it('pads the header with spaces so the data starts on an 8-byte boundary', () => {
    for (let n = 1; n <= 16; n++) {
      const bytes = encodeSafetensors({ ['x'.repeat(n)]: { shape: [1], data: new Float32Array([n]) } });
      const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
      expect((8 + headerLength) % 8).toBe(0);
      const text = new TextDecoder().decode(bytes.subarray(8, 8 + headerLength));
      expect(text).toMatch(/^\{.*\} *$/);
      expect(text.length - text.trimEnd().length).toBeLessThan(8);
      expect(bytes.length).toBe(8 + headerLength + 4);
    }
  });

  it('can be read independently: length, JSON header and little-endian floats parsed by hand', () => {
    const bytes = encodeSafetensors(sample, { note: 'hi' });
    // u64 little-endian assembled byte by byte, not through DataView.
    let headerLength = 0;
    for (let i = 7; i >= 0; i--) headerLength = headerLength * 256 + bytes[i];
    const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + headerLength)).toString('utf8')) as Record<
      string,
      { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>
    >;
    expect(header.__metadata__).toEqual({ note: 'hi' });
    const dataStart = 8 + headerLength;
    let covered = 0;
    for (const [name, t] of Object.entries(sample)) {
      const entry = header[name] as { dtype: string; shape: number[]; data_offsets: [number, number] };
      expect(entry.dtype).toBe('F32');
      expect(entry.shape).toEqual(t.shape);
      const [begin, end] = entry.data_offsets;
      expect(end - begin).toBe(t.data.length * 4);
      covered += end - begin;
      for (let i = 0; i < t.data.length; i++) {
        const at = dataStart + begin + i * 4;
        const u = (bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24)) >>> 0;
        expect(u).toBe(bits(t.data)[i]);
      }
    }
    expect(dataStart + covered).toBe(bytes.length);
  });

  it('reads a file written by someone else: unpadded header, any key order, inside a larger buffer', () => {
    const file = rawFile(
      '{"b":{"shape":[2],"data_offsets":[8,16],"dtype":"F32"},"a":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]},"__metadata__":{"format":"pt"}}',
      f32le([1.5, -2, 3, 0.125]),
    );
    expect((file.length - 16) % 8).not.toBe(0);
    const shifted = new Uint8Array(new ArrayBuffer(file.length + 3), 1, file.length);
    shifted.set(file);
    for (const bytes of [file, shifted, Buffer.from(file)]) {
      const { tensors, metadata } = decodeSafetensors(bytes);
      expect(tensors.a.shape).toEqual([1, 2]);
      expect(Array.from(tensors.a.data)).toEqual([1.5, -2]);
      expect(Array.from(tensors.b.data)).toEqual([3, 0.125]);
      expect(tensors.b.data.buffer.byteLength).toBe(8);
      expect(metadata).toEqual({ format: 'pt' });
    }
  });

  it('decodes copies that do not alias the file', () => {
    const bytes = encodeSafetensors({ w: { shape: [1], data: new Float32Array([1]) } });
    const { tensors } = decodeSafetensors(bytes);
    bytes.fill(0, bytes.length - 4);
    expect(tensors.w.data[0]).toBe(1);
  });

  it('keeps names that are special to JavaScript objects', () => {
    // fromEntries defines own properties, so "__proto__" is a key here rather than the prototype.
    const input: Record<string, { shape: number[]; data: Float32Array }> = Object.fromEntries([
      ['__proto__', { shape: [1], data: new Float32Array([4]) }],
      ['constructor', { shape: [1], data: new Float32Array([5]) }],
    ]);
    expect(Object.keys(input)).toEqual(['__proto__', 'constructor']);
    const { tensors } = decodeSafetensors(encodeSafetensors(input));
    expect(Object.keys(tensors).sort()).toEqual(['__proto__', 'constructor']);
    expect(Object.getPrototypeOf(tensors)).toBe(Object.prototype);
    expect(Array.from((Object.getOwnPropertyDescriptor(tensors, '__proto__')?.value as NamedTensor).data)).toEqual([4]);
  });

  it('encodes an empty set of tensors', () => {
    const bytes = encodeSafetensors({});
    expect(bytes.length).toBe(16);
    expect(decodeSafetensors(bytes)).toEqual({ tensors: {}, metadata: {} });
  });

  it('refuses to encode inconsistent tensors', () => {
    expect(() => encodeSafetensors({ w: { shape: [2, 3], data: new Float32Array(5) } })).toThrow(/holds 6 values but data has 5/);
    expect(() => encodeSafetensors({ w: { shape: [-1], data: new Float32Array(1) } })).toThrow(/non-negative integers/);
    expect(() => encodeSafetensors({ w: { shape: [1.5], data: new Float32Array(1) } })).toThrow(SafetensorsError);
    expect(() => encodeSafetensors({ __metadata__: { shape: [1], data: new Float32Array(1) } })).toThrow(/reserved/);
  });
});

describe('decodeSafetensors rejects corrupt files', () => {
  const good = '{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
  const data = f32le([1, 2]);

  it('files too short for the length field', () => {
    expect(errorOf(new Uint8Array(5))).toMatch(/5 bytes, shorter than the 8-byte header length/);
    expect(errorOf(new Uint8Array(0))).toMatch(/0 bytes/);
  });

  it('header lengths beyond the file', () => {
    expect(errorOf(rawFile(good, data, 1000))).toMatch(/header length 1000 exceeds the \d+ bytes/);
    const huge = rawFile(good, data);
    new DataView(huge.buffer).setBigUint64(0, 2n ** 63n, true);
    expect(errorOf(huge)).toMatch(/header length 9223372036854775808 exceeds/);
  });

  it('headers that are not a JSON object', () => {
    expect(errorOf(rawFile('{"w":{"dtype":"F32",', data))).toMatch(/not valid JSON/);
    expect(errorOf(rawFile('[1,2]', data))).toMatch(/must be a JSON object/);
    expect(errorOf(rawFile('null'))).toMatch(/must be a JSON object/);
    const latin1 = rawFile('{"w":1}');
    latin1[10] = 0xff;
    expect(errorOf(latin1)).toMatch(/not valid UTF-8/);
  });

  it('dtypes other than F32, with a clear message', () => {
    for (const dtype of ['F16', 'BF16', 'F64', 'I64', 'U8']) {
      const msg = errorOf(rawFile(`{"w":{"dtype":"${dtype}","shape":[2],"data_offsets":[0,8]}}`, data));
      expect(msg).toMatch(new RegExp(`tensor "w" has dtype ${dtype}; only F32 is supported`));
    }
    expect(errorOf(rawFile('{"w":{"shape":[2],"data_offsets":[0,8]}}', data))).toMatch(/dtype missing/);
  });

  it('malformed entries and shapes', () => {
    expect(errorOf(rawFile('{"w":[1]}', data))).toMatch(/entry must be an object/);
    expect(errorOf(rawFile('{"w":{"dtype":"F32","shape":2,"data_offsets":[0,8]}}', data))).toMatch(/shape must be an array/);
    expect(errorOf(rawFile('{"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}', data))).toMatch(/non-negative integers/);
    expect(errorOf(rawFile('{"w":{"dtype":"F32","shape":[2],"data_offsets":[0]}}', data))).toMatch(/data_offsets must be/);
    expect(errorOf(rawFile('{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,"8"]}}', data))).toMatch(/data_offsets must be/);
  });

  it('shape products that do not match the byte span', () => {
    expect(errorOf(rawFile('{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', data))).toMatch(
      /span 8 bytes; shape \[3\] needs 12/,
    );
  });

  it('offsets that are reversed, gapped, overlapping, out of bounds or leave a tail', () => {
    expect(errorOf(rawFile('{"w":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}', data))).toMatch(/end before they begin/);
    expect(errorOf(rawFile('{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', data))).toMatch(
      /starts at data offset 4; expected 0/,
    );
    expect(
      errorOf(
        rawFile(
          '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}',
          data,
        ),
      ),
    ).toMatch(/"b" starts at data offset 4; expected 8/);
    expect(errorOf(rawFile('{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}', data))).toMatch(
      /ends at data offset 16, past the 8-byte data section/,
    );
    expect(errorOf(rawFile('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', data))).toMatch(
      /cover 4 bytes but the data section is 8 bytes/,
    );
  });

  it('truncated files and non-string metadata', () => {
    const full = encodeSafetensors(sample);
    expect(errorOf(full.subarray(0, full.length - 1))).toMatch(/past the|cover/);
    expect(errorOf(rawFile(`{"__metadata__":{"epochs":3},"w":${good.slice(5, -1)}}`, data))).toMatch(/metadata "epochs" is 3; expected a string/);
    expect(errorOf(rawFile('{"__metadata__":"x"}'))).toMatch(/must be an object of strings/);
  });
});

describe('sha256', () => {
  it('matches the standard test vectors', () => {
    expect(sha256(new Uint8Array(0))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256(enc.encode('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});

describe('writeFileAtomic', () => {
  const dir = mkdtempSync(join(tmpdir(), 'digitlab-atomic-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes and replaces a file, leaving no temp file behind', () => {
    const path = join(dir, 'w.safetensors');
    writeFileAtomic(path, enc.encode('first'));
    expect(readFileSync(path, 'utf8')).toBe('first');
    writeFileAtomic(path, enc.encode('second, longer'));
    expect(readFileSync(path, 'utf8')).toBe('second, longer');
    writeFileAtomic(path, new Uint8Array(0));
    expect(statSync(path).size).toBe(0);
    expect(readdirSync(dir).filter((f) => f.startsWith('.w.safetensors'))).toEqual([]);
  });

  it('cleans up its temp file and keeps the target when the rename fails', () => {
    const target = join(dir, 'is-a-dir');
    mkdirSync(target);
    writeFileSync(join(target, 'keep'), 'x');
    expect(() => writeFileAtomic(target, enc.encode('data'))).toThrow();
    expect(readFileSync(join(target, 'keep'), 'utf8')).toBe('x');
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('throws when the directory does not exist', () => {
    expect(() => writeFileAtomic(join(dir, 'missing', 'w'), enc.encode('x'))).toThrow(/ENOENT/);
  });

  it('never leaves a truncated file when the writer is killed mid-write', async () => {
    const size = 4 * 1024 * 1024;
    const path = join(dir, 'killed.bin');
    writeFileSync(path, new Uint8Array(size).fill(1));
    const moduleUrl = new URL('../src/files.ts', import.meta.url).href;
    const script = join(dir, 'writer.mts');
    // Rewrites the file with a new fill byte each time, so a kill lands mid-write; the time limit
    // only stops an orphaned writer should the test itself fail.
    writeFileSync(
      script,
      `import { writeFileAtomic } from ${JSON.stringify(moduleUrl)};
const stop = Date.now() + 20000;
for (let i = 2; Date.now() < stop; i = i === 250 ? 2 : i + 1) {
  writeFileAtomic(${JSON.stringify(path)}, new Uint8Array(${size}).fill(i));
  if (i === 3) process.stdout.write('going\\n');
}
`,
    );
    // The loader runs in this very process (unlike the tsx CLI, which forks), so SIGKILL hits the writer.
    const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    const child = spawn(process.execPath, ['--import', tsxLoader, script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', () => resolve());
        child.on('exit', (code) => reject(new Error(`writer exited early with ${code}`)));
      });
      // Meanwhile a reader must only ever see a complete file.
      const watchUntil = Date.now() + 300;
      let torn = 0;
      while (Date.now() < watchUntil) {
        const seen = readFileSync(path);
        if (seen.length !== size || !seen.every((b) => b === seen[0])) torn++;
        await new Promise((r) => setTimeout(r, 1));
      }
      expect(torn).toBe(0);
      // Wait until a temp file exists, i.e. a write is in flight, then kill without warning.
      const deadline = Date.now() + 5000;
      while (!readdirSync(dir).some((f) => f.startsWith('.killed.bin.')) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 1));
      }
      child.kill('SIGKILL');
    } finally {
      // Also on a failed assertion above, so no writer outlives the test.
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    }
    expect(child.signalCode).toBe('SIGKILL');
    const after = readFileSync(path);
    expect(after.length).toBe(size);
    expect(after[0]).toBeGreaterThanOrEqual(2);
    expect(after.every((b) => b === after[0])).toBe(true);
    // Nothing is writing any more: the file stays as it is.
    await new Promise((r) => setTimeout(r, 50));
    expect(readFileSync(path).equals(after)).toBe(true);
  });
});
