// Scalar reference twins of assembly/winograd_split4.ts: the split taps with F(4, 2) on the E parts, written straight
// from the definitions (one tile, one output channel, one slot at a time). Per axis, with g = (w0, w2):
//   E_k = sum_j A^T[k][j] (G g)_j (B^T d)_j, k = 0 .. 3, on 5 inputs d (the matrices below, points 0, 1, -1, 2, inf).
//   Upconv tile tm: d = x rows 4tm - 1 .. 4tm + 3, E rows 4tm + k, P rows 4tm + i = w1 x[4tm + i]; E[m] feeds y rows
//   2m - 1, 2m and P[i] y rows 2i, 2i + 1 (winograd_split.ts's twin), every tile computed whole (x is zero outside).
//   Stride-2 conv tile tm: d = x rows 8tm - 1 + 2j, outputs 4tm + k = E_k + P_k, P_k = w1 x[8tm + 2k].
// In 2-D each part is the product of a row part and a column part; slot (sr, sc) (0 .. 4 E positions, 5 .. 8 P
// lines) is sum_c U[6 min(sr, 5) + min(sc, 5)][c][o] * v(c). The pack writes U in the SIMD kernels' layout.
import { matrixAt, packMatrices, put, px } from './tiles';

// @ts-ignore: decorator
@inline function at(p: usize, i: i32): usize { return p + (<usize>i << 2); }

// static data (the core's runtime allocates nothing): B^T 5x5, A^T 4x5, G 5x2 row-major; one tile's 81 slot values
const BT_ = memory.data<f32>([2, -1, -2, 1, 0, 0, -2, -1, 1, 0, 0, 2, -3, 1, 0, 0, -1, 0, 1, 0, 0, 2, -1, -2, 1]);
const AT_ = memory.data<f32>([1, 1, 1, 1, 0, 0, 1, -1, 2, 0, 0, 1, 1, 4, 0, 0, 1, -1, 8, 1]);
const G_ = memory.data<f64>([0.5, 0, -0.5, -0.5, -1.0 / 6.0, 1.0 / 6.0, 1.0 / 6.0, 1.0 / 3.0, 0, 1]);
const SLOTS = memory.data(81 * 4, 16);
// @ts-ignore: decorator
@inline function BT(i: i32): f32 { return load<f32>(BT_ + (<usize>i << 2)); }
// @ts-ignore: decorator
@inline function AT(i: i32): f32 { return load<f32>(AT_ + (<usize>i << 2)); }

// (G's row a on the axis' taps (t0, t2)) or, a = 5, the middle tap t1: as a factor of tap k (0, 1, 2)
function gk(a: i32, k: i32): f64 {
  if (a == 5) return k == 1 ? 1 : 0;
  return k == 1 ? 0 : load<f64>(G_ + (<usize>(2 * a + (k >> 1)) << 3));
}

// w[kh][kw][c][oc]
function wt(w: usize, kh: i32, kw: i32, c: i32, oc: i32, C: i32, OC: i32): f32 {
  return load<f32>(at(w, ((kh * 3 + kw) * C + c) * OC + oc));
}

// Entry (c, oc) of matrix u = 6 ar + ac: sum over the taps of gk(ar, kh) gk(ac, kw) w[kh][kw]
function uw(w: usize, c: i32, oc: i32, C: i32, OC: i32, u: i32): f32 {
  const ar = u / 6, ac = u % 6;
  let v: f64 = 0;
  for (let kh = 0; kh < 3; kh++) for (let kw = 0; kw < 3; kw++) v += gk(ar, kh) * gk(ac, kw) * <f64>wt(w, kh, kw, c, oc, C, OC);
  return <f32>v;
}

export function ref_split4_packed_size(C: i32, OC: i32): i32 { return 36 * C * ((OC + 7) & ~7); }
export function ref_upconv_split4_packed_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 { return 0; }
export function ref_conv3s2_split4_packed_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 { return 0; }

// U[u][oc >> 3][c][oc & 7] (0 for oc past OCt), laid out for OCt channels, w's OC channels at c0 .. c0 + OC - 1
export function ref_split4_pack(U: usize, w: usize, scratch: usize, C: i32, OC: i32, OCt: i32, c0: i32): void {
  packMatrices(U, w, C, OC, OCt, c0, 36, uw);
}

// Along an axis: the x line of input j (0 .. 4) of the E part, and of P line i, for tile t.
function eSrc(up: bool, t: i32, j: i32): i32 { return up ? 4 * t - 1 + j : 8 * t - 1 + 2 * j; }
function pSrc(up: bool, t: i32, i: i32): i32 { return up ? 4 * t + i : 8 * t + 2 * i; }

