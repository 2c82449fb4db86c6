// The box sums of an upsample x2 + 3x3 conv's output gradient, shared by its backward passes (upconv.ts,
// winograd_split.ts); not a kernel, so not exported from assembly/index.ts.

// D[n][r][s] = sum of dy[n][r-1 .. r][s-1 .. s] inside the 2H x 2W image, for r <= 2H, s <= 2W (OC floats each).
export function boxSums(d: usize, dy: usize, N: i32, H: i32, W: i32, OC: i32, ldy: i32): void {
  const UH = 2 * H, UW = 2 * W, OC4 = OC & ~3;
  const ld = <usize>ldy << 2, row = <usize>UW * ld;
  let o = d;
  for (let n = 0; n < N; n++) for (let r = 0; r <= UH; r++) for (let s = 0; s <= UW; s++) {
    // the 1, 2 or 4 dy pixels; a missing one repeats the first and is masked by its weight 0
    const r0 = r > 0 ? r - 1 : r, s0 = s > 0 ? s - 1 : s;
    const p = dy + <usize>((n * UH + r0) * UW + s0) * ld;
    const dr = r > 0 && r < UH, ds = s > 0 && s < UW;
    let c = 0;
    for (; c < OC4; c += 4) {
      const q = p + (<usize>c << 2);
      let v = v128.load(q);
      if (ds) v = f32x4.add(v, v128.load(q + ld));
      if (dr) {
        v = f32x4.add(v, v128.load(q + row));
        if (ds) v = f32x4.add(v, v128.load(q + row + ld));
      }
      v128.store(o + (<usize>c << 2), v);
    }
    for (; c < OC; c++) {
      const q = p + (<usize>c << 2);
      let v = load<f32>(q);
      if (ds) v += load<f32>(q + ld);
      if (dr) { v += load<f32>(q + row); if (ds) v += load<f32>(q + row + ld); }
      store<f32>(o + (<usize>c << 2), v);
    }
    o += <usize>OC << 2;
  }
}
