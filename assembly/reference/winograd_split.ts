// Scalar reference twins of assembly/winograd_split.ts: the fused upsample x2 + 3x3 conv's forward with the taps
// split by parity, written straight from the definitions (one tile, one output channel, one slot at a time).
// x (N, H, W, C) pixel stride ldx -> y (N, 2H, 2W, OC) pixel stride ldy; w HWIO [3][3][C][OC]; b [OC] (0 = none).
//   E[m] = w0 x[m-1] + w2 x[m], P[i] = w1 x[i] per axis; the parts EE, EP, PE, PP are their products over rows and
//   columns, and y[2i+a][2j+b] = EE[i+a][j+b] + EP[i+a][j] + PE[i][j+b] + PP[i][j].
//   Tile (tm, tn), tm = 0 .. H/2: E rows 2tm + a = A^T [ (G g) (.) (B^T d) ] of d = x rows 2tm - 1 .. 2tm + 1,
//   g = (w0, w2), B^T = [1 -1 0; 0 1 0; 0 -1 1], G = [1 0; 1 1; 0 1], A^T = [1 1 0; 0 1 1]; P rows 2tm + i.
// Every part value is scattered into the y pixels it feeds (x is zero outside the image, so a tile's values past
// E[H] or P[H-1] are zero and fall outside y). The pack writes U in the SIMD kernels' layout from the same formulas.
import { put, px } from './tiles';

// @ts-ignore: decorator
@inline function at(p: usize, i: i32): usize { return p + (<usize>i << 2); }

function bt(r: i32, i: i32): f32 { return r == 1 ? (i == 1 ? 1 : 0) : i == 1 ? -1 : (r == 0 ? i == 0 : i == 2) ? 1 : 0; }
function gm(r: i32, a: i32): f32 { return r == 1 ? 1 : (r == 0 ? a == 0 : a == 1) ? 1 : 0; }
function atm(a: i32, r: i32): f32 { return r == 1 ? 1 : (a == 0 ? r == 0 : r == 2) ? 1 : 0; }

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
  const O8 = (OCt + 7) & ~7;
  const end = c0 + OC == OCt ? O8 : c0 + OC;
  for (let u = 0; u < 16; u++) for (let oc = c0; oc < end; oc++) for (let c = 0; c < C; c++) {
    const v: f32 = oc < c0 + OC ? uw(w, c, oc - c0, C, OC, u) : 0;
    store<f32>(at(U, (u * O8 + (oc & ~7)) * C + c * 8 + (oc & 7)), v);
  }
}

// weight matrix u's entry (c, oc): from w (U == 0) or read from U
function wu(w: usize, U: usize, c: i32, oc: i32, C: i32, OC: i32, u: i32): f32 {
  if (U == 0) return uw(w, c, oc, C, OC, u);
  const O8 = (OC + 7) & ~7;
  return load<f32>(at(U, (u * O8 + (oc & ~7)) * C + c * 8 + (oc & 7)));
}

// sum_c U[u][c][o] * v(c), v the transformed input: EE (ki, kj) of the 3x3 patch at (r0, s0) = (2tm - 1, 2tn - 1),
// EP (ki) of column s0 + 1 + j, PE (kj) of row r0 + 1 + i, PP the pixel (r0 + 1 + i, s0 + 1 + j)
function slot(x: usize, ldx: i32, w: usize, U: usize, n: i32, r0: i32, s0: i32, kind: i32, p: i32, q: i32, o: i32,
  H: i32, W: i32, C: i32, OC: i32): f32 {
  let m: f32 = 0;
  for (let c = 0; c < C; c++) {
    let v: f32 = 0;
    let u = 15;
    if (kind == 0) { // EE, p = ki, q = kj
      for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) v += bt(p, i) * bt(q, j) * px(x, ldx, n, r0 + i, s0 + j, c, H, W);
      u = 3 * p + q;
    } else if (kind == 1) { // EP, p = ki, q = j
      for (let i = 0; i < 3; i++) v += bt(p, i) * px(x, ldx, n, r0 + i, s0 + 1 + q, c, H, W);
      u = 9 + p;
    } else if (kind == 2) { // PE, p = i, q = kj
      for (let j = 0; j < 3; j++) v += bt(q, j) * px(x, ldx, n, r0 + 1 + p, s0 + j, c, H, W);
      u = 12 + q;
    } else v = px(x, ldx, n, r0 + 1 + p, s0 + 1 + q, c, H, W); // PP, p = i, q = j
    m += wu(w, U, c, o, C, OC, u) * v;
  }
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
        for (let kj = 0; kj < 3; kj++) ee += atm(a, ki) * atm(bb, kj) * slot(x, ldx, w, U, n, r0, s0, 0, ki, kj, o, H, W, C, OC);
        ep += atm(a, ki) * slot(x, ldx, w, U, n, r0, s0, 1, ki, bb, o, H, W, C, OC);
        pe += atm(bb, ki) * slot(x, ldx, w, U, n, r0, s0, 2, a, ki, o, H, W, C, OC);
      }
      const pp = slot(x, ldx, w, U, n, r0, s0, 3, a, bb, o, H, W, C, OC);
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
