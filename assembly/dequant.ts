// Weight dequantisation for inference: compressed weights (f16, or int8 with one f32 scale per output
// channel) -> f32 in the layer's HWIO layout, or (*_panels) in the 8-wide panels of conv2d_pack, run per layer
// into a scratch just before the conv uses it.
// No backward: weights are not trained in these formats. SIMD and reference agree bit for bit (both exact).

// f16 -> f32 by moving the 15 magnitude bits into an f32 (shift 13) and rescaling by 2^112, which handles
// normals, subnormals and zero exactly; the sign bit is moved separately. Finite halves only: the converter
// never writes Inf or NaN (it saturates), and an Inf/NaN half would come out as a large finite value.
const F16_RESCALE: f32 = reinterpret<f32>(0x77800000); // 2^112

// 8 halves at src -> 8 f32 at out
// @ts-ignore: decorator
@inline function f16x8(out: usize, src: usize): void {
  const mag = i32x4.splat(0x7fff), sgn = i32x4.splat(0x8000), k = f32x4.splat(F16_RESCALE);
  const h = v128.load(src);
  const lo = i32x4.extend_low_i16x8_u(h), hi = i32x4.extend_high_i16x8_u(h);
  v128.store(out, v128.or(f32x4.mul(i32x4.shl(v128.and(lo, mag), 13), k), i32x4.shl(v128.and(lo, sgn), 16)));
  v128.store(out, v128.or(f32x4.mul(i32x4.shl(v128.and(hi, mag), 13), k), i32x4.shl(v128.and(hi, sgn), 16)), 16);
}

// one half at src -> f32
// @ts-ignore: decorator
@inline function f16(src: usize): f32 {
  const h = <u32>load<u16>(src);
  return reinterpret<f32>(reinterpret<u32>(reinterpret<f32>((h & 0x7fff) << 13) * F16_RESCALE) | ((h & 0x8000) << 16));
}

// out[i] = f32(src[i]) for n halves (u16) at src
export function dequant_f16(out: usize, src: usize, n: i32): void {
  let i = 0;
  for (; i + 8 <= n; i += 8) f16x8(out + (<usize>i << 2), src + (<usize>i << 1));
  for (; i < n; i++) store<f32>(out + (<usize>i << 2), f16(src + (<usize>i << 1)));
}

// The same, written straight into the 8-wide panels of conv2d_pack (a conv's weights [rows][OC], OC > 4, packed
// per call where a file keeps its weights compressed): out[j][r][cc] = f32(src[r*OC + 8j + cc]), 0 past OC.
export function dequant_f16_panels(out: usize, src: usize, rows: i32, OC: i32): void {
  const NP = (OC + 7) >> 3, ls = <usize>OC << 1;
  // panels outer: each panel written sequentially, its rows read 2*OC bytes apart
  for (let j = 0; j < NP; j++) {
    const nc = min(8, OC - (j << 3));
    let d = out + ((<usize>j * rows) << 5), s = src + (<usize>j << 4);
    if (nc == 8) {
      for (let r = 0; r < rows; r++) { f16x8(d, s); d += 32; s += ls; }
      continue;
    }
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < 8; c++) store<f32>(d + (<usize>c << 2), c < nc ? f16(s + (<usize>c << 1)) : 0);
      d += 32; s += ls;
    }
  }
}

// int8 into the panels of conv2d_pack (see dequant_f16_panels): out[j][r][cc] = src[r*OC + 8j + cc] * scale[8j + cc],
// 0 past OC.
export function dequant_i8_panels(out: usize, src: usize, scale: usize, rows: i32, OC: i32): void {
  const NP = (OC + 7) >> 3, ls = <usize>OC;
  // panels outer, as dequant_f16_panels
  for (let j = 0; j < NP; j++) {
    const nc = min(8, OC - (j << 3)), o = <usize>(j << 3);
    let d = out + ((<usize>j * rows) << 5), q = src + o;
    if (nc == 8) {
      const s0 = v128.load(scale + (o << 2)), s1 = v128.load(scale + (o << 2), 16);
      for (let r = 0; r < rows; r++) {
        const a = i16x8.extend_low_i8x16_s(v128.load64_zero(q));
        v128.store(d, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(a)), s0));
        v128.store(d, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(a)), s1), 16);
        d += 32; q += ls;
      }
      continue;
    }
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < 8; c++) store<f32>(d + (<usize>c << 2), c < nc ? <f32>load<i8>(q + c) * load<f32>(scale + ((o + c) << 2)) : 0);
      d += 32; q += ls;
    }
  }
}

// out[i] = src[i] (i8) * scale[i % OC] for n = rows * OC values (OC innermost, as in HWIO)
export function dequant_i8(out: usize, src: usize, scale: usize, n: i32, OC: i32): void {
  const rows = n / OC;
  for (let r = 0; r < rows; r++) {
    const q = src + <usize>r * OC, y = out + ((<usize>r * OC) << 2);
    let o = 0;
    for (; o + 16 <= OC; o += 16) {
      const v = v128.load(q + o);
      const a = i16x8.extend_low_i8x16_s(v), b = i16x8.extend_high_i8x16_s(v);
      const so = scale + (<usize>o << 2), yo = y + (<usize>o << 2);
      v128.store(yo, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(a)), v128.load(so)));
      v128.store(yo, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(a)), v128.load(so, 16)), 16);
      v128.store(yo, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(b)), v128.load(so, 32)), 32);
      v128.store(yo, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(b)), v128.load(so, 48)), 48);
    }
    for (; o + 4 <= OC; o += 4) {
      const v = v128.load32_zero(q + o);
      const f = f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(i16x8.extend_low_i8x16_s(v)));
      v128.store(y + (<usize>o << 2), f32x4.mul(f, v128.load(scale + (<usize>o << 2))));
    }
    for (; o < OC; o++) store<f32>(y + (<usize>o << 2), <f32>load<i8>(q + o) * load<f32>(scale + (<usize>o << 2)));
  }
}
