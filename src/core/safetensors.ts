// The safetensors codec, on bytes only (no file system: src/infer and edge runtimes read checkpoints with it).
// Layout: u64 little-endian header length N, N bytes of UTF-8 JSON {name: {dtype, shape, data_offsets:[b,e]},
// "__metadata__": {str: str}}, then the raw little-endian data; offsets are relative to the data start.
// Parsing trusts nothing: every length, offset, dtype and shape is checked before a byte is read, and each
// error names the tensor (or the header) and what is wrong. Assumes a little-endian host (every wasm host is).

import { show } from './show.js';

export type Dtype =
  | 'F64' | 'F32' | 'F16' | 'BF16'
  | 'I64' | 'I32' | 'I16' | 'I8'
  | 'U64' | 'U32' | 'U16' | 'U8'
  | 'BOOL' | 'F8_E4M3' | 'F8_E5M2';

/** Bytes per element of each dtype. */
export const DTYPE_BYTES: Readonly<Record<Dtype, number>> = {
  F64: 8, F32: 4, F16: 2, BF16: 2,
  I64: 8, I32: 4, I16: 2, I8: 1,
  U64: 8, U32: 4, U16: 2, U8: 1,
  BOOL: 1, F8_E4M3: 1, F8_E5M2: 1,
};

/** The reference implementation refuses headers over 100 MB; so do we (a checkpoint header is a few kB). */
export const MAX_HEADER_BYTES = 100_000_000;

/** One tensor of a parsed file. `data` is a view into the file's bytes (no copy). */
export interface TensorView {
  dtype: Dtype;
  shape: number[];
  data: Uint8Array;
}

export interface Safetensors {
  metadata: Record<string, string>;
  /** In header order. */
  tensors: Map<string, TensorView>;
}

/** A tensor to write. `data` holds exactly prod(shape) * DTYPE_BYTES[dtype] bytes (any typed array, read as bytes). */
export interface TensorEntry {
  name: string;
  dtype: Dtype;
  shape: readonly number[];
  data: ArrayBufferView;
}

const fail = (msg: string): never => {
  throw new Error(`safetensors: ${msg}`);
};

function isDtype(s: unknown): s is Dtype {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(DTYPE_BYTES, s);
}

/** prod(shape), after checking each dim is a non-negative safe integer and the product stays exact. */
function numel(shape: unknown, what: string): number {
  if (!Array.isArray(shape)) return fail(`${what}: shape must be an array of integers, got ${show(shape)}`);
  let n = 1;
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      return fail(`${what}: shape ${show(shape)} has ${show(d)}, not a non-negative integer`);
    }
    n *= d;
    if (!Number.isSafeInteger(n)) return fail(`${what}: shape ${show(shape)} has more elements than 2^53`);
  }
  return n;
}

const shapeStr = (s: readonly number[]) => `[${s.join(', ')}]`;

