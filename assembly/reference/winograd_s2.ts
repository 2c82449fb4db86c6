// Scalar reference twins of assembly/winograd_s2.ts (F(2x2, 2x2)) and assembly/winograd_s2f4.ts (F(4x4, 2x2)): the
// 4x4 stride-2 pad-1 conv as four stride-1 2x2 convs over the input's even/odd phases, each by Winograd F(m x m, 2x2)
// (m = 2 or 4, a = m + 1 points), written straight from the matrix definitions (one tile, one channel pair, one
// transform entry at a time). x (N, H, W, C) pixel stride ldx; y (N, OH, OW, OC) pixel stride ldy, OH = (H - 2) / 2
// + 1; w HWIO [4][4][C][OC]; b [OC].
//   phase (pr, pc): d[i][j] = x[2m ti - 1 + pr + 2i][2m tj - 1 + pc + 2j] (i, j < a), g[a][b] = w[2a + pr][2b + pc]
//   Y (m x m) = A^T [ sum_{phases, c} (G g G^T) (.) (B^T d B) ] A
//   F(2, 2): B^T = [1 -1 0; 0 1 0; 0 -1 1], G = [1 0; 1 1; 0 1], A^T = [1 1 0; 0 1 1]
//   F(4, 2) on the points 0, 1, -1, 2, inf: B^T = [2 -1 -2 1 0; 0 -2 -1 1 0; 0 2 -3 1 0; 0 -1 0 1 0; 0 2 -1 -2 1],
//     G = [1/2 0; -1/2 -1/2; -1/6 1/6; 1/6 1/3; 0 1], A^T = [1 1 1 1 0; 0 1 -1 2 0; 0 1 1 4 0; 0 1 -1 8 1]
// Backward passes ACCUMULATE. They take the same scratch argument as the SIMD kernels and ignore it.
import { put, px } from './tiles';

// @ts-ignore: decorator
@inline function at(p: usize, i: i32): usize { return p + (<usize>i << 2); }

const BT2: StaticArray<f32> = [1, -1, 0, 0, 1, 0, 0, -1, 1];
const G2: StaticArray<f32> = [1, 0, 1, 1, 0, 1];
const AT2: StaticArray<f32> = [1, 1, 0, 0, 1, 1];
const BT4: StaticArray<f32> = [2, -1, -2, 1, 0, 0, -2, -1, 1, 0, 0, 2, -3, 1, 0, 0, -1, 0, 1, 0, 0, 2, -1, -2, 1];
const G4: StaticArray<f32> = [0.5, 0, -0.5, -0.5, <f32>(-1.0 / 6.0), <f32>(1.0 / 6.0), <f32>(1.0 / 6.0), <f32>(1.0 / 3.0), 0, 1];
const AT4: StaticArray<f32> = [1, 1, 1, 1, 0, 0, 1, -1, 2, 0, 0, 1, 1, 4, 0, 0, 1, -1, 8, 1];
// One tile's a x a sums and m x m outputs: static data (a twin allocates nothing: the arena starts at __heap_base)
const MS: StaticArray<f32> = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
const OS: StaticArray<f32> = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

// B^T[r][i], G[r][a], A^T[q][r] of F(m, 2) (m = 2 or 4; a = m + 1)
function bt(m: i32, r: i32, i: i32): f32 { return m == 2 ? BT2[3 * r + i] : BT4[5 * r + i]; }
function gm(m: i32, r: i32, a: i32): f32 { return m == 2 ? G2[2 * r + a] : G4[2 * r + a]; }
function atm(m: i32, q: i32, r: i32): f32 { return m == 2 ? AT2[3 * q + r] : AT4[5 * q + r]; }

export function ref_winograd_s2_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 { return 0; }
export function ref_winograd_s2_forward_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 { return 0; }
export function ref_winograd_s2f4_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 { return 0; }

