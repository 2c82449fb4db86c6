// Scalar reference twins of assembly/winograd_split.ts: the fused upsample x2 + 3x3 conv's forward with the taps
// split by parity, written straight from the definitions (one tile, one output channel, one slot at a time).
// x (N, H, W, C) pixel stride ldx -> y (N, 2H, 2W, OC) pixel stride ldy; w HWIO [3][3][C][OC]; b [OC] (0 = none).
//   E[m] = w0 x[m-1] + w2 x[m], P[i] = w1 x[i] per axis; the parts EE, EP, PE, PP are their products over rows and
//   columns, and y[2i+a][2j+b] = EE[i+a][j+b] + EP[i+a][j] + PE[i][j+b] + PP[i][j].
//   Tile (tm, tn), tm = 0 .. H/2: E rows 2tm + a = A^T [ (G g) (.) (B^T d) ] of d = x rows 2tm - 1 .. 2tm + 1,
//   g = (w0, w2), B^T = [1 -1 0; 0 1 0; 0 -1 1], G = [1 0; 1 1; 0 1], A^T = [1 1 0; 0 1 1]; P rows 2tm + i.
// Every part value is scattered into the y pixels it feeds (x is zero outside the image, so a tile's values past
// E[H] or P[H-1] are zero and fall outside y). The pack writes U in the SIMD kernels' layout from the same formulas.
import { matrixAt, packMatrices, put, px } from './tiles';

// @ts-ignore: decorator
@inline function at(p: usize, i: i32): usize { return p + (<usize>i << 2); }

export function bt(r: i32, i: i32): f32 { return r == 1 ? (i == 1 ? 1 : 0) : i == 1 ? -1 : (r == 0 ? i == 0 : i == 2) ? 1 : 0; }
export function gm(r: i32, a: i32): f32 { return r == 1 ? 1 : (r == 0 ? a == 0 : a == 1) ? 1 : 0; }
export function atm(a: i32, r: i32): f32 { return r == 1 ? 1 : (a == 0 ? r == 0 : r == 2) ? 1 : 0; }

// w[kh][kw][c][oc]
function wt(w: usize, kh: i32, kw: i32, c: i32, oc: i32, C: i32, OC: i32): f32 {
  return load<f32>(at(w, ((kh * 3 + kw) * C + c) * OC + oc));
}

// Entry (c, oc) of weight matrix u: u = 3ki + kj (G g G^T)[ki][kj] of g[a][b] = w[2a][2b]; 9 + ki (G g)[ki] of
// w[2a][1]; 12 + kj (G g)[kj] of w[1][2b]; 15 w[1][1].
function uw(w: usize, c: i32, oc: i32, C: i32, OC: i32, u: i32): f32 {
  let v: f32 = 0;
  if (u < 9) {
    for (let a = 0; a < 2; a++) for (let b = 0; b < 2; b++) v += gm(u / 3, a) * gm(u % 3, b) * wt(w, 2 * a, 2 * b, c, oc, C, OC);
  } else if (u < 12) {
    for (let a = 0; a < 2; a++) v += gm(u - 9, a) * wt(w, 2 * a, 1, c, oc, C, OC);
  } else if (u < 15) {
    for (let b = 0; b < 2; b++) v += gm(u - 12, b) * wt(w, 1, 2 * b, c, oc, C, OC);
  } else v = wt(w, 1, 1, c, oc, C, OC);
  return v;
}

export function ref_upconv_split_packed_size(C: i32, OC: i32): i32 {
  return 16 * C * ((OC + 7) & ~7);
}
export function ref_upconv_split_packed_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 { return 0; }
export function ref_upconv_split_forward_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 { return 0; }

// U[u][oc >> 3][c][oc & 7] (0 for oc past OCt), laid out for OCt channels, w's OC channels at c0 .. c0 + OC - 1
export function ref_upconv_split_pack(U: usize, w: usize, scratch: usize, C: i32, OC: i32, OCt: i32, c0: i32): void {
  packMatrices(U, w, C, OC, OCt, c0, 16, uw);
}

