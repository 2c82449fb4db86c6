// Scalar reference twins of assembly/winograd_s2.ts: the 4x4 stride-2 pad-1 conv as four stride-1 2x2 convs over
// the input's even/odd phases, each by Winograd F(2x2, 2x2), written straight from the matrix definitions (one
// tile, one channel pair, one transform entry at a time). x (N, H, W, C) pixel stride ldx; y (N, OH, OW, OC)
// pixel stride ldy, OH = (H - 2) / 2 + 1; w HWIO [4][4][C][OC]; b [OC].
//   phase (pr, pc): d[i][j] = x[4ti - 1 + pr + 2i][4tj - 1 + pc + 2j], g[a][b] = w[2a + pr][2b + pc]
//   Y = A^T [ sum_{phases, c} (G g G^T) (.) (B^T d B) ] A,  B^T = [1 -1 0; 0 1 0; 0 -1 1], G = [1 0; 1 1; 0 1],
//   A^T = [1 1 0; 0 1 1].
// Backward passes ACCUMULATE. They take the same scratch argument as the SIMD kernels and ignore it.
import { put, putTile, px } from './tiles';

// @ts-ignore: decorator
@inline function at(p: usize, i: i32): usize { return p + (<usize>i << 2); }

function bt(r: i32, i: i32): f32 { return r == 1 ? (i == 1 ? 1 : 0) : i == 1 ? -1 : (r == 0 ? i == 0 : i == 2) ? 1 : 0; }
function gm(r: i32, a: i32): f32 { return r == 1 ? 1 : (r == 0 ? a == 0 : a == 1) ? 1 : 0; }
function atm(a: i32, r: i32): f32 { return r == 1 ? 1 : (a == 0 ? r == 0 : r == 2) ? 1 : 0; }

export function ref_winograd_s2_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 { return 0; }
export function ref_winograd_s2_forward_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 { return 0; }

// (B^T d B)[r][s], d[i][j] = t[n][h0 + i*st][w0 + j*st][c]
function vt(t: usize, ld: i32, n: i32, h0: i32, w0: i32, st: i32, c: i32, H: i32, W: i32, r: i32, s: i32): f32 {
  let v: f32 = 0;
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) {
    const f = bt(r, i) * bt(s, j);
    if (f != 0) v += f * px(t, ld, n, h0 + i * st, w0 + j * st, c, H, W);
  }
  return v;
}

// (G g G^T)[r][s], g[a][b] = w[ta(a)][tb(b)][c][oc] with ta(a) = a0 + a*da (columns alike)
function ut(w: usize, c: i32, oc: i32, C: i32, OC: i32, a0: i32, da: i32, b0: i32, db: i32, r: i32, s: i32): f32 {
  let u: f32 = 0;
  for (let a = 0; a < 2; a++) for (let b = 0; b < 2; b++) {
    const f = gm(r, a) * gm(s, b);
    if (f != 0) u += f * load<f32>(at(w, ((a0 + a * da) * 4 + b0 + b * db) * C * OC + c * OC + oc));
  }
  return u;
}

export function ref_winograd_s2_forward(y: usize, x: usize, w: usize, b: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  const OH = (H - 2) / 2 + 1, OW = (W - 2) / 2 + 1;
  for (let n = 0; n < N; n++) for (let ti = 0; ti < (OH + 1) / 2; ti++) for (let tj = 0; tj < (OW + 1) / 2; tj++) {
    for (let o = 0; o < OC; o++) {
      let y00: f32 = 0, y01: f32 = 0, y10: f32 = 0, y11: f32 = 0;
      for (let r = 0; r < 3; r++) for (let s = 0; s < 3; s++) {
        let m: f32 = 0;
        for (let pr = 0; pr < 2; pr++) for (let pc = 0; pc < 2; pc++) for (let c = 0; c < C; c++) {
          m += ut(w, c, o, C, OC, pr, 2, pc, 2, r, s) * vt(x, ldx, n, 4 * ti - 1 + pr, 4 * tj - 1 + pc, 2, c, H, W, r, s);
        }
        y00 += atm(0, r) * atm(0, s) * m; y01 += atm(0, r) * atm(1, s) * m;
        y10 += atm(1, r) * atm(0, s) * m; y11 += atm(1, r) * atm(1, s) * m;
      }
      const bv: f32 = b != 0 ? load<f32>(at(b, o)) : 0;
      putTile(y, ldy, n, 2 * ti, 2 * tj, o, OH, OW, y00, y01, y10, y11, bv, false);
    }
  }
}

