// The safetensors codec: round trips, and hostile files built byte by byte (each must fail with a clear
// message naming the tensor or the header, and never read out of bounds).
import { describe, expect, test } from 'vitest';
import {
  checkTensors,
  f16ToF32,
  MAX_HEADER_BYTES,
  parseSafetensors,
  serializeSafetensors,
  tensorF32,
  toF32,
} from '../src/core/safetensors.js';
import { mulberry32 } from './helpers/rng.js';

/** A file from a raw header object (or string) and a data section; `len` overrides the length field. */
function build(header: unknown, data: Uint8Array = new Uint8Array(0), len?: number | bigint): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.byteLength + data.byteLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(len ?? json.byteLength), true);
  out.set(json, 8);
  out.set(data, 8 + json.byteLength);
  return out;
}
const f32 = (...v: number[]) => new Uint8Array(new Float32Array(v).buffer);

describe('round trip', () => {
  test('tensors, dtypes, metadata and order survive serialize -> parse', () => {
    const w = new Float32Array([1.5, -2, 3.25, 0, 1e-30, -1e30]);
    const b = new Int32Array([7, -8, 2 ** 31 - 1]);
    const c = new Int8Array([-128, 127, 0, 1]);
    const h = new Uint16Array([0x3c00, 0xc000]); // f16 1, -2
    const l = new BigInt64Array([1n, -(2n ** 40n)]);
    const bytes = serializeSafetensors(
      [
        { name: 'z.weight', dtype: 'F32', shape: [2, 3], data: w },
        { name: 'a.bias', dtype: 'I32', shape: [3], data: b },
        { name: 'q', dtype: 'I8', shape: [2, 2], data: c },
        { name: 'half', dtype: 'F16', shape: [2], data: h },
        { name: 'step', dtype: 'I64', shape: [2], data: l },
        { name: 'scalar', dtype: 'F32', shape: [], data: new Float32Array([42]) },
        { name: 'empty', dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
      ],
      { config: '{"preset":"pytorch-gan"}', step: '12' },
    );
    const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(headerLen % 8).toBe(0); // data starts 8-byte aligned
    const p = parseSafetensors(bytes);
    expect(p.metadata).toEqual({ config: '{"preset":"pytorch-gan"}', step: '12' });
    expect([...p.tensors.keys()]).toEqual(['z.weight', 'a.bias', 'q', 'half', 'step', 'scalar', 'empty']);
    expect(p.tensors.get('z.weight')!.shape).toEqual([2, 3]);
    expect(Array.from(tensorF32(p, 'z.weight'))).toEqual(Array.from(w));
    const bv = p.tensors.get('a.bias')!.data;
    expect(Array.from(new Int32Array(bv.slice().buffer))).toEqual(Array.from(b));
    expect(Array.from(new Int8Array(p.tensors.get('q')!.data.slice().buffer))).toEqual(Array.from(c));
    expect(Array.from(tensorF32(p, 'half'))).toEqual([1, -2]);
    expect(Array.from(new BigInt64Array(p.tensors.get('step')!.data.slice().buffer))).toEqual(Array.from(l));
    expect(Array.from(tensorF32(p, 'scalar'))).toEqual([42]);
    expect(tensorF32(p, 'empty').length).toBe(0);
    // data is a view into the file, not a copy
    expect(p.tensors.get('z.weight')!.data.buffer).toBe(bytes.buffer);
  });

  test('a file inside a larger buffer at an odd offset: F32 read is copied, values intact', () => {
    const inner = serializeSafetensors([{ name: 'x', dtype: 'F32', shape: [3], data: new Float32Array([1, 2, 3]) }]);
    const big = new Uint8Array(inner.byteLength + 3);
    big.set(inner, 1);
    const p = parseSafetensors(big.subarray(1, 1 + inner.byteLength));
    expect(Array.from(tensorF32(p, 'x'))).toEqual([1, 2, 3]);
  });

  test('hand-made file with a gap, unpadded header, tensors out of data order', () => {
    const data = new Uint8Array([...f32(9, 8), 0, 0, 0, 0, ...f32(5)]);
    const p = parseSafetensors(
      build({ b: { dtype: 'F32', shape: [1], data_offsets: [12, 16] }, a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, data),
    );
    expect(Array.from(tensorF32(p, 'a'))).toEqual([9, 8]);
    expect(Array.from(tensorF32(p, 'b'))).toEqual([5]);
    expect(p.metadata).toEqual({});
  });

  test('f16 conversion: normals, subnormals, inf, nan', () => {
    expect(f16ToF32(0x3555)).toBeCloseTo(0.33325, 5);
    expect(f16ToF32(0x0001)).toBe(2 ** -24);
    expect(f16ToF32(0x7c00)).toBe(Infinity);
    expect(f16ToF32(0xfc00)).toBe(-Infinity);
    expect(f16ToF32(0x7e00)).toBeNaN();
    expect(f16ToF32(0x8000)).toBe(-0);
  });

  test('BF16, F64 and integer tensors read as f32; BOOL cannot be', () => {
    const p = parseSafetensors(
      serializeSafetensors([
        { name: 'b', dtype: 'BF16', shape: [2], data: new Uint16Array([0x3f80, 0xc040]) },
        { name: 'd', dtype: 'F64', shape: [2], data: new Float64Array([0.5, -7]) },
        { name: 'i', dtype: 'I32', shape: [1], data: new Int32Array([-5]) },
        { name: 'l', dtype: 'I64', shape: [2], data: new BigInt64Array([7n, -3n]) },
        { name: 'q', dtype: 'BOOL', shape: [1], data: new Uint8Array([1]) },
      ]),
    );
    expect(Array.from(tensorF32(p, 'b'))).toEqual([1, -3]);
    expect(Array.from(toF32(p.tensors.get('d')!))).toEqual([0.5, -7]);
    expect(Array.from(tensorF32(p, 'i'))).toEqual([-5]);
    expect(Array.from(tensorF32(p, 'l'))).toEqual([7, -3]);
    expect(() => tensorF32(p, 'q')).toThrow(/tensor "q": dtype BOOL cannot be read as f32/);
    expect(() => tensorF32(p, 'nope')).toThrow(/tensor "nope" is missing/);
  });
});

describe('hostile files', () => {
  const ok = { w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  const err = (bytes: Uint8Array, re: RegExp) => expect(() => parseSafetensors(bytes)).toThrow(re);

  test('shorter than the length field', () => {
    err(new Uint8Array(0), /truncated file: 0 bytes/);
    err(new Uint8Array(7), /truncated file: 7 bytes/);
  });
  test('header length larger than the file', () => {
    const good = build(ok, f32(1, 2));
    err(build(ok, f32(1, 2), 10_000), /truncated file: header length says 10000 bytes/);
    err(good.subarray(0, 20), /truncated file/);
  });
  test('header length absurd (over the cap, and near 2^64)', () => {
    err(build(ok, f32(1, 2), MAX_HEADER_BYTES + 1), /header length 100000001 bytes is over the 100000000-byte limit/);
    err(build(ok, f32(1, 2), 2n ** 64n - 1n), /over the 100000000-byte limit/);
    expect(() => parseSafetensors(build(ok, f32(1, 2)), { maxHeaderBytes: 16 })).toThrow(/over the 16-byte limit/);
  });
  test('data truncated after a valid header', () => {
    const good = build(ok, f32(1, 2));
    err(good.subarray(0, good.byteLength - 1), /tensor "w": data_offsets \[0, 8\] run past the data, which is 7 bytes/);
  });
  test('header not JSON, not UTF-8, not an object, bad __metadata__', () => {
    err(build('{"w": {"dtype": "F32", '), /header is not valid JSON/);
    err(build('not json at all'), /header is not valid JSON/);
    const bad = build('{"a":1}');
    bad[10] = 0xff;
    err(bad, /header is not valid UTF-8/);
    err(build([1, 2]), /header is not a JSON object/);
    err(build('null'), /header is not a JSON object/);
    err(build({ __metadata__: [] }), /__metadata__ is not an object/);
    err(build({ __metadata__: { step: 3 } }), /__metadata__\["step"\] is not a string/);
    err(build({ w: 5 }), /tensor "w": entry is not an object/);
  });
  test('offsets out of bounds, reversed, negative, fractional, malformed', () => {
    const t = (off: unknown, n = 8) => build({ w: { dtype: 'F32', shape: [2], data_offsets: off } }, new Uint8Array(n));
    err(t([8, 16]), /tensor "w": data_offsets \[8, 16\] run past the data, which is 8 bytes/);
    err(t([8, 0]), /tensor "w": data_offsets \[8, 0\] are not 0 <= begin <= end/);
    err(t([-8, 0]), /tensor "w": data_offsets \[-8, 0\] are not 0 <= begin <= end/);
    err(t([0, 7.5]), /tensor "w": data_offsets must be \[begin, end\] integers/);
    err(t([0]), /tensor "w": data_offsets must be/);
    err(t(undefined), /tensor "w": data_offsets must be/);
    err(t(['0', '8']), /tensor "w": data_offsets must be/);
  });
  test('offsets not matching dtype x shape', () => {
    err(build({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8)),
      /tensor "w": data_offsets \[0, 8\] hold 8 bytes, but F32 \[3\] needs 12/);
    err(build({ w: { dtype: 'F16', shape: [2, 2], data_offsets: [0, 16] } }, new Uint8Array(16)),
      /tensor "w": .* hold 16 bytes, but F16 \[2, 2\] needs 8/);
  });
  test('overlapping tensors', () => {
    const data = new Uint8Array(16);
    err(build({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, data),
      /tensor "b": data_offsets \[4, 12\] overlap tensor "a" \[0, 8\]/);
    err(build({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, data),
      /overlap tensor/);
    // empty tensors may sit anywhere
    expect(() => parseSafetensors(build({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      e: { dtype: 'F32', shape: [0], data_offsets: [4, 4] } }, data))).not.toThrow();
  });
  test('unknown dtype', () => {
    err(build({ w: { dtype: 'F31', shape: [2], data_offsets: [0, 8] } }, new Uint8Array(8)), /tensor "w": unknown dtype "F31"/);
    err(build({ w: { shape: [2], data_offsets: [0, 8] } }, new Uint8Array(8)), /tensor "w": unknown dtype undefined/);
    err(build({ w: { dtype: 'toString', shape: [2], data_offsets: [0, 8] } }, new Uint8Array(8)), /unknown dtype "toString"/);
  });
  test('negative, fractional, non-numeric and huge shapes', () => {
    const s = (shape: unknown) => build({ w: { dtype: 'F32', shape, data_offsets: [0, 8] } }, new Uint8Array(8));
    err(s([-2]), /tensor "w": shape \[-2\] has -2, not a non-negative integer/);
    err(s([2.5]), /tensor "w": shape \[2.5\] has 2.5, not a non-negative integer/);
    err(s(['2']), /tensor "w": shape \["2"\] has "2"/);
    err(s(2), /tensor "w": shape must be an array/);
    err(s([2 ** 30, 2 ** 30, 2 ** 30]), /tensor "w": shape .* more elements than 2\^53/);
    err(s([2 ** 20, 2 ** 20]), /hold 8 bytes, but F32 \[1048576, 1048576\] needs 4398046511104/);
  });
  test('a tensor named __proto__ is an ordinary tensor', () => {
    const bytes = serializeSafetensors([{ name: '__proto__', dtype: 'F32', shape: [1], data: new Float32Array([3]) }], { __proto__x: 'y' });
    expect(Array.from(tensorF32(parseSafetensors(bytes), '__proto__'))).toEqual([3]);
  });
});

describe('fuzz', () => {
  test('3000 mutated files (byte flips in header and data, truncations): parse or a safetensors Error, nothing else', () => {
    const good = serializeSafetensors(
      [
        { name: 'a.weight', dtype: 'F32', shape: [3, 2], data: new Float32Array(6).fill(1) },
        { name: 'b', dtype: 'I8', shape: [5], data: new Int8Array(5) },
        { name: 'c', dtype: 'F16', shape: [1, 3], data: new Uint16Array(3) },
      ],
      { step: '1' },
    );
    const rnd = mulberry32(7);
    let parsed = 0;
    for (let i = 0; i < 3000; i++) {
      let bytes = good.slice();
      const flips = 1 + Math.floor(rnd() * 3);
      for (let f = 0; f < flips; f++) {
        // mostly hit the length field and the header, where the structure lives
        const at = rnd() < 0.2 ? Math.floor(rnd() * 8) : Math.floor(rnd() * bytes.length);
        bytes[at] = rnd() < 0.5 ? Math.floor(rnd() * 256) : '0123456789[]{},-."e'.charCodeAt(Math.floor(rnd() * 19));
      }
      if (rnd() < 0.2) bytes = bytes.subarray(0, Math.floor(rnd() * bytes.length));
      try {
        const p = parseSafetensors(bytes);
        parsed++;
        for (const [, t] of p.tensors) {
          // every view lies inside the file
          expect(t.data.byteOffset + t.data.byteLength).toBeLessThanOrEqual(bytes.byteOffset + bytes.byteLength);
          if (['F32', 'F16', 'BF16', 'F64'].includes(t.dtype)) expect(toF32(t).length).toBe(t.shape.reduce((a, b) => a * b, 1));
        }
      } catch (e) {
        expect(e).toBeInstanceOf(Error);
        expect((e as Error).message).toMatch(/^safetensors: /);
      }
    }
    expect(parsed).toBeGreaterThan(100); // data-only flips still parse
  });
});

describe('serialize refuses bad input', () => {
  test('size mismatch, duplicate and reserved names, unknown dtype, bad shape', () => {
    const d = new Float32Array(2);
    expect(() => serializeSafetensors([{ name: 'w', dtype: 'F32', shape: [3], data: d }])).toThrow(/tensor "w": data has 8 bytes, but F32 \[3\] needs 12/);
    expect(() => serializeSafetensors([{ name: 'w', dtype: 'F32', shape: [2], data: d }, { name: 'w', dtype: 'F32', shape: [2], data: d }])).toThrow(/appears twice/);
    expect(() => serializeSafetensors([{ name: '__metadata__', dtype: 'F32', shape: [2], data: d }])).toThrow(/reserved/);
    expect(() => serializeSafetensors([{ name: 'w', dtype: 'X' as 'F32', shape: [2], data: d }])).toThrow(/unknown dtype "X"/);
    expect(() => serializeSafetensors([{ name: 'w', dtype: 'F32', shape: [-2], data: d }])).toThrow(/not a non-negative integer/);
    expect(() => serializeSafetensors([], { a: 1 as unknown as string })).toThrow(/metadata\["a"\] must be a string/);
  });
});

describe('checkTensors', () => {
  const p = parseSafetensors(
    serializeSafetensors([
      { name: 'conv.weight', dtype: 'F32', shape: [8, 3, 4, 4], data: new Float32Array(8 * 3 * 16) },
      { name: 'conv.bias', dtype: 'F32', shape: [8], data: new Float32Array(8) },
      { name: 'bn.num_batches_tracked', dtype: 'I64', shape: [], data: new BigInt64Array(1) },
    ]),
  );
  test('exact match passes', () => {
    expect(() => checkTensors(p, [{ name: 'conv.weight', shape: [8, 3, 4, 4] }, { name: 'conv.bias', shape: [8] },
      { name: 'bn.num_batches_tracked', shape: [] }])).not.toThrow();
  });
  test('missing, extra and wrong shapes are all listed', () => {
    let msg = '';
    try {
      checkTensors(p, [{ name: 'conv.weight', shape: [8, 3, 3, 3] }, { name: 'conv2.bias', shape: [4] }, { name: 'conv.bias', shape: [8] }]);
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/3 problem\(s\)/);
    expect(msg).toMatch(/tensor "conv.weight": expected shape \[8, 3, 3, 3\], got \[8, 3, 4, 4\]/);
    expect(msg).toMatch(/missing tensor "conv2.bias" \(expected shape \[4\]\)/);
    expect(msg).toMatch(/unexpected tensor "bn.num_batches_tracked" \(shape \[\]\)/);
  });
  test('allowExtra', () => {
    expect(() => checkTensors(p, [{ name: 'conv.bias', shape: [8] }], { allowExtra: true })).not.toThrow();
    expect(() => checkTensors(p, [{ name: 'conv.bias', shape: [8, 1] }], { allowExtra: true })).toThrow(/expected shape \[8, 1\], got \[8\]/);
  });
});
