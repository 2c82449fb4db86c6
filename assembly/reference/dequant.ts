// Scalar reference twins of assembly/dequant.ts: one value at a time, same signatures.

function half(src: usize, i: i32): f32 {
  const h = <u32>load<u16>(src + (<usize>i << 1));
  const e = (h >> 10) & 0x1f, m = h & 0x3ff;
  // value = m * 2^-24 (subnormal) or (1024 + m) * 2^(e - 25); both exact in f32
  const mag: f32 = e == 0 ? <f32>m * reinterpret<f32>(0x33800000) : <f32>(m + <u32>1024) * reinterpret<f32>((e + 102) << 23);
  return h & 0x8000 ? -mag : mag;
}

export function ref_dequant_f16(out: usize, src: usize, n: i32): void {
  for (let i = 0; i < n; i++) store<f32>(out + (<usize>i << 2), half(src, i));
}

// panel layout: element (r, oc) of [rows][OC] at [oc / 8][r][oc % 8], columns up to a multiple of 8 (zeros past OC)
export function ref_dequant_f16_panels(out: usize, src: usize, rows: i32, OC: i32): void {
  const cols = (OC + 7) & ~7;
  for (let r = 0; r < rows; r++) for (let oc = 0; oc < cols; oc++) {
    store<f32>(out + (<usize>((oc >> 3) * rows * 8 + r * 8 + (oc & 7)) << 2), oc < OC ? half(src, r * OC + oc) : 0);
  }
}

export function ref_dequant_i8_panels(out: usize, src: usize, scale: usize, rows: i32, OC: i32): void {
  const cols = (OC + 7) & ~7;
  for (let r = 0; r < rows; r++) for (let oc = 0; oc < cols; oc++) {
    const v: f32 = oc < OC ? <f32>load<i8>(src + r * OC + oc) * load<f32>(scale + (<usize>oc << 2)) : 0;
    store<f32>(out + (<usize>((oc >> 3) * rows * 8 + r * 8 + (oc & 7)) << 2), v);
  }
}

export function ref_dequant_i8(out: usize, src: usize, scale: usize, n: i32, OC: i32): void {
  for (let i = 0; i < n; i++) store<f32>(out + (<usize>i << 2), <f32>load<i8>(src + i) * load<f32>(scale + (<usize>(i % OC) << 2)));
}
