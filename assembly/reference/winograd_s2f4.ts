// Scalar reference twins of assembly/winograd_s2f4.ts: the 4x4 stride-2 pad-1 conv as four stride-1 2x2 convs over
// the input's even/odd phases, each by Winograd F(4x4, 2x2), written straight from the matrix definitions (one tile,
// one channel pair, one transform entry at a time). x (N, H, W, C) pixel stride ldx; y (N, OH, OW, OC) pixel stride
// ldy, OH = (H - 2) / 2 + 1; w HWIO [4][4][C][OC]; b [OC].
//   phase (pr, pc): d[i][j] = x[8ti - 1 + pr + 2i][8tj - 1 + pc + 2j] (i, j < 5), g[a][b] = w[2a + pr][2b + pc]
//   Y (4x4) = A^T [ sum_{phases, c} (G g G^T) (.) (B^T d B) ] A on the points 0, 1, -1, 2, inf:
//   B^T = [2 -1 -2 1 0; 0 -2 -1 1 0; 0 2 -3 1 0; 0 -1 0 1 0; 0 2 -1 -2 1], G = [1/2 0; -1/2 -1/2; -1/6 1/6; 1/6 1/3; 0 1],
//   A^T = [1 1 1 1 0; 0 1 -1 2 0; 0 1 1 4 0; 0 1 -1 8 1].
// Backward passes ACCUMULATE. They take the same scratch argument as the SIMD kernels and ignore it.
import { put, px } from './tiles';

// @ts-ignore: decorator
@inline function at(p: usize, i: i32): usize { return p + (<usize>i << 2); }

const BT: StaticArray<f32> = [2, -1, -2, 1, 0, 0, -2, -1, 1, 0, 0, 2, -3, 1, 0, 0, -1, 0, 1, 0, 0, 2, -1, -2, 1];
const GM: StaticArray<f32> = [0.5, 0, -0.5, -0.5, <f32>(-1.0 / 6.0), <f32>(1.0 / 6.0), <f32>(1.0 / 6.0), <f32>(1.0 / 3.0), 0, 1];
const AT: StaticArray<f32> = [1, 1, 1, 1, 0, 0, 1, -1, 2, 0, 0, 1, 1, 4, 0, 0, 1, -1, 8, 1];
function bt(r: i32, i: i32): f32 { return BT[5 * r + i]; }
function gm(r: i32, a: i32): f32 { return GM[2 * r + a]; }
function atm(q: i32, r: i32): f32 { return AT[5 * q + r]; }
// One tile's 25 sums and 16 outputs: static data (a twin allocates nothing: the arena starts at __heap_base)
const MS: StaticArray<f32> = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
const OS: StaticArray<f32> = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

export function ref_winograd_s2f4_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 { return 0; }

// (B^T d B)[r][s], d[i][j] = t[n][h0 + i*st][w0 + j*st][c]
function vt(t: usize, ld: i32, n: i32, h0: i32, w0: i32, st: i32, c: i32, H: i32, W: i32, r: i32, s: i32): f32 {
  let v: f32 = 0;
  for (let i = 0; i < 5; i++) for (let j = 0; j < 5; j++) {
    const f = bt(r, i) * bt(s, j);
    if (f != 0) v += f * px(t, ld, n, h0 + i * st, w0 + j * st, c, H, W);
  }
  return v;
}

// (G g G^T)[r][s], g[a][b] = w[a0 + a*da][b0 + b*db][c][oc]
function ut(w: usize, c: i32, oc: i32, C: i32, OC: i32, a0: i32, da: i32, b0: i32, db: i32, r: i32, s: i32): f32 {
  let u: f32 = 0;
  for (let a = 0; a < 2; a++) for (let b = 0; b < 2; b++) {
    u += gm(r, a) * gm(s, b) * load<f32>(at(w, ((a0 + a * da) * 4 + b0 + b * db) * C * OC + c * OC + oc));
  }
  return u;
}

// the 4x4 A^T m A of the 25 values m[5r + s], out[4q + p]
function outTile(m: StaticArray<f32>, out: StaticArray<f32>): void {
  for (let q = 0; q < 4; q++) for (let p = 0; p < 4; p++) {
    let v: f32 = 0;
    for (let r = 0; r < 5; r++) for (let s = 0; s < 5; s++) v += atm(q, r) * atm(p, s) * m[5 * r + s];
    out[4 * q + p] = v;
  }
}