// weight matrix u's entry (c, oc): from w (U == 0) or read from U
export function wu(w: usize, U: usize, c: i32, oc: i32, C: i32, OC: i32, u: i32): f32 {
  return U == 0 ? uw(w, c, oc, C, OC, u) : matrixAt(U, c, oc, C, OC, u);
}

// the transformed input of slot (kind, p, q) at channel c, of the patch at (r0, s0) with E positions r0 + st*k and P
// lines r0 + 1 + st*i (see slot): EE (p = ki, q = kj), EP (ki, P column j), PE (P row i, kj), PP (i, j)
export function vin(x: usize, ldx: i32, n: i32, r0: i32, s0: i32, st: i32, kind: i32, p: i32, q: i32, c: i32, H: i32, W: i32): f32 {
  let v: f32 = 0;
  if (kind == 0) { for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) v += bt(p, i) * bt(q, j) * px(x, ldx, n, r0 + st * i, s0 + st * j, c, H, W); }
  else if (kind == 1) { for (let i = 0; i < 3; i++) v += bt(p, i) * px(x, ldx, n, r0 + st * i, s0 + 1 + st * q, c, H, W); }
  else if (kind == 2) { for (let j = 0; j < 3; j++) v += bt(q, j) * px(x, ldx, n, r0 + 1 + st * p, s0 + st * j, c, H, W); }
  else v = px(x, ldx, n, r0 + 1 + st * p, s0 + 1 + st * q, c, H, W);
  return v;
}
export function uOf(kind: i32, p: i32, q: i32): i32 { return kind == 0 ? 3 * p + q : kind == 1 ? 9 + p : kind == 2 ? 12 + q : 15; }

// sum_c U[u][c][o] * v(c), v the transformed input of the patch at (r0, s0) whose E positions k are rows (columns)
// r0 + st*k and P lines i rows r0 + 1 + st*i: EE (ki, kj), EP (ki) of P column j, PE (kj) of P row i, PP the pixel
// (P row i, P column j). The upconv's 3x3 patch at (2tm - 1, 2tn - 1), st = 1; the stride-2 conv's 5x5 at (4tm - 1,
// 4tn - 1), st = 2.
export function slot(x: usize, ldx: i32, w: usize, U: usize, n: i32, r0: i32, s0: i32, st: i32, kind: i32, p: i32, q: i32, o: i32,
  H: i32, W: i32, C: i32, OC: i32): f32 {
  let m: f32 = 0;
  for (let c = 0; c < C; c++) m += wu(w, U, c, o, C, OC, uOf(kind, p, q)) * vin(x, ldx, n, r0, s0, st, kind, p, q, c, H, W);
  return m;
}

// the part value at row rr (E row: y rows 2rr - 1, 2rr; P row: 2rr, 2rr + 1), column cc alike, added to those y pixels
function scatter(y: usize, ldy: i32, n: i32, rr: i32, eRow: bool, cc: i32, eCol: bool, o: i32, YH: i32, YW: i32, v: f32): void {
  for (let a = 0; a < 2; a++) for (let b = 0; b < 2; b++) {
    put(y, ldy, n, eRow ? 2 * rr - a : 2 * rr + a, eCol ? 2 * cc - b : 2 * cc + b, o, YH, YW, v, true);
  }
}

