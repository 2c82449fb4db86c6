// Weight dequantisation for inference: compressed weights (f16, or int8 with one f32 scale per output
// channel) -> f32 in the layer's HWIO layout, run per layer into a scratch just before the conv uses it.
// No backward: weights are not trained in these formats. SIMD and reference agree bit for bit (both exact).

// f16 -> f32 by moving the 15 magnitude bits into an f32 (shift 13) and rescaling by 2^112, which handles
// normals, subnormals and zero exactly; the sign bit is moved separately. Finite halves only: the converter
// never writes Inf or NaN (it saturates), and an Inf/NaN half would come out as a large finite value.
const F16_RESCALE: f32 = reinterpret<f32>(0x77800000); // 2^112

// out[i] = f32(src[i]) for n halves (u16) at src
export function dequant_f16(out: usize, src: usize, n: i32): void {
  const mag = i32x4.splat(0x7fff), sgn = i32x4.splat(0x8000), k = f32x4.splat(F16_RESCALE);
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const h = v128.load(src + (<usize>i << 1));
    const lo = i32x4.extend_low_i16x8_u(h), hi = i32x4.extend_high_i16x8_u(h);
    const flo = v128.or(f32x4.mul(i32x4.shl(v128.and(lo, mag), 13), k), i32x4.shl(v128.and(lo, sgn), 16));
    const fhi = v128.or(f32x4.mul(i32x4.shl(v128.and(hi, mag), 13), k), i32x4.shl(v128.and(hi, sgn), 16));
    v128.store(out + (<usize>i << 2), flo);
    v128.store(out + (<usize>i << 2), fhi, 16);
  }
  for (; i < n; i++) {
    const h = <u32>load<u16>(src + (<usize>i << 1));
    store<f32>(out + (<usize>i << 2), reinterpret<f32>(reinterpret<u32>(reinterpret<f32>((h & 0x7fff) << 13) * F16_RESCALE) | ((h & 0x8000) << 16)));
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