// dx phase (pr, pc) at rows 4ti + 1 - pr + 2i' (i' = 0, 1): F(2x2, 2x2) of the dy patch at rows 2ti - pr + i
// (i < 3) with g'[a][b] = w[2(1-a) + pr][2(1-b) + pc]
export function ref_winograd_s2_backward_input(dx: usize, dy: usize, w: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldx: i32, ldy: i32): void {
  const OH = (H - 2) / 2 + 1, OW = (W - 2) / 2 + 1;
  for (let n = 0; n < N; n++) for (let ti = 0; ti < (H + 3) / 4; ti++) for (let tj = 0; tj < (W + 3) / 4; tj++) {
    for (let pr = 0; pr < 2; pr++) for (let pc = 0; pc < 2; pc++) for (let c = 0; c < C; c++) {
      let y00: f32 = 0, y01: f32 = 0, y10: f32 = 0, y11: f32 = 0;
      for (let r = 0; r < 3; r++) for (let s = 0; s < 3; s++) {
        let m: f32 = 0;
        for (let o = 0; o < OC; o++) {
          m += ut(w, c, o, C, OC, 2 + pr, -2, 2 + pc, -2, r, s) * vt(dy, ldy, n, 2 * ti - pr, 2 * tj - pc, 1, o, OH, OW, r, s);
        }
        y00 += atm(0, r) * atm(0, s) * m; y01 += atm(0, r) * atm(1, s) * m;
        y10 += atm(1, r) * atm(0, s) * m; y11 += atm(1, r) * atm(1, s) * m;
      }
      const h0 = 4 * ti + 1 - pr, w0 = 4 * tj + 1 - pc;
      put(dx, ldx, n, h0, w0, c, H, W, y00, true);
      put(dx, ldx, n, h0, w0 + 2, c, H, W, y01, true);
      put(dx, ldx, n, h0 + 2, w0, c, H, W, y10, true);
      put(dx, ldx, n, h0 + 2, w0 + 2, c, H, W, y11, true);
    }
  }
}

// dw[2a + pr][2b + pc][c][oc] += sum_tiles sum_{r,s} G[r][a] G[s][b] V_ph[r][s] (A dY A^T)[r][s]; db += sum dy
export function ref_winograd_s2_backward_weight(dw: usize, db: usize, dy: usize, x: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  const OH = (H - 2) / 2 + 1, OW = (W - 2) / 2 + 1;
  if (db != 0) {
    for (let p = 0; p < N * OH * OW; p++) for (let o = 0; o < OC; o++) store<f32>(at(db, o), load<f32>(at(db, o)) + load<f32>(at(dy, p * ldy + o)));
  }
  for (let n = 0; n < N; n++) for (let ti = 0; ti < (OH + 1) / 2; ti++) for (let tj = 0; tj < (OW + 1) / 2; tj++) {
    for (let o = 0; o < OC; o++) for (let r = 0; r < 3; r++) for (let s = 0; s < 3; s++) {
      let md: f32 = 0;
      for (let a = 0; a < 2; a++) for (let bb = 0; bb < 2; bb++) {
        const f = atm(a, r) * atm(bb, s);
        if (f != 0) md += f * px(dy, ldy, n, 2 * ti + a, 2 * tj + bb, o, OH, OW);
      }
      if (md == 0) continue;
      for (let pr = 0; pr < 2; pr++) for (let pc = 0; pc < 2; pc++) for (let c = 0; c < C; c++) {
        const du = md * vt(x, ldx, n, 4 * ti - 1 + pr, 4 * tj - 1 + pc, 2, c, H, W, r, s);
        for (let a = 0; a < 2; a++) for (let bb = 0; bb < 2; bb++) {
          const f = gm(r, a) * gm(s, bb);
          if (f == 0) continue;
          const q = at(dw, ((2 * a + pr) * 4 + 2 * bb + pc) * C * OC + c * OC + o);
          store<f32>(q, load<f32>(q) + f * du);
        }
      }
    }
  }
}
