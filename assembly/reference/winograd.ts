// Scalar reference twins of assembly/winograd.ts: Winograd F(2x2, 3x3) for the stride-1 pad-1 3x3 conv, written
// straight from the matrix definitions (one tile, one channel pair, one transform entry at a time; no packing,
// no chunks). x (N, H, W, C) pixel stride ldx; y (N, H, W, OC) pixel stride ldy; w HWIO [3][3][C][OC]; b [OC].
//   Y = A^T [ sum_c (G g G^T) (.) (B^T d B) ] A per 2x2 output tile, d = the 4x4 input patch at (2ti-1, 2tj-1).
// Backward passes ACCUMULATE. They take the same scratch argument as the SIMD kernels and ignore it.
import { put, putTile, px } from './tiles';

// @ts-ignore: decorator
@inline function at(p: usize, i: i32): usize { return p + (<usize>i << 2); }

// B^T[r][i], G[r][a], A^T[a][r]
function bt(r: i32, i: i32): f32 {
  if (r == 0) return i == 0 ? 1 : i == 2 ? -1 : 0;
  if (r == 1) return i == 1 || i == 2 ? 1 : 0;
  if (r == 2) return i == 1 ? -1 : i == 2 ? 1 : 0;
  return i == 1 ? 1 : i == 3 ? -1 : 0;
}
function gm(r: i32, a: i32): f32 {
  if (r == 0) return a == 0 ? 1 : 0;
  if (r == 3) return a == 2 ? 1 : 0;
  return r == 2 && a == 1 ? -0.5 : 0.5;
}
function atm(a: i32, r: i32): f32 {
  if (a == 0) return r == 3 ? 0 : 1;
  return r == 0 ? 0 : r == 1 ? 1 : -1;
}

export function ref_winograd3_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 { return 0; }
export function ref_winograd3_forward_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 { return 0; }

// (B^T d B)[r][s] for channel c of the patch at (ih0, iw0)
function vt(x: usize, ldx: i32, n: i32, ih0: i32, iw0: i32, c: i32, H: i32, W: i32, r: i32, s: i32): f32 {
  let v: f32 = 0;
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) {
    const f = bt(r, i) * bt(s, j);
    if (f != 0) v += f * px(x, ldx, n, ih0 + i, iw0 + j, c, H, W);
  }
  return v;
}

// (G g G^T)[r][s], g[a][b] = w[a][b][c][oc], or w[2-a][2-b][c][oc] when `flip` (the rotated kernel)
function ut(w: usize, c: i32, oc: i32, C: i32, OC: i32, flip: bool, r: i32, s: i32): f32 {
  let u: f32 = 0;
  for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) {
    const f = gm(r, a) * gm(s, b);
    if (f == 0) continue;
    const tap = flip ? (2 - a) * 3 + 2 - b : a * 3 + b;
    const g = load<f32>(at(w, tap * C * OC + c * OC + oc));
    u += f * g;
  }
  return u;
}

// y (= or += when acc) [+ b] = the Winograd conv of x (Cin channels) to Cout channels; `flip`: w is the forward
// weight [3][3][Cout][Cin] flipped and transposed (backward-input), else [3][3][Cin][Cout].
function wconv(y: usize, x: usize, w: usize, b: usize, N: i32, H: i32, W: i32, Cin: i32, Cout: i32, ldy: i32, ldx: i32,
  flip: bool, acc: bool): void {
  const TH = (H + 1) / 2, TW = (W + 1) / 2;
  for (let n = 0; n < N; n++) for (let ti = 0; ti < TH; ti++) for (let tj = 0; tj < TW; tj++) {
    for (let o = 0; o < Cout; o++) {
      // m[r][s] = sum_c U[r][s] V[r][s], then Y = A^T m A
      let y00: f32 = 0, y01: f32 = 0, y10: f32 = 0, y11: f32 = 0;
      for (let r = 0; r < 4; r++) for (let s = 0; s < 4; s++) {
        let m: f32 = 0;
        for (let c = 0; c < Cin; c++) {
          m += (flip ? ut(w, o, c, Cout, Cin, true, r, s) : ut(w, c, o, Cin, Cout, false, r, s)) *
            vt(x, ldx, n, 2 * ti - 1, 2 * tj - 1, c, H, W, r, s);
        }
        y00 += atm(0, r) * atm(0, s) * m; y01 += atm(0, r) * atm(1, s) * m;
        y10 += atm(1, r) * atm(0, s) * m; y11 += atm(1, r) * atm(1, s) * m;
      }
      const bv: f32 = b != 0 ? load<f32>(at(b, o)) : 0;
      putTile(y, ldy, n, 2 * ti, 2 * tj, o, H, W, y00, y01, y10, y11, bv, acc);
    }
  }
}

export function ref_winograd3_forward(y: usize, x: usize, w: usize, b: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  wconv(y, x, w, b, N, H, W, C, OC, ldy, ldx, false, false);
}

export function ref_winograd3_backward_input(dx: usize, dy: usize, w: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldx: i32, ldy: i32): void {
  wconv(dx, dy, w, 0, N, H, W, OC, C, ldx, ldy, true, true);
}

// dw[a][b][c][oc] += sum_tiles sum_{r,s} G[r][a] G[s][b] V[r][s] (A dY A^T)[r][s]; db[oc] += sum dy
export function ref_winograd3_backward_weight(dw: usize, db: usize, dy: usize, x: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  const TH = (H + 1) / 2, TW = (W + 1) / 2;
  if (db != 0) {
    for (let p = 0; p < N * H * W; p++) for (let o = 0; o < OC; o++) store<f32>(at(db, o), load<f32>(at(db, o)) + load<f32>(at(dy, p * ldy + o)));
  }
  for (let n = 0; n < N; n++) for (let ti = 0; ti < TH; ti++) for (let tj = 0; tj < TW; tj++) {
    for (let o = 0; o < OC; o++) for (let r = 0; r < 4; r++) for (let s = 0; s < 4; s++) {
      // (A dY A^T)[r][s] = sum_{a,b} A^T[a][r] dY[a][b] A^T[b][s]
      let md: f32 = 0;
      for (let a = 0; a < 2; a++) for (let bb = 0; bb < 2; bb++) {
        const f = atm(a, r) * atm(bb, s);
        if (f != 0) md += f * px(dy, ldy, n, 2 * ti + a, 2 * tj + bb, o, H, W);
      }
      if (md == 0) continue;
      for (let c = 0; c < C; c++) {
        const du = md * vt(x, ldx, n, 2 * ti - 1, 2 * tj - 1, c, H, W, r, s);
        for (let a = 0; a < 3; a++) for (let bb = 0; bb < 3; bb++) {
          const f = gm(r, a) * gm(s, bb);
          if (f == 0) continue;
          const q = at(dw, (a * 3 + bb) * C * OC + c * OC + o);
          store<f32>(q, load<f32>(q) + f * du);
        }
      }
    }
  }
}
