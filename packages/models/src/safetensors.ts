// The safetensors format only, without Node's fs or crypto, so a browser worker can read and write weights.

/** One float32 tensor as stored in a safetensors file. */
export interface NamedTensor {
  readonly shape: number[];
  readonly data: Float32Array;
}

/** The decoded content of a safetensors file. */
export interface Safetensors {
  readonly tensors: Record<string, NamedTensor>;
  readonly metadata: Record<string, string>;
}

/** A malformed or unsupported safetensors file. */
export class SafetensorsError extends Error {
  constructor(message: string) {
    super(`safetensors: ${message}`);
    this.name = 'SafetensorsError';
  }
}

const METADATA_KEY = '__metadata__';
const LENGTH_BYTES = 8;
// A real header is a few KB; the cap stops a corrupt length from allocating or scanning gigabytes.
const MAX_HEADER_BYTES = 100 * 1024 * 1024;
const F32_BYTES = 4;
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Serialises float32 tensors (sorted by name, so the bytes depend only on the content) with
 * optional string metadata.
 */
export function encodeSafetensors(
  tensors: Record<string, { shape: number[]; data: Float32Array }>,
  metadata?: Record<string, string>,
): Uint8Array {
  const names = Object.keys(tensors).sort();
  // Built as text rather than via an object so names such as "__proto__" survive.
  const parts: string[] = [];
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new SafetensorsError(`metadata value for "${k}" is ${typeof v}; expected a string`);
    }
    parts.push(`${JSON.stringify(METADATA_KEY)}:${JSON.stringify(metadata)}`);
  }
  let offset = 0;
  for (const name of names) {
    if (name === METADATA_KEY) throw new SafetensorsError(`"${METADATA_KEY}" is reserved and cannot name a tensor`);
    const { shape, data } = tensors[name];
    if (!(data instanceof Float32Array)) throw new SafetensorsError(`tensor "${name}": data must be a Float32Array`);
    checkShape(name, shape);
    const size = product(shape);
    if (size !== data.length) {
      throw new SafetensorsError(`tensor "${name}": shape [${shape.join(', ')}] holds ${size} values but data has ${data.length}`);
    }
    const end = offset + size * F32_BYTES;
    parts.push(`${JSON.stringify(name)}:${JSON.stringify({ dtype: 'F32', shape, data_offsets: [offset, end] })}`);
    offset = end;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  // Padding keeps the data section 8-byte aligned, so readers can view it in place.
  const headerLength = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(LENGTH_BYTES + headerLength + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerLength), true);
  out.set(json, LENGTH_BYTES);
  out.fill(0x20, LENGTH_BYTES + json.length, LENGTH_BYTES + headerLength);
  let at = LENGTH_BYTES + headerLength;
  for (const name of names) {
    const { data } = tensors[name];
    if (LITTLE_ENDIAN) {
      out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at);
    } else {
      for (let i = 0; i < data.length; i++) view.setFloat32(at + i * F32_BYTES, data[i], true);
    }
    at += data.byteLength;
  }
  return out;
}

