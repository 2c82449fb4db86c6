// Scalar reference twins of assembly/upconv.ts: the 3x3 conv run on the upsampled image u = up2(x) read in
// place (u[p][q] = x[p >> 1][q >> 1]), one output element at a time; none of the kernels' phase algebra.
// x (N, H, W, C) pixel stride ldx; y (N, 2H, 2W, OC) pixel stride ldy; w HWIO [3][3][C][OC]; b [OC] (0 = none).
// Backward passes ACCUMULATE. They take the same scratch argument as the SIMD kernels and ignore it.

// @ts-ignore: decorator
@inline function at(p: usize, i: i32): usize { return p + (<usize>i << 2); }

// The reference needs no scratch.
export function ref_upconv_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 {
  return 0;
}

export function ref_upconv_forward_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 {
  return 0;
}

// y[n, oh, ow, oc] = b[oc] + sum_{kh, kw, c} u[n, oh + kh - 1, ow + kw - 1, c] * w[kh, kw, c, oc]
export function ref_upconv_forward(y: usize, x: usize, w: usize, b: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  const UH = 2 * H, UW = 2 * W;
  for (let n = 0; n < N; n++) for (let oh = 0; oh < UH; oh++) for (let ow = 0; ow < UW; ow++) {
    const yp = at(y, ((n * UH + oh) * UW + ow) * ldy);
    for (let oc = 0; oc < OC; oc++) {
      let s: f32 = b != 0 ? load<f32>(at(b, oc)) : 0;
      for (let kh = 0; kh < 3; kh++) {
        const p = oh + kh - 1;
        if (p < 0 || p >= UH) continue;
        for (let kw = 0; kw < 3; kw++) {
          const q = ow + kw - 1;
          if (q < 0 || q >= UW) continue;
          const xp = at(x, ((n * H + (p >> 1)) * W + (q >> 1)) * ldx);
          const wp = at(w, (kh * 3 + kw) * C * OC + oc);
          for (let c = 0; c < C; c++) s += load<f32>(at(xp, c)) * load<f32>(at(wp, c * OC));
        }
      }
      store<f32>(at(yp, oc), s);
    }
  }
}

// dx[n, i, j, c] += sum over the u pixels (p, q) with p >> 1 = i, q >> 1 = j, the taps (kh, kw) and oc of
//                   dy[n, p + 1 - kh, q + 1 - kw, oc] * w[kh, kw, c, oc]   (dy pixels inside the image)
export function ref_upconv_backward_input(dx: usize, dy: usize, w: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldx: i32, ldy: i32): void {
  const UH = 2 * H, UW = 2 * W;
  for (let n = 0; n < N; n++) for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) {
    const dxp = at(dx, ((n * H + i) * W + j) * ldx);
    for (let c = 0; c < C; c++) {
      let s: f32 = 0;
      for (let p = 2 * i; p < 2 * i + 2; p++) for (let q = 2 * j; q < 2 * j + 2; q++) {
        for (let kh = 0; kh < 3; kh++) {
          const oh = p + 1 - kh;
          if (oh < 0 || oh >= UH) continue;
          for (let kw = 0; kw < 3; kw++) {
            const ow = q + 1 - kw;
            if (ow < 0 || ow >= UW) continue;
            const dyp = at(dy, ((n * UH + oh) * UW + ow) * ldy);
            const wp = at(w, ((kh * 3 + kw) * C + c) * OC);
            for (let oc = 0; oc < OC; oc++) s += load<f32>(at(dyp, oc)) * load<f32>(at(wp, oc));
          }
        }
      }
      store<f32>(at(dxp, c), load<f32>(at(dxp, c)) + s);
    }
  }
}

