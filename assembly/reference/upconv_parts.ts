// Scalar reference twin of assembly/upconv_parts.ts, written from the parts' definitions: each output element is
// EE + EP + PE + PP + b, each part summed tap by tap over its x pixels (zero outside the image), one float at a time.
// x (N, H, W, C) pixel stride ldx; y (N, 2H, 2W, OC) pixel stride ldy; w HWIO [3][3][C][OC]; b [OC] (0 = none).

// @ts-ignore: decorator
@inline function at(p: usize, i: i32): usize { return p + (<usize>i << 2); }

export function ref_upconv_parts_forward_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 {
  return 0;
}

// sum_c x[n, ih, iw, c] * w[kh, kw, c, oc], zero where (ih, iw) is outside the image
function term(x: usize, w: usize, n: i32, ih: i32, iw: i32, kh: i32, kw: i32, oc: i32, H: i32, W: i32, C: i32, OC: i32, ldx: i32): f32 {
  if (ih < 0 || ih >= H || iw < 0 || iw >= W) return 0;
  const xp = at(x, ((n * H + ih) * W + iw) * ldx), wp = at(w, (kh * 3 + kw) * C * OC + oc);
  let s: f32 = 0;
  for (let c = 0; c < C; c++) s += load<f32>(at(xp, c)) * load<f32>(at(wp, c * OC));
  return s;
}

// y[n, 2i+a, 2j+b, oc] = EE[i+a][j+b] + EP[i+a][j] + PE[i][j+b] + PP[i][j] + b[oc], with
// EE[m][k] = sum_{p, q in {0, 1}} w[2p][2q] x[m-1+p][k-1+q], EP[m][j] = sum_p w[2p][1] x[m-1+p][j],
// PE[i][k] = sum_q w[1][2q] x[i][k-1+q], PP[i][j] = w[1][1] x[i][j].
export function ref_upconv_parts_forward(y: usize, x: usize, w: usize, b: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  for (let n = 0; n < N; n++) for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) for (let a = 0; a < 2; a++) for (let bb = 0; bb < 2; bb++) {
    const m = i + a, k = j + bb;
    const yp = at(y, ((n * 2 * H + 2 * i + a) * 2 * W + 2 * j + bb) * ldy);
    for (let oc = 0; oc < OC; oc++) {
      let ee: f32 = 0, ep: f32 = 0, pe: f32 = 0;
      for (let p = 0; p < 2; p++) for (let q = 0; q < 2; q++) ee += term(x, w, n, m - 1 + p, k - 1 + q, 2 * p, 2 * q, oc, H, W, C, OC, ldx);
      for (let p = 0; p < 2; p++) ep += term(x, w, n, m - 1 + p, j, 2 * p, 1, oc, H, W, C, OC, ldx);
      for (let q = 0; q < 2; q++) pe += term(x, w, n, i, k - 1 + q, 1, 2 * q, oc, H, W, C, OC, ldx);
      const pp = term(x, w, n, i, j, 1, 1, oc, H, W, C, OC, ldx);
      store<f32>(at(yp, oc), ee + ep + pe + pp + (b != 0 ? load<f32>(at(b, oc)) : 0));
    }
  }
}