// (B^T d B)[r][s], d[i][j] = t[n][h0 + i*st][w0 + j*st][c]
function vt(m: i32, t: usize, ld: i32, n: i32, h0: i32, w0: i32, st: i32, c: i32, H: i32, W: i32, r: i32, s: i32): f32 {
  let v: f32 = 0;
  for (let i = 0; i <= m; i++) for (let j = 0; j <= m; j++) {
    const f = bt(m, r, i) * bt(m, s, j);
    if (f != 0) v += f * px(t, ld, n, h0 + i * st, w0 + j * st, c, H, W);
  }
  return v;
}

// (G g G^T)[r][s], g[a][b] = w[a0 + a*da][b0 + b*db][c][oc]
function ut(m: i32, w: usize, c: i32, oc: i32, C: i32, OC: i32, a0: i32, da: i32, b0: i32, db: i32, r: i32, s: i32): f32 {
  let u: f32 = 0;
  for (let a = 0; a < 2; a++) for (let b = 0; b < 2; b++) {
    const f = gm(m, r, a) * gm(m, s, b);
    if (f != 0) u += f * load<f32>(at(w, ((a0 + a * da) * 4 + b0 + b * db) * C * OC + c * OC + oc));
  }
  return u;
}

// OS[m q + p] = (A^T MS A)[q][p], MS[a r + s] the tile's sums
function outTile(m: i32): void {
  for (let q = 0; q < m; q++) for (let p = 0; p < m; p++) {
    let v: f32 = 0;
    for (let r = 0; r <= m; r++) for (let s = 0; s <= m; s++) v += atm(m, q, r) * atm(m, p, s) * MS[(m + 1) * r + s];
    OS[m * q + p] = v;
  }
}

function forward(m: i32, y: usize, x: usize, w: usize, b: usize, N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  const OH = (H - 2) / 2 + 1, OW = (W - 2) / 2 + 1, a = m + 1;
  for (let n = 0; n < N; n++) for (let ti = 0; ti < (OH + m - 1) / m; ti++) for (let tj = 0; tj < (OW + m - 1) / m; tj++) {
    for (let o = 0; o < OC; o++) {
      for (let r = 0; r < a; r++) for (let s = 0; s < a; s++) {
        let v: f32 = 0;
        for (let pr = 0; pr < 2; pr++) for (let pc = 0; pc < 2; pc++) for (let c = 0; c < C; c++) {
          v += ut(m, w, c, o, C, OC, pr, 2, pc, 2, r, s) * vt(m, x, ldx, n, 2 * m * ti - 1 + pr, 2 * m * tj - 1 + pc, 2, c, H, W, r, s);
        }
        MS[a * r + s] = v;
      }
      outTile(m);
      const bv: f32 = b != 0 ? load<f32>(at(b, o)) : 0;
      for (let q = 0; q < m; q++) for (let p = 0; p < m; p++) put(y, ldy, n, m * ti + q, m * tj + p, o, OH, OW, OS[m * q + p] + bv, false);
    }
  }
}

// dx phase (pr, pc) at rows 2m ti + 1 - pr + 2q (q < m): F(m x m, 2x2) of the dy patch at rows m ti - pr + i (i < a)
// with g'[a][b] = w[2(1-a) + pr][2(1-b) + pc]
function backwardInput(m: i32, dx: usize, dy: usize, w: usize, N: i32, H: i32, W: i32, C: i32, OC: i32, ldx: i32, ldy: i32): void {
  const OH = (H - 2) / 2 + 1, OW = (W - 2) / 2 + 1, a = m + 1, B = 2 * m;
  for (let n = 0; n < N; n++) for (let ti = 0; ti < (H + B - 1) / B; ti++) for (let tj = 0; tj < (W + B - 1) / B; tj++) {
    for (let pr = 0; pr < 2; pr++) for (let pc = 0; pc < 2; pc++) for (let c = 0; c < C; c++) {
      for (let r = 0; r < a; r++) for (let s = 0; s < a; s++) {
        let v: f32 = 0;
        for (let o = 0; o < OC; o++) {
          v += ut(m, w, c, o, C, OC, 2 + pr, -2, 2 + pc, -2, r, s) * vt(m, dy, ldy, n, m * ti - pr, m * tj - pc, 1, o, OH, OW, r, s);
        }
        MS[a * r + s] = v;
      }
      outTile(m);
      const h0 = B * ti + 1 - pr, w0 = B * tj + 1 - pc;
      for (let q = 0; q < m; q++) for (let p = 0; p < m; p++) put(dx, ldx, n, h0 + 2 * q, w0 + 2 * p, c, H, W, OS[m * q + p], true);
    }
  }
}