function splitForward(y: usize, x: usize, w: usize, U: usize, b: usize, N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  const YH = 2 * H, YW = 2 * W;
  for (let n = 0; n < N; n++) for (let h = 0; h < YH; h++) for (let v = 0; v < YW; v++) for (let o = 0; o < OC; o++) {
    put(y, ldy, n, h, v, o, YH, YW, b != 0 ? load<f32>(at(b, o)) : 0, false);
  }
  for (let n = 0; n < N; n++) for (let tm = 0; tm <= H / 2; tm++) for (let tn = 0; tn <= W / 2; tn++) for (let o = 0; o < OC; o++) {
    const r0 = 2 * tm - 1, s0 = 2 * tn - 1;
    for (let a = 0; a < 2; a++) for (let bb = 0; bb < 2; bb++) {
      let ee: f32 = 0, ep: f32 = 0, pe: f32 = 0;
      for (let ki = 0; ki < 3; ki++) {
        for (let kj = 0; kj < 3; kj++) ee += atm(a, ki) * atm(bb, kj) * slot(x, ldx, w, U, n, r0, s0, 1, 0, ki, kj, o, H, W, C, OC);
        ep += atm(a, ki) * slot(x, ldx, w, U, n, r0, s0, 1, 1, ki, bb, o, H, W, C, OC);
        pe += atm(bb, ki) * slot(x, ldx, w, U, n, r0, s0, 1, 2, a, ki, o, H, W, C, OC);
      }
      const pp = slot(x, ldx, w, U, n, r0, s0, 1, 3, a, bb, o, H, W, C, OC);
      scatter(y, ldy, n, 2 * tm + a, true, 2 * tn + bb, true, o, YH, YW, ee); // EE[2tm + a][2tn + bb]
      scatter(y, ldy, n, 2 * tm + a, true, 2 * tn + bb, false, o, YH, YW, ep); // EP[2tm + a][2tn + bb]
      scatter(y, ldy, n, 2 * tm + a, false, 2 * tn + bb, true, o, YH, YW, pe); // PE[2tm + a][2tn + bb]
      scatter(y, ldy, n, 2 * tm + a, false, 2 * tn + bb, false, o, YH, YW, pp); // PP[2tm + a][2tn + bb]
    }
  }
}

export function ref_upconv_split_forward(y: usize, x: usize, w: usize, b: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  splitForward(y, x, w, 0, b, N, H, W, C, OC, ldy, ldx);
}

export function ref_upconv_split_forward_packed(y: usize, x: usize, U: usize, b: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  splitForward(y, x, 0, U, b, N, H, W, C, OC, ldy, ldx);
}

export function ref_upconv_split_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 { return 0; }

// D[r][s][oc] = the sum of dy over rows r - 1 .. r, columns s - 1 .. s inside the 2H x 2W image
function box(dy: usize, ldy: i32, n: i32, r: i32, s: i32, oc: i32, H: i32, W: i32): f32 {
  let v: f32 = 0;
  for (let a = r - 1; a <= r; a++) for (let b = s - 1; b <= s; b++) v += px(dy, ldy, n, a, b, oc, 2 * H, 2 * W);
  return v;
}

// Backward-input: tile (tm, tn) is dx rows 2tm + a, columns 2tn + b; dE[m] = D[2m], dP[i] = D[2i + 1] per axis
// (zero past row 2H), and dx[i] = w2 dE[i] + w0 dE[i+1] + w1 dP[i]: F(2, 2) on d = dE[2tm .. 2tm + 2], g = (w2, w0),
// whose transformed weights are the forward's of position 2 - k. Each slot: sum_oc (the weight matrix entry) * v(oc).
function slotIn(dy: usize, ldy: i32, w: usize, n: i32, tm: i32, tn: i32, kind: i32, p: i32, q: i32, c: i32,
  H: i32, W: i32, C: i32, OC: i32): f32 {
  const r0 = 4 * tm, s0 = 4 * tn; // D rows r0 + 2k are dE[2tm + k], r0 + 1 + 2i are dP[2tm + i]
  let m: f32 = 0;
  for (let oc = 0; oc < OC; oc++) {
    let v: f32 = 0;
    let u = 15;
    if (kind == 0) { // EE, p = ki, q = kj
      for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) v += bt(p, i) * bt(q, j) * box(dy, ldy, n, r0 + 2 * i, s0 + 2 * j, oc, H, W);
      u = 3 * (2 - p) + 2 - q;
    } else if (kind == 1) { // EP, p = ki, q = j
      for (let i = 0; i < 3; i++) v += bt(p, i) * box(dy, ldy, n, r0 + 2 * i, s0 + 1 + 2 * q, oc, H, W);
      u = 9 + 2 - p;
    } else if (kind == 2) { // PE, p = i, q = kj
      for (let j = 0; j < 3; j++) v += bt(q, j) * box(dy, ldy, n, r0 + 1 + 2 * p, s0 + 2 * j, oc, H, W);
      u = 12 + 2 - q;
    } else v = box(dy, ldy, n, r0 + 1 + 2 * p, s0 + 1 + 2 * q, oc, H, W); // PP, p = i, q = j
    m += uw(w, c, oc, C, OC, u) * v;
  }
  return m;
}