export function parseSafetensors(bytes: Uint8Array, opts: { maxHeaderBytes?: number } = {}): Safetensors {
  const cap = opts.maxHeaderBytes ?? MAX_HEADER_BYTES;
  if (bytes.byteLength < 8) fail(`truncated file: ${bytes.byteLength} bytes, shorter than the 8-byte header length`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lo = dv.getUint32(0, true);
  const hi = dv.getUint32(4, true);
  const headerLen = hi * 2 ** 32 + lo; // exact below 2^53; anything near that is refused by the cap anyway
  if (headerLen > cap) fail(`header length ${headerLen} bytes is over the ${cap}-byte limit (corrupt file?)`);
  if (8 + headerLen > bytes.byteLength) {
    fail(`truncated file: header length says ${headerLen} bytes but only ${bytes.byteLength - 8} follow the length field`);
  }
  if (headerLen < 2) fail(`header length ${headerLen} is too small to hold a JSON object`);

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen));
  } catch {
    return fail('header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    return fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail('header is not a JSON object');

  const dataStart = 8 + headerLen;
  const dataLen = bytes.byteLength - dataStart;
  const metadata: Record<string, string> = {};
  const spans: { name: string; begin: number; end: number }[] = [];
  const tensors = new Map<string, TensorView>();

  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) fail('header: __metadata__ is not an object');
      for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`header: __metadata__[${JSON.stringify(k)}] is not a string`);
        // defineProperty: a key named "__proto__" stays data, not a prototype change
        Object.defineProperty(metadata, k, { value: v, enumerable: true, writable: true, configurable: true });
      }
      continue;
    }
    const what = `tensor ${JSON.stringify(name)}`;
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) fail(`${what}: entry is not an object`);
    const { dtype, shape, data_offsets: off } = entry as Record<string, unknown>;
    if (!isDtype(dtype)) fail(`${what}: unknown dtype ${show(dtype)}`);
    const n = numel(shape, what);
    if (!Array.isArray(off) || off.length !== 2 || !off.every((o) => typeof o === 'number' && Number.isSafeInteger(o))) {
      fail(`${what}: data_offsets must be [begin, end] integers, got ${show(off)}`);
    }
    const [begin, end] = off as [number, number];
    if (begin < 0 || end < begin) fail(`${what}: data_offsets [${begin}, ${end}] are not 0 <= begin <= end`);
    if (end > dataLen) fail(`${what}: data_offsets [${begin}, ${end}] run past the data, which is ${dataLen} bytes`);
    const want = n * DTYPE_BYTES[dtype as Dtype];
    if (end - begin !== want) {
      fail(`${what}: data_offsets [${begin}, ${end}] hold ${end - begin} bytes, but ${dtype} ${shapeStr(shape as number[])} needs ${want}`);
    }
    spans.push({ name, begin, end });
    tensors.set(name, {
      dtype: dtype as Dtype,
      shape: (shape as number[]).slice(),
      data: bytes.subarray(dataStart + begin, dataStart + end),
    });
  }

  // Overlap: sorted by begin, each non-empty span must start at or after the end of the previous one.
  // Gaps are allowed (harmless); the reference writer never leaves any.
  spans.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let prev: { name: string; begin: number; end: number } | undefined;
  for (const s of spans) {
    if (s.end === s.begin) continue;
    if (prev && s.begin < prev.end) {
      fail(`tensor ${JSON.stringify(s.name)}: data_offsets [${s.begin}, ${s.end}] overlap tensor ${JSON.stringify(prev.name)} [${prev.begin}, ${prev.end}]`);
    }
    prev = s;
  }
  return { metadata, tensors };
}

/** Element count of a shape (no checks; use on parsed shapes). */
export const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * A tensor's values as f32. F32 data is returned as a view over the file bytes when 4-byte aligned
 * (writes go through to the file buffer), or copied when not; F16, BF16 and F64 are converted (copied).
 */
export function tensorF32(parsed: Safetensors, name: string): Float32Array {
  const t = parsed.tensors.get(name);
  if (!t) return fail(`tensor ${JSON.stringify(name)} is missing`);
  return toF32(t, name);
}

export function toF32(t: TensorView, name = '?'): Float32Array {
  const n = sizeOf(t.shape);
  const { buffer, byteOffset } = t.data;
  switch (t.dtype) {
    case 'F32':
      if (byteOffset % 4 === 0) return new Float32Array(buffer, byteOffset, n);
      return new Float32Array(t.data.slice().buffer, 0, n);
    case 'F64': {
      const src = byteOffset % 8 === 0 ? new Float64Array(buffer, byteOffset, n) : new Float64Array(t.data.slice().buffer, 0, n);
      return Float32Array.from(src);
    }
    case 'F16':
    case 'BF16': {
      const dv = new DataView(buffer, byteOffset, t.data.byteLength);
      const out = new Float32Array(n);
      const f = t.dtype === 'F16' ? f16ToF32 : (h: number) => bf16ToF32(h);
      for (let i = 0; i < n; i++) out[i] = f(dv.getUint16(2 * i, true));
      return out;
    }
    case 'I64':
    case 'I32':
    case 'I16':
    case 'I8':
    case 'U8': {
      // integer tensors (num_batches_tracked, int8 weights) convert exactly up to 2^24
      const dv = new DataView(buffer, byteOffset, t.data.byteLength);
      const out = new Float32Array(n);
      const bytes = DTYPE_BYTES[t.dtype];
      for (let i = 0; i < n; i++) {
        const o = i * bytes;
        out[i] = t.dtype === 'I64' ? Number(dv.getBigInt64(o, true))
          : t.dtype === 'I32' ? dv.getInt32(o, true)
          : t.dtype === 'I16' ? dv.getInt16(o, true)
          : t.dtype === 'I8' ? dv.getInt8(o) : dv.getUint8(o);
      }
      return out;
    }
    default:
      return fail(`tensor ${JSON.stringify(name)}: dtype ${t.dtype} cannot be read as f32`);
  }
}