// dw[2a + pr][2b + pc][c][oc] += sum_tiles sum_{r,s} G[r][a] G[s][b] V_ph[r][s] (A dY A^T)[r][s]; db += sum dy
function backwardWeight(m: i32, dw: usize, db: usize, dy: usize, x: usize, N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  const OH = (H - 2) / 2 + 1, OW = (W - 2) / 2 + 1, a = m + 1;
  if (db != 0) {
    for (let p = 0; p < N * OH * OW; p++) for (let o = 0; o < OC; o++) store<f32>(at(db, o), load<f32>(at(db, o)) + load<f32>(at(dy, p * ldy + o)));
  }
  for (let n = 0; n < N; n++) for (let ti = 0; ti < (OH + m - 1) / m; ti++) for (let tj = 0; tj < (OW + m - 1) / m; tj++) {
    for (let o = 0; o < OC; o++) for (let r = 0; r < a; r++) for (let s = 0; s < a; s++) {
      // (A dY A^T)[r][s] = sum_{q,p} A^T[q][r] A^T[p][s] dY[q][p]
      let md: f32 = 0;
      for (let q = 0; q < m; q++) for (let p = 0; p < m; p++) {
        const f = atm(m, q, r) * atm(m, p, s);
        if (f != 0) md += f * px(dy, ldy, n, m * ti + q, m * tj + p, o, OH, OW);
      }
      if (md == 0) continue;
      for (let pr = 0; pr < 2; pr++) for (let pc = 0; pc < 2; pc++) for (let c = 0; c < C; c++) {
        const du = md * vt(m, x, ldx, n, 2 * m * ti - 1 + pr, 2 * m * tj - 1 + pc, 2, c, H, W, r, s);
        for (let ga = 0; ga < 2; ga++) for (let gb = 0; gb < 2; gb++) {
          const f = gm(m, r, ga) * gm(m, s, gb);
          if (f == 0) continue;
          const qq = at(dw, ((2 * ga + pr) * 4 + 2 * gb + pc) * C * OC + c * OC + o);
          store<f32>(qq, load<f32>(qq) + f * du);
        }
      }
    }
  }
}

export function ref_winograd_s2_forward(y: usize, x: usize, w: usize, b: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  forward(2, y, x, w, b, N, H, W, C, OC, ldy, ldx);
}
export function ref_winograd_s2_backward_input(dx: usize, dy: usize, w: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldx: i32, ldy: i32): void {
  backwardInput(2, dx, dy, w, N, H, W, C, OC, ldx, ldy);
}
export function ref_winograd_s2_backward_weight(dw: usize, db: usize, dy: usize, x: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  backwardWeight(2, dw, db, dy, x, N, H, W, C, OC, ldy, ldx);
}
export function ref_winograd_s2f4_forward(y: usize, x: usize, w: usize, b: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  forward(4, y, x, w, b, N, H, W, C, OC, ldy, ldx);
}
export function ref_winograd_s2f4_backward_input(dx: usize, dy: usize, w: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldx: i32, ldy: i32): void {
  backwardInput(4, dx, dy, w, N, H, W, C, OC, ldx, ldy);
}
export function ref_winograd_s2f4_backward_weight(dw: usize, db: usize, dy: usize, x: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  backwardWeight(4, dw, db, dy, x, N, H, W, C, OC, ldy, ldx);
}
