// Scalar reference twins of assembly/dequant.ts: one value at a time, same signatures.

export function ref_dequant_f16(out: usize, src: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const h = <u32>load<u16>(src + (<usize>i << 1));
    const e = (h >> 10) & 0x1f, m = h & 0x3ff;
    // value = m * 2^-24 (subnormal) or (1024 + m) * 2^(e - 25); both exact in f32
    const mag: f32 = e == 0 ? <f32>m * reinterpret<f32>(0x33800000) : <f32>(m + <u32>1024) * reinterpret<f32>((e + 102) << 23);
    store<f32>(out + (<usize>i << 2), h & 0x8000 ? -mag : mag);
  }
}

export function ref_dequant_i8(out: usize, src: usize, scale: usize, n: i32, OC: i32): void {
  for (let i = 0; i < n; i++) store<f32>(out + (<usize>i << 2), <f32>load<i8>(src + i) * load<f32>(scale + (<usize>(i % OC) << 2)));
}