export function ref_upconv_split_backward_input(dx: usize, dy: usize, w: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldx: i32, ldy: i32): void {
  for (let n = 0; n < N; n++) for (let tm = 0; tm < (H + 1) / 2; tm++) for (let tn = 0; tn < (W + 1) / 2; tn++) for (let c = 0; c < C; c++) {
    for (let a = 0; a < 2; a++) for (let bb = 0; bb < 2; bb++) {
      let v: f32 = 0;
      for (let ki = 0; ki < 3; ki++) {
        for (let kj = 0; kj < 3; kj++) v += atm(a, ki) * atm(bb, kj) * slotIn(dy, ldy, w, n, tm, tn, 0, ki, kj, c, H, W, C, OC);
        v += atm(a, ki) * slotIn(dy, ldy, w, n, tm, tn, 1, ki, bb, c, H, W, C, OC);
        v += atm(bb, ki) * slotIn(dy, ldy, w, n, tm, tn, 2, a, ki, c, H, W, C, OC);
      }
      v += slotIn(dy, ldy, w, n, tm, tn, 3, a, bb, c, H, W, C, OC);
      put(dx, ldx, n, 2 * tm + a, 2 * tn + bb, c, H, W, v, true);
    }
  }
}

// Backward-weight: dU_u = sum over the forward's tiles and the slots s of u of V_s(c) dM_s(oc), where V_s is the
// forward's transformed input (slot) and dM_s its output combination transposed: along each axis the box sums
// D[4t] (E position 0), D[4t] + D[4t+2] (1), D[4t+2] (2), D[4t + 1 + 2i] (P row i). Then dw from dU by the pack's
// sums (w[kh][kw] is in U_u with coefficient 1 when the sum defining U_u includes it).
function dRows(kind: i32, rowAxis: bool, set: i32): i32 {
  // kind 0 EE (p = ki, q = kj), 1 EP (ki, j), 2 PE (i, kj), 3 PP (i, j); bit k: D offset k along the axis
  const e = rowAxis ? kind < 2 : kind == 0 || kind == 2;
  if (e) return set == 0 ? 1 : set == 1 ? 5 : 4;
  return 2 << (2 * set);
}
function dmv(dy: usize, ldy: i32, n: i32, tm: i32, tn: i32, kind: i32, p: i32, q: i32, oc: i32, H: i32, W: i32): f32 {
  const rm = dRows(kind, true, p), cm = dRows(kind, false, q);
  let v: f32 = 0;
  for (let a = 0; a < 4; a++) for (let b = 0; b < 4; b++) {
    if (((rm >> a) & 1) != 0 && ((cm >> b) & 1) != 0) v += box(dy, ldy, n, 4 * tm + a, 4 * tn + b, oc, H, W);
  }
  return v;
}
// is tap (kh, kw) one of the summands of U_u
export function inU(u: i32, kh: i32, kw: i32): bool {
  if (u < 9) {
    const ki = u / 3, kj = u % 3;
    return kh != 1 && kw != 1 && gm(ki, kh >> 1) != 0 && gm(kj, kw >> 1) != 0;
  }
  if (u < 12) return kw == 1 && kh != 1 && gm(u - 9, kh >> 1) != 0;
  if (u < 15) return kh == 1 && kw != 1 && gm(u - 12, kw >> 1) != 0;
  return kh == 1 && kw == 1;
}