// dw[kh, kw, c, oc] += sum_{n, oh, ow} u[n, oh + kh - 1, ow + kw - 1, c] * dy[n, oh, ow, oc];
// db[oc] += sum_{n, oh, ow} dy[n, oh, ow, oc]  (skipped when db == 0)
export function ref_upconv_backward_weight(dw: usize, db: usize, dy: usize, x: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  const UH = 2 * H, UW = 2 * W;
  for (let kh = 0; kh < 3; kh++) for (let kw = 0; kw < 3; kw++) for (let c = 0; c < C; c++) {
    const wp = at(dw, ((kh * 3 + kw) * C + c) * OC);
    for (let oc = 0; oc < OC; oc++) {
      let s: f32 = 0;
      for (let n = 0; n < N; n++) for (let oh = 0; oh < UH; oh++) {
        const p = oh + kh - 1;
        if (p < 0 || p >= UH) continue;
        for (let ow = 0; ow < UW; ow++) {
          const q = ow + kw - 1;
          if (q < 0 || q >= UW) continue;
          s += load<f32>(at(x, ((n * H + (p >> 1)) * W + (q >> 1)) * ldx + c)) * load<f32>(at(dy, ((n * UH + oh) * UW + ow) * ldy + oc));
        }
      }
      store<f32>(at(wp, oc), load<f32>(at(wp, oc)) + s);
    }
  }
  if (db != 0) {
    const P = N * UH * UW;
    for (let oc = 0; oc < OC; oc++) {
      let s: f32 = 0;
      for (let p = 0; p < P; p++) s += load<f32>(at(dy, p * ldy + oc));
      store<f32>(at(db, oc), load<f32>(at(db, oc)) + s);
    }
  }
}

// ---- packed weights (the reference ignores wd: given wd = upconv_pack(w), the result is that of w) ----

export function ref_upconv_packed_size(C: i32, OC: i32): i32 {
  return OC > 4 ? 16 * C * ((OC + 7) & ~7) : 16 * C * OC;
}

export function ref_upconv_packed_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 {
  return 0;
}

// OC > 4: the four output phases' 2x2 kernels as 8-wide panels. Output row o = 2i + a reads u rows o - 1 .. o + 1
// (kh = u - o + 1), and u rows 2r, 2r + 1 are x row r; so the phase's tap dr (x row i + a - 1 + dr) sums
// kh in {a - 1 + 2dr, a + 2dr} inside [0, 2]; columns alike.
//   wd[ph = 2a + b][j][t = 2dr + dc][c][cc] = sum_{kh, kw} w[kh][kw][c][8j + cc]   (0 for 8j + cc >= OC)
// OC <= 4: the dual 4x4 kernel, wd[k][l][oc][c] = sum_{kh in S(k), kw in S(l)} w[kh][kw][c][oc],
// S(0) = {2}, S(1) = {1, 2}, S(2) = {0, 1}, S(3) = {0} (see upconv.ts).
export function ref_upconv_pack(wd: usize, w: usize, scratch: usize, C: i32, OC: i32): void {
  if (OC > 4) {
    const OC8 = (OC + 7) & ~7;
    for (let a = 0; a < 2; a++) for (let b = 0; b < 2; b++) for (let dr = 0; dr < 2; dr++) for (let dc = 0; dc < 2; dc++) {
      for (let c = 0; c < C; c++) for (let col = 0; col < OC8; col++) {
        let s: f32 = 0;
        if (col < OC) {
          for (let kh = a - 1 + 2 * dr; kh <= a + 2 * dr; kh++) {
            if (kh < 0 || kh > 2) continue;
            for (let kw = b - 1 + 2 * dc; kw <= b + 2 * dc; kw++) {
              if (kw < 0 || kw > 2) continue;
              s += load<f32>(at(w, ((kh * 3 + kw) * C + c) * OC + col));
            }
          }
        }
        const e = (2 * a + b) * 4 * C * OC8 + (col >> 3) * 4 * C * 8 + ((2 * dr + dc) * C + c) * 8 + (col & 7);
        store<f32>(at(wd, e), s);
      }
    }
    return;
  }
  for (let k = 0; k < 4; k++) for (let l = 0; l < 4; l++) for (let oc = 0; oc < OC; oc++) for (let c = 0; c < C; c++) {
    let s: f32 = 0;
    for (let kh = 0; kh < 3; kh++) {
      if (kh < 2 - k || kh > 3 - k) continue; // S(k) = [max(0, 2 - k), min(2, 3 - k)]
      for (let kw = 0; kw < 3; kw++) {
        if (kw < 2 - l || kw > 3 - l) continue;
        s += load<f32>(at(w, ((kh * 3 + kw) * C + c) * OC + oc));
      }
    }
    store<f32>(at(wd, (((k * 4 + l) * OC + oc) * C) + c), s);
  }
}

export function ref_upconv_forward_packed(y: usize, x: usize, w: usize, wd: usize, b: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  ref_upconv_forward(y, x, w, b, scratch, N, H, W, C, OC, ldy, ldx);
}