export function ref_winograd_s2f4_forward(y: usize, x: usize, w: usize, b: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  const OH = (H - 2) / 2 + 1, OW = (W - 2) / 2 + 1;
  const m = MS, out = OS;
  for (let n = 0; n < N; n++) for (let ti = 0; ti < (OH + 3) / 4; ti++) for (let tj = 0; tj < (OW + 3) / 4; tj++) {
    for (let o = 0; o < OC; o++) {
      for (let r = 0; r < 5; r++) for (let s = 0; s < 5; s++) {
        let v: f32 = 0;
        for (let pr = 0; pr < 2; pr++) for (let pc = 0; pc < 2; pc++) for (let c = 0; c < C; c++) {
          v += ut(w, c, o, C, OC, pr, 2, pc, 2, r, s) * vt(x, ldx, n, 8 * ti - 1 + pr, 8 * tj - 1 + pc, 2, c, H, W, r, s);
        }
        m[5 * r + s] = v;
      }
      outTile(m, out);
      const bv: f32 = b != 0 ? load<f32>(at(b, o)) : 0;
      for (let q = 0; q < 4; q++) for (let p = 0; p < 4; p++) put(y, ldy, n, 4 * ti + q, 4 * tj + p, o, OH, OW, out[4 * q + p] + bv, false);
    }
  }
}

// dx phase (pr, pc) at rows 8ti + 1 - pr + 2q (q < 4): F(4x4, 2x2) of the dy patch at rows 4ti - pr + i (i < 5)
// with g'[a][b] = w[2(1-a) + pr][2(1-b) + pc]
export function ref_winograd_s2f4_backward_input(dx: usize, dy: usize, w: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldx: i32, ldy: i32): void {
  const OH = (H - 2) / 2 + 1, OW = (W - 2) / 2 + 1;
  const m = MS, out = OS;
  for (let n = 0; n < N; n++) for (let ti = 0; ti < (H + 7) / 8; ti++) for (let tj = 0; tj < (W + 7) / 8; tj++) {
    for (let pr = 0; pr < 2; pr++) for (let pc = 0; pc < 2; pc++) for (let c = 0; c < C; c++) {
      for (let r = 0; r < 5; r++) for (let s = 0; s < 5; s++) {
        let v: f32 = 0;
        for (let o = 0; o < OC; o++) {
          v += ut(w, c, o, C, OC, 2 + pr, -2, 2 + pc, -2, r, s) * vt(dy, ldy, n, 4 * ti - pr, 4 * tj - pc, 1, o, OH, OW, r, s);
        }
        m[5 * r + s] = v;
      }
      outTile(m, out);
      const h0 = 8 * ti + 1 - pr, w0 = 8 * tj + 1 - pc;
      for (let q = 0; q < 4; q++) for (let p = 0; p < 4; p++) put(dx, ldx, n, h0 + 2 * q, w0 + 2 * p, c, H, W, out[4 * q + p], true);
    }
  }
}

// dw[2a + pr][2b + pc][c][oc] += sum_tiles sum_{r,s} G[r][a] G[s][b] V_ph[r][s] (A dY A^T)[r][s]; db += sum dy
export function ref_winograd_s2f4_backward_weight(dw: usize, db: usize, dy: usize, x: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  const OH = (H - 2) / 2 + 1, OW = (W - 2) / 2 + 1;
  if (db != 0) {
    for (let p = 0; p < N * OH * OW; p++) for (let o = 0; o < OC; o++) store<f32>(at(db, o), load<f32>(at(db, o)) + load<f32>(at(dy, p * ldy + o)));
  }
  for (let n = 0; n < N; n++) for (let ti = 0; ti < (OH + 3) / 4; ti++) for (let tj = 0; tj < (OW + 3) / 4; tj++) {
    for (let o = 0; o < OC; o++) for (let r = 0; r < 5; r++) for (let s = 0; s < 5; s++) {
      // (A dY A^T)[r][s] = sum_{q,p} A^T[q][r] A^T[p][s] dY[q][p]
      let md: f32 = 0;
      for (let q = 0; q < 4; q++) for (let p = 0; p < 4; p++) {
        const f = atm(q, r) * atm(p, s);
        if (f != 0) md += f * px(dy, ldy, n, 4 * ti + q, 4 * tj + p, o, OH, OW);
      }
      if (md == 0) continue;
      for (let pr = 0; pr < 2; pr++) for (let pc = 0; pc < 2; pc++) for (let c = 0; c < C; c++) {
        const du = md * vt(x, ldx, n, 8 * ti - 1 + pr, 8 * tj - 1 + pc, 2, c, H, W, r, s);
        for (let a = 0; a < 2; a++) for (let bb = 0; bb < 2; bb++) {
          const f = gm(r, a) * gm(s, bb);
          if (f == 0) continue;
          const qq = at(dw, ((2 * a + pr) * 4 + 2 * bb + pc) * C * OC + c * OC + o);
          store<f32>(qq, load<f32>(qq) + f * du);
        }
      }
    }
  }
}