export function ref_upconv_split_backward_weight(dw: usize, db: usize, dy: usize, x: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  splitWeightGrad(dw, db, dy, x, N, H, W, C, OC, ldy, ldx, false);
}

// dM of the stride-2 conv's slot (kind, p, q) at output channel o of tile (tm, tn) (reference/conv3s2_split.ts):
// per axis the dy offsets {0}, {0, 1}, {1} of E position k, {i} of P line i, from dy rows 2tm, 2tm + 1 (OH x OW)
function dmvDown(dy: usize, ldy: i32, n: i32, tm: i32, tn: i32, kind: i32, p: i32, q: i32, o: i32, OH: i32, OW: i32): f32 {
  const rE = kind < 2, cE = kind == 0 || kind == 2;
  let v: f32 = 0;
  for (let a = 0; a < 2; a++) for (let b = 0; b < 2; b++) {
    const rowIn = rE ? (p == 1 || p == 2 * a) : p == a, colIn = cE ? (q == 1 || q == 2 * b) : q == b;
    if (rowIn && colIn) v += px(dy, ldy, n, 2 * tm + a, 2 * tn + b, o, OH, OW);
  }
  return v;
}

// The backward-weight of the split taps: the upconv's (down false: its forward's tiles, dM from the box sums of its
// 2H x 2W dy) or the stride-2 conv's (down: the 5x5 x patches of its tiles, dM from its ceil(H/2) x ceil(W/2) dy).
export function splitWeightGrad(dw: usize, db: usize, dy: usize, x: usize, N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32, down: bool): void {
  const YH = down ? (H + 1) >> 1 : 2 * H, YW = down ? (W + 1) >> 1 : 2 * W;
  const TR = down ? (YH + 1) >> 1 : H / 2 + 1, TC = down ? (YW + 1) >> 1 : W / 2 + 1;
  if (db != 0) for (let o = 0; o < OC; o++) {
    let s: f32 = 0;
    for (let n = 0; n < N; n++) for (let h = 0; h < YH; h++) for (let v = 0; v < YW; v++) s += px(dy, ldy, n, h, v, o, YH, YW);
    store<f32>(at(db, o), load<f32>(at(db, o)) + s);
  }
  for (let c = 0; c < C; c++) for (let o = 0; o < OC; o++) for (let kh = 0; kh < 3; kh++) for (let kw = 0; kw < 3; kw++) {
    let g: f32 = 0;
    for (let n = 0; n < N; n++) for (let tm = 0; tm < TR; tm++) for (let tn = 0; tn < TC; tn++) {
      for (let kind = 0; kind < 4; kind++) {
        const np = kind == 0 || kind == 1 ? 3 : 2, nq = kind == 0 || kind == 2 ? 3 : 2;
        for (let p = 0; p < np; p++) for (let q = 0; q < nq; q++) {
          if (!inU(uOf(kind, p, q), kh, kw)) continue;
          g += down ? vin(x, ldx, n, 4 * tm - 1, 4 * tn - 1, 2, kind, p, q, c, H, W) * dmvDown(dy, ldy, n, tm, tn, kind, p, q, o, YH, YW)
            : vin(x, ldx, n, 2 * tm - 1, 2 * tn - 1, 1, kind, p, q, c, H, W) * dmv(dy, ldy, n, tm, tn, kind, p, q, o, H, W);
        }
      }
    }
    const a = at(dw, ((kh * 3 + kw) * C + c) * OC + o);
    store<f32>(a, load<f32>(a) + g);
  }
}