const cvt = new DataView(new ArrayBuffer(4));
function bf16ToF32(h: number): number {
  cvt.setUint32(0, h << 16);
  return cvt.getFloat32(0);
}
export function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/**
 * Writes a safetensors file. Tensors are laid out in the order given (the state_dict order), contiguous;
 * the header is padded with spaces to a multiple of 8 bytes so the data (and every 8-byte-multiple
 * offset) starts aligned. `__metadata__` comes first in the header.
 */
export function serializeSafetensors(entries: readonly TensorEntry[], metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = Object.create(null); // a tensor named "__proto__" stays a key
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') fail(`metadata[${JSON.stringify(k)}] must be a string, got ${typeof v}`);
  }
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  const seen = new Set<string>();
  for (const t of entries) {
    const what = `tensor ${JSON.stringify(t.name)}`;
    if (t.name === '__metadata__') fail(`${what}: the name is reserved`);
    if (seen.has(t.name)) fail(`${what}: the name appears twice`);
    seen.add(t.name);
    if (!isDtype(t.dtype)) fail(`${what}: unknown dtype ${JSON.stringify(t.dtype)}`);
    const want = numel(t.shape, what) * DTYPE_BYTES[t.dtype];
    if (t.data.byteLength !== want) {
      fail(`${what}: data has ${t.data.byteLength} bytes, but ${t.dtype} ${shapeStr(t.shape)} needs ${want}`);
    }
    header[t.name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + want] };
    offset += want;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLen = Math.ceil(json.byteLength / 8) * 8;
  const out = new Uint8Array(8 + headerLen + offset);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, headerLen % 2 ** 32, true);
  dv.setUint32(4, Math.floor(headerLen / 2 ** 32), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.byteLength, 8 + headerLen);
  let p = 8 + headerLen;
  for (const t of entries) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), p);
    p += t.data.byteLength;
  }
  return out;
}

/**
 * Checks that a parsed file holds exactly the expected tensors with the expected shapes. Throws one Error
 * listing every problem (missing, unexpected, wrong shape), each naming the tensor, expected vs actual.
 * `allowExtra` tolerates tensors that are not expected (e.g. optimizer state next to the weights).
 */
export function checkTensors(
  parsed: Safetensors,
  expected: readonly { name: string; shape: readonly number[] }[],
  opts: { allowExtra?: boolean } = {},
): void {
  const problems: string[] = [];
  const names = new Set<string>();
  for (const e of expected) {
    names.add(e.name);
    const t = parsed.tensors.get(e.name);
    if (!t) problems.push(`missing tensor ${JSON.stringify(e.name)} (expected shape ${shapeStr(e.shape)})`);
    else if (t.shape.length !== e.shape.length || t.shape.some((d, i) => d !== e.shape[i])) {
      problems.push(`tensor ${JSON.stringify(e.name)}: expected shape ${shapeStr(e.shape)}, got ${shapeStr(t.shape)}`);
    }
  }
  if (!opts.allowExtra) {
    for (const [name, t] of parsed.tensors) {
      if (!names.has(name)) problems.push(`unexpected tensor ${JSON.stringify(name)} (shape ${shapeStr(t.shape)})`);
    }
  }
  if (problems.length) fail(`${problems.length} problem(s) with the tensors:\n  ${problems.join('\n  ')}`);
}
