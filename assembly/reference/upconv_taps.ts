// Scalar reference twin of assembly/upconv_taps.ts, written from its definition: the packed taps (tap t's matrix
// in 8-wide panels, zero past OC), and each output element b + the sum over the taps (r, s) that see a pixel of the
// image of x at that pixel dot tap (r, s)'s column, read from the packed panels, one float at a time.
// x (N, H, W, C) pixel stride ldx; y (N, 2H, 2W, OC) pixel stride ldy; w HWIO [3][3][C][OC]; b [OC] (0 = none).

// @ts-ignore: decorator
@inline function at(p: usize, i: i32): usize { return p + (<usize>i << 2); }
// @ts-ignore: decorator
@inline function c8(n: i32): i32 { return (n + 7) & ~7; }

export function ref_upconv_taps_packed_size(C: i32, OC: i32): i32 { return 9 * C * c8(OC); }

// wp[t][j][k][cc] = w[t][k][8j + cc], zero for 8j + cc >= OC
export function ref_upconv_taps_pack(wp: usize, w: usize, C: i32, OC: i32): void {
  for (let t = 0; t < 9; t++) for (let j = 0; j < c8(OC) >> 3; j++) for (let k = 0; k < C; k++) for (let cc = 0; cc < 8; cc++) {
    const oc = 8 * j + cc;
    store<f32>(at(wp, ((t * (c8(OC) >> 3) + j) * C + k) * 8 + cc), oc < OC ? load<f32>(at(w, (t * C + k) * OC + oc)) : 0);
  }
}

export function ref_upconv_taps_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 {
  return 0;
}

export function ref_upconv_taps_forward_packed(y: usize, x: usize, wp: usize, b: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  for (let n = 0; n < N; n++) for (let p = 0; p < 2 * H; p++) for (let q = 0; q < 2 * W; q++) for (let oc = 0; oc < OC; oc++) {
    let s: f32 = b != 0 ? load<f32>(at(b, oc)) : 0;
    for (let r = 0; r < 3; r++) for (let t = 0; t < 3; t++) {
      const u = p + r - 1, v = q + t - 1;
      if (u < 0 || u >= 2 * H || v < 0 || v >= 2 * W) continue;
      const xp = at(x, ((n * H + (u >> 1)) * W + (v >> 1)) * ldx);
      const col = at(wp, ((3 * r + t) * (c8(OC) >> 3) + (oc >> 3)) * C * 8 + (oc & 7));
      let d: f32 = 0;
      for (let c = 0; c < C; c++) d += load<f32>(at(xp, c)) * load<f32>(at(col, 8 * c));
      s += d;
    }
    store<f32>(at(y, ((n * 2 * H + p) * 2 * W + q) * ldy + oc), s);
  }
}