// line i (of nLines(s)) of slot s's transformed input along an axis, for tile t: the x line and its factor (B^T's
// row s on the E inputs, or P line s - 5 itself)
function nLines(s: i32): i32 { return s < 5 ? 5 : 1; }
function line(up: bool, t: i32, s: i32, i: i32): i32 { return s < 5 ? eSrc(up, t, i) : pSrc(up, t, s - 5); }
function factor(s: i32, i: i32): f32 { return s < 5 ? BT(5 * s + i) : 1; }

// m of slot (sr, sc) of tile (tm, tn), output channel o
function slotM(up: bool, x: usize, ldx: i32, U: usize, n: i32, tm: i32, tn: i32, sr: i32, sc: i32, o: i32, H: i32, W: i32, C: i32, OC: i32): f32 {
  const u = 6 * min(sr, 5) + min(sc, 5);
  let m: f32 = 0;
  for (let c = 0; c < C; c++) {
    let v: f32 = 0;
    for (let i = 0; i < nLines(sr); i++) for (let j = 0; j < nLines(sc); j++) {
      const f = factor(sr, i) * factor(sc, j);
      if (f != 0) v += f * px(x, ldx, n, line(up, tm, sr, i), line(up, tn, sc, j), c, H, W);
    }
    m += matrixAt(U, c, o, C, OC, u) * v;
  }
  return m;
}

// @ts-ignore: decorator
@inline function sv(i: i32): f32 { return load<f32>(SLOTS + (<usize>i << 2)); }
function part(base: i32, stride: i32, k: i32): f32 {
  if (k >= 4) return sv(base + stride * (5 + k - 4));
  let v: f32 = 0;
  for (let j = 0; j < 5; j++) v += AT(5 * k + j) * sv(base + stride * j);
  return v;
}

function forward(up: bool, y: usize, x: usize, U: usize, b: usize, N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  const YH = up ? 2 * H : (H + 1) >> 1, YW = up ? 2 * W : (W + 1) >> 1;
  const TR = up ? H / 4 + 1 : (YH + 3) / 4, TC = up ? W / 4 + 1 : (YW + 3) / 4;
  for (let n = 0; n < N; n++) for (let h = 0; h < YH; h++) for (let v = 0; v < YW; v++) for (let o = 0; o < OC; o++) {
    put(y, ldy, n, h, v, o, YH, YW, b != 0 ? load<f32>(at(b, o)) : 0, false);
  }
  for (let n = 0; n < N; n++) for (let tm = 0; tm < TR; tm++) for (let tn = 0; tn < TC; tn++) for (let o = 0; o < OC; o++) {
    for (let sr = 0; sr < 9; sr++) for (let sc = 0; sc < 9; sc++) store<f32>(SLOTS + (<usize>(9 * sr + sc) << 2), slotM(up, x, ldx, U, n, tm, tn, sr, sc, o, H, W, C, OC));
    // part (kr, kc): kr, kc < 4 the E rows (columns) 4t + k, >= 4 the P lines 4t + k - 4
    for (let kr = 0; kr < 8; kr++) for (let kc = 0; kc < 8; kc++) {
      let v: f32 = 0;
      for (let sc = 0; sc < 9; sc++) {
        // the column slot's value along the rows first
        const r = part(sc, 9, kr);
        const f: f32 = sc < 5 ? (kc < 4 ? AT(5 * kc + sc) : 0) : (kc >= 4 && sc - 5 == kc - 4 ? 1 : 0);
        v += f * r;
      }
      const er = kr < 4, ec = kc < 4, ir = 4 * tm + (kr & 3), ic = 4 * tn + (kc & 3);
      if (up) {
        // E[m] feeds y rows 2m - 1, 2m; P[i] rows 2i, 2i + 1 (columns alike)
        for (let a = 0; a < 2; a++) for (let bb = 0; bb < 2; bb++) {
          put(y, ldy, n, er ? 2 * ir - a : 2 * ir + a, ec ? 2 * ic - bb : 2 * ic + bb, o, YH, YW, v, true);
        }
      } else put(y, ldy, n, ir, ic, o, YH, YW, v, true);
    }
  }
}

export function ref_upconv_split4_forward_packed(y: usize, x: usize, U: usize, b: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  forward(true, y, x, U, b, N, H, W, C, OC, ldy, ldx);
}

export function ref_conv3s2_split4_forward_packed(y: usize, x: usize, U: usize, b: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  forward(false, y, x, U, b, N, H, W, C, OC, ldy, ldx);
}