/** Parses and fully validates a safetensors file of F32 tensors; the tensors are copies. */
export function decodeSafetensors(bytes: Uint8Array): Safetensors {
  if (bytes.length < LENGTH_BYTES) {
    throw new SafetensorsError(`file is ${bytes.length} bytes, shorter than the ${LENGTH_BYTES}-byte header length`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declared = view.getBigUint64(0, true);
  const available = bytes.length - LENGTH_BYTES;
  if (declared > BigInt(available)) {
    throw new SafetensorsError(`header length ${declared} exceeds the ${available} bytes after the length field`);
  }
  if (declared > BigInt(MAX_HEADER_BYTES)) {
    throw new SafetensorsError(`header length ${declared} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  }
  const headerLength = Number(declared);
  const header = parseHeader(bytes.subarray(LENGTH_BYTES, LENGTH_BYTES + headerLength));
  const dataStart = LENGTH_BYTES + headerLength;
  const dataLength = bytes.length - dataStart;

  let metadata: Record<string, string> = {};
  const entries: Array<{ name: string; shape: number[]; begin: number; end: number }> = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === METADATA_KEY) {
      metadata = parseMetadata(value);
      continue;
    }
    entries.push({ name, ...parseEntry(name, value) });
  }

  // Every byte of the data section must belong to exactly one tensor: no gaps, overlaps or tail.
  const byOffset = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expectedBegin = 0;
  for (const e of byOffset) {
    if (e.begin !== expectedBegin) {
      throw new SafetensorsError(
        `tensor "${e.name}" starts at data offset ${e.begin}; expected ${expectedBegin} (offsets must be contiguous, without gaps or overlaps)`,
      );
    }
    if (e.end > dataLength) {
      throw new SafetensorsError(`tensor "${e.name}" ends at data offset ${e.end}, past the ${dataLength}-byte data section`);
    }
    expectedBegin = e.end;
  }
  if (expectedBegin !== dataLength) {
    throw new SafetensorsError(`tensors cover ${expectedBegin} bytes but the data section is ${dataLength} bytes`);
  }

  const tensors: Record<string, NamedTensor> = {};
  for (const e of entries) {
    const count = (e.end - e.begin) / F32_BYTES;
    const start = dataStart + e.begin;
    let data: Float32Array;
    if (LITTLE_ENDIAN) {
      // Copied into a fresh, aligned buffer whatever the file's alignment; not slice(), which on a
      // Node Buffer returns a view of a possibly shared pool.
      data = new Float32Array(new Uint8Array(bytes.subarray(start, start + e.end - e.begin)).buffer);
    } else {
      data = new Float32Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getFloat32(start + i * F32_BYTES, true);
    }
    defineEntry(tensors, e.name, { shape: e.shape, data });
  }
  return { tensors, metadata };
}

function parseHeader(raw: Uint8Array): Record<string, unknown> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    throw new SafetensorsError('header is not valid UTF-8');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new SafetensorsError(`header is not valid JSON: ${(err as Error).message}`);
  }
  if (!isPlainObject(parsed)) {
    throw new SafetensorsError('header must be a JSON object mapping tensor names to entries');
  }
  return parsed;
}

function parseMetadata(value: unknown): Record<string, string> {
  if (!isPlainObject(value)) throw new SafetensorsError(`"${METADATA_KEY}" must be an object of strings`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw new SafetensorsError(`metadata "${k}" is ${JSON.stringify(v)}; expected a string`);
    defineEntry(out, k, v);
  }
  return out;
}

function parseEntry(name: string, value: unknown): { shape: number[]; begin: number; end: number } {
  if (!isPlainObject(value)) throw new SafetensorsError(`tensor "${name}": entry must be an object`);
  const { dtype, shape, data_offsets: offsets } = value;
  if (typeof dtype !== 'string') throw new SafetensorsError(`tensor "${name}": dtype missing or not a string`);
  if (dtype !== 'F32') {
    throw new SafetensorsError(`tensor "${name}" has dtype ${dtype}; only F32 is supported (convert the weights to float32)`);
  }
  if (!Array.isArray(shape)) throw new SafetensorsError(`tensor "${name}": shape must be an array`);
  checkShape(name, shape);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
    throw new SafetensorsError(`tensor "${name}": data_offsets must be [begin, end] of non-negative integers`);
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) throw new SafetensorsError(`tensor "${name}": data_offsets [${begin}, ${end}] end before they begin`);
  const expected = product(shape) * F32_BYTES;
  if (end - begin !== expected) {
    throw new SafetensorsError(
      `tensor "${name}": data_offsets [${begin}, ${end}] span ${end - begin} bytes; shape [${shape.join(', ')}] needs ${expected}`,
    );
  }
  return { shape: [...shape] as number[], begin, end };
}

function checkShape(name: string, shape: unknown[]): void {
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    throw new SafetensorsError(`tensor "${name}": shape [${String(shape)}] must hold non-negative integers`);
  }
  if (!Number.isSafeInteger(product(shape as number[]) * F32_BYTES)) {
    throw new SafetensorsError(`tensor "${name}": shape [${shape.join(', ')}] is too large`);
  }
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function product(shape: readonly number[]): number {
  let p = 1;
  for (const d of shape) p *= d;
  return p;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// Plain assignment of "__proto__" would replace the prototype instead of adding an entry.
function defineEntry<T>(target: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}
