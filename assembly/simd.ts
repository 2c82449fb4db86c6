// Small helpers shared by the kernels (this module is not re-exported by index.ts, so nothing here is a kernel). `madd` is the one place where the two builds differ:
// the relaxed build fuses multiply-add (f32x4.relaxed_madd), the SIMD128 build does mul then add.
// Results of the two builds therefore differ by rounding only.

// a * b + c, four lanes.
// @ts-ignore: decorator
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    return f32x4.relaxed_madd(a, b, c);
  } else {
    return f32x4.add(f32x4.mul(a, b), c);
  }
}

// Horizontal sum of four f32 lanes.
// @ts-ignore: decorator
@inline export function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

// exp(x) for four lanes: range reduction x = k*ln2 + r, degree-6 polynomial on r (Cephes expf).
// Max relative error about 2 ulp on [-87, 88]; inputs are clamped to that range.
// @ts-ignore: decorator
@inline export function exp4(x: v128): v128 {
  x = f32x4.min(f32x4.max(x, f32x4.splat(-87.0)), f32x4.splat(88.0));
  const k = f32x4.nearest(f32x4.mul(x, f32x4.splat(1.44269504088896341)));
  // r = x - k*ln2, ln2 split in two parts for accuracy
  let r = f32x4.sub(x, f32x4.mul(k, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(k, f32x4.splat(-2.12194440e-4)));
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  p = f32x4.add(f32x4.mul(f32x4.mul(p, r), r), f32x4.add(r, f32x4.splat(1.0)));
  // scale by 2^k through the exponent bits
  const e = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(k), i32x4.splat(127)), 23);
  return f32x4.mul(p, e);
}

// The 4x4 block of rows a, b, c, e stored transposed: lane i of each row, in order, at d + i*ds bytes
// (pack_rows4's and colPack4's panels: ds = 16; the Winograd tiles' 8-float panels: ds = 32).
// @ts-ignore: decorator
@inline export function storeT4(d: usize, ds: usize, a: v128, b: v128, c: v128, e: v128): void {
  const t0 = v128.shuffle<f32>(a, b, 0, 4, 1, 5), t1 = v128.shuffle<f32>(a, b, 2, 6, 3, 7);
  const t2 = v128.shuffle<f32>(c, e, 0, 4, 1, 5), t3 = v128.shuffle<f32>(c, e, 2, 6, 3, 7);
  v128.store(d, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
  v128.store(d + ds, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7));
  v128.store(d + 2 * ds, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5));
  v128.store(d + 3 * ds, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7));
}

// The bias b [OC] copied into dst zero-padded to `padded` floats (GEMM panels read whole vectors); returns dst,
// or 0 when there is no bias (b == 0).
// @ts-ignore: decorator
@inline export function stagedBias(dst: usize, b: usize, OC: i32, padded: i32): usize {
  if (b == 0) return 0;
  memory.fill(dst, 0, <usize>padded << 2);
  memory.copy(dst, b, <usize>OC << 2);
  return dst;
}

// y rows p < P (pixel stride ldy floats) start as the bias b (or zero when b == 0), n floats each: the kernels
// that then only accumulate into them.
// @ts-ignore: decorator
@inline export function startRows(y: usize, P: i32, ldy: i32, n: i32, b: usize): void {
  for (let p = 0; p < P; p++) {
    if (b != 0) memory.copy(y + (<usize>(p * ldy) << 2), b, <usize>n << 2);
    else memory.fill(y + (<usize>(p * ldy) << 2), 0, <usize>n << 2);
  }
}
