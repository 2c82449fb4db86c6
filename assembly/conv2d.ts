// 2-D convolution, forward and both backward passes, on the 4x8 GEMM micro-kernels of gemm.ts.
// x (N, H, W, C) pixel stride ldx; y (N, OH, OW, OC) pixel stride ldy (views may be channel slices);
// weights HWIO [KH][KW][C][OC]; bias [OC] (0 = none); OH = (H + 2*pad - KH) / stride + 1.
// forward: indirect GEMM (rows = output pixels, one pointer per tap, zero vector for padding).
// backward_input: the same igemm per stride phase (s*s classes of input pixels, each with a fixed tap set).
// backward_weight: A^T B GEMM over pixel chunks (rows = 4 consecutive channels of one tap). All use scratch only.
// Conv-transpose = backward_input of its dual conv (+ bias_add_forward); linear = 1x1 conv with H = W = 1.
import { igemm_4x8, igemm_dot_2x4, gemm_ap_4x8, gemm_dwt_4x8, pack_a4, pack_panels, pack_panels_t } from './gemm';

// Channel counts below this go through an im2col copy (per row chunk): the tap loop would dominate a short K.
const COL_K: i32 = 16;
// Pixels per chunk of the weight gradient (its K block): the packed dy chunk and the A lines fit L1.
const KB: i32 = 256;
// Output rows up to which the forward reads full weight panels in place instead of packing them.
let DIRECT_P: i32 = 4;
// Output rows up to which forward and backward-input run K-blocked (pack a KCB-channel slice per tap).
let KBLK_P: i32 = 64;
// Channels per K block in that mode (the packed block KCB x OC stays in L2).
let KCB: i32 = 256;

// Tuning knobs for the benchmark (0: DIRECT_P, 1: KBLK_P, 2: KCB); returns the old value.
export function conv2d_tune(which: i32, value: i32): i32 {
  let old = 0;
  if (which == 0) { old = DIRECT_P; DIRECT_P = value; }
  else if (which == 1) { old = KBLK_P; KBLK_P = value; }
  else if (which == 2) { old = KCB; KCB = value; }
  return old;
}

// @ts-ignore: decorator
@inline function al(n: i32): i32 { return (n + 15) & ~15; }
// @ts-ignore: decorator
@inline function c4(n: i32): i32 { return (n + 3) & ~3; }
// im2col for the forward: short channel vectors, or a narrow output (the dot kernel needs K % 4 == 0)
// @ts-ignore: decorator
@inline function fwdCol(C: i32, OC: i32): bool { return C < COL_K || (OC <= 4 && (C & 3) != 0); }
// and for backward-input (its K is OC, its outputs C)
// @ts-ignore: decorator
@inline function bwdCol(C: i32, OC: i32): bool { return OC < COL_K || (C <= 4 && (OC & 3) != 0); }
// @ts-ignore: decorator
@inline function fl(p: usize, n: i32): usize { return p + (<usize>n << 2); }

// Rows per igemm chunk: the chunk's input pixels (rows * K floats) should sit in L2 while all panels pass.
// @ts-ignore: decorator
@inline function rowChunk(R: i32, K: i32): i32 {
  let rc = (65536 / max(K, 1)) & ~3;
  rc = max(rc, 64);
  return min(rc, max(R, 1));
}

// ---- scratch layouts (floats); each region 16-float (64-byte) aligned ----

function fwdSize(N: i32, H: i32, W: i32, C: i32, OC: i32, KH: i32, KW: i32, stride: i32, pad: i32): i32 {
  const OH = (H + 2 * pad - KH) / stride + 1, OW = (W + 2 * pad - KW) / stride + 1;
  const T = KH * KW, P = N * OH * OW, NP = (OC + 7) >> 3;
  const col = fwdCol(C, OC);
  const RC = rowChunk(P, col ? T * C : C);
  return al(C) + al(NP * 8) + al(max(NP * 8 * T * C, 4 * c4(T * C))) + al(RC) + al(RC * T) + (col ? al(RC * c4(T * C)) : 0);
}

function bwdInSize(N: i32, H: i32, W: i32, C: i32, OC: i32, KH: i32, KW: i32, stride: i32, pad: i32): i32 {
  const T = KH * KW, NPc = (C + 7) >> 3;
  const Hp = (H + stride - 1) / stride, Wp = (W + stride - 1) / stride;
  const Rmax = N * Hp * Wp;
  // tap count of the largest phase
  const Th = (KH + stride - 1) / stride, Tw = (KW + stride - 1) / stride, Tp = Th * Tw;
  const col = bwdCol(C, OC);
  const RC = rowChunk(Rmax, col ? Tp * OC : OC);
  return al(OC) + al(max(NPc * 8 * Tp * OC, 4 * c4(Tp * OC))) + al(RC) + al(RC * Tp) + (col ? al(RC * c4(Tp * OC)) : 0);
}

function bwdWSize(N: i32, H: i32, W: i32, C: i32, OC: i32, KH: i32, KW: i32, stride: i32, pad: i32): i32 {
  const T = KH * KW, NPo = (OC + 7) >> 3;
  const col = C < COL_K;
  const M = col ? T * C : C;
  return al(C) + al(NPo * 8 * KB) + al(T * KB) + (col ? al(KB * T * C) : 0) + al(((M + 3) & ~3) * KB);
}

// Floats of scratch the forward alone needs (inference: no backward buffers).
export function conv2d_forward_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32, KH: i32, KW: i32, stride: i32, pad: i32): i32 {
  return fwdSize(N, H, W, C, OC, KH, KW, stride, pad);
}

// Floats of scratch any of the three passes needs for this shape.
export function conv2d_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32, KH: i32, KW: i32, stride: i32, pad: i32): i32 {
  return max(fwdSize(N, H, W, C, OC, KH, KW, stride, pad),
    max(bwdInSize(N, H, W, C, OC, KH, KW, stride, pad), bwdWSize(N, H, W, C, OC, KH, KW, stride, pad)));
}

// Gathers each row's T vectors of K floats into one contiguous row (im2col of a row chunk), rows rowLen >= T*K
// floats apart (zero-padded), then rewrites ind[0][r] to point at it: the GEMM then runs with one tap.
function gatherRows(col: usize, ind: usize, R: i32, T: i32, K: i32, rowLen: i32): void {
  const rowBytes = <usize>rowLen << 2, kb = <usize>K << 2;
  for (let r = 0; r < R; r++) {
    let d = col + <usize>r * rowBytes;
    const row = d;
    for (let t = 0; t < T; t++) {
      const s = <usize>load<u32>(ind + ((<usize>t * R + r) << 2));
      // short vectors: inline copies (a memory.copy call costs more than 3-15 floats)
      let i: usize = 0;
      for (; i + 16 <= kb; i += 16) v128.store(d + i, v128.load(s + i));
      for (; i < kb; i += 4) store<f32>(d + i, load<f32>(s + i));
      d += kb;
    }
    for (; d < row + rowBytes; d += 4) store<f32>(d, 0);
    store<u32>(ind + (<usize>r << 2), <u32>row);
  }
}

// y = conv(x, w) + b, overwriting y's slice.
export function conv2d_forward(y: usize, x: usize, w: usize, b: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, KH: i32, KW: i32, stride: i32, pad: i32, ldy: i32, ldx: i32): void {
  forwardImpl(y, x, w, b, scratch, N, H, W, C, OC, KH, KW, stride, pad, ldy, ldx, 0);
}

function forwardImpl(y: usize, x: usize, w: usize, b: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, KH: i32, KW: i32, stride: i32, pad: i32, ldy: i32, ldx: i32, acc: i32): void {
  const OH = (H + 2 * pad - KH) / stride + 1, OW = (W + 2 * pad - KW) / stride + 1;
  const T = KH * KW, P = N * OH * OW, NP = (OC + 7) >> 3;
  if (P <= 0 || OC <= 0) return;
  const col = fwdCol(C, OC);
  const RC = rowChunk(P, col ? T * C : C);
  // scratch: zero vector | bias (padded) | packed w | outp | ind | im2col
  const zero = scratch;
  const bias = fl(zero, al(C));
  const bp = fl(bias, al(NP * 8));
  const outp = fl(bp, al(max(NP * 8 * T * C, 4 * c4(T * C))));
  const ind = fl(outp, al(RC));
  const colp = fl(ind, al(RC * T));
  memory.fill(zero, 0, <usize>C << 2);
  let bb: usize = 0;
  if (b != 0) {
    memory.fill(bias, 0, <usize>NP << 5);
    memory.copy(bias, b, <usize>OC << 2);
    bb = bias;
  }
  // w is [T*C][OC] row-major. Three ways to feed it, by the number of output rows P:
  //  - P <= DIRECT_P (one row block): full 8-wide panels are read from w in place (each weight is used once,
  //    packing would cost as much as the GEMM); only a tail panel (OC % 8) is packed;
  //  - P <= KBLK_P: K-blocked (GotoBLAS style): per tap and channel block of KCB, pack that slice of w
  //    (sequential reads, an L2-sized packed block) and accumulate into y; y starts as bias (or 0);
  //  - otherwise the whole of w is packed once into [T*C][8] panels and the rows go in chunks of RC.
  //  (OC <= 4: the narrow dot-product kernel, w packed as [T*C/4][4 oc][4 k])
  const OC8 = OC & ~7;
  const narrow = OC <= 4;
  const mode = col || narrow ? 2 : P <= DIRECT_P ? 0 : P <= KBLK_P ? 1 : 2;
  const TC4 = c4(T * C);
  if (narrow) {
    for (let k = 0; k < TC4; k++) for (let n = 0; n < 4; n++) {
      store<f32>(bp + ((<usize>(k >> 2) << 6) + (<usize>n << 4) + (<usize>(k & 3) << 2)), k < T * C && n < OC ? load<f32>(fl(w, k * OC + n)) : 0);
    }
  } else if (mode == 0) {
    if (OC8 < OC) pack_panels(bp, fl(w, OC8), T * C, OC - OC8, OC);
  } else if (mode == 2) {
    pack_panels(bp, w, T * C, OC, OC);
  } else if (acc == 0) {
    // K-blocked accumulates: start from the bias (or zero)
    for (let p = 0; p < P; p++) {
      if (bb != 0) memory.copy(fl(y, p * ldy), bb, <usize>OC << 2);
      else memory.fill(fl(y, p * ldy), 0, <usize>OC << 2);
    }
  }
  const ohw = OH * OW;
  for (let r0 = 0; r0 < P; r0 += RC) {
    const R = min(RC, P - r0);
    for (let r = 0; r < R; r++) {
      const p = r0 + r;
      const n = p / ohw, q = p - n * ohw, oh = q / OW, ow = q - oh * OW;
      store<u32>(outp + (<usize>r << 2), <u32>fl(y, p * ldy));
      const ih0 = oh * stride - pad, iw0 = ow * stride - pad;
      const base = n * H;
      let t = 0;
      for (let kh = 0; kh < KH; kh++) {
        const ih = ih0 + kh;
        const rowOk = ih >= 0 && ih < H;
        for (let kw = 0; kw < KW; kw++) {
          const iw = iw0 + kw;
          const a = rowOk && iw >= 0 && iw < W ? fl(x, ((base + ih) * W + iw) * ldx) : zero;
          store<u32>(ind + ((<usize>t * R + r) << 2), <u32>a);
          t++;
        }
      }
    }
    if (col) gatherRows(colp, ind, R, T, C, TC4);
    if (narrow) {
      if (col) igemm_dot_2x4(R, 1, TC4, ind, outp, 0, bp, OC, bb, acc, zero);
      else igemm_dot_2x4(R, T, C, ind, outp, 0, bp, OC, bb, acc, zero);
    } else if (col) {
      igemm_4x8(R, 1, T * C, ind, outp, 0, bp, 32, (<usize>T * C) << 5, OC, bb, acc, zero, 0);
    } else if (mode == 0) {
      if (OC8 > 0) igemm_4x8(R, T, C, ind, outp, 0, w, <usize>OC << 2, 32, OC8, bb, acc, zero, 0);
      if (OC8 < OC) igemm_4x8(R, T, C, ind, outp, <usize>OC8 << 2, bp, 32, (<usize>T * C) << 5, OC - OC8, bb != 0 ? fl(bb, OC8) : 0, acc, zero, 0);
    } else if (mode == 1) {
      // (P <= KBLK_P <= RC: a single row chunk)
      for (let t = 0; t < T; t++) {
        for (let c0 = 0; c0 < C; c0 += KCB) {
          const kc = min(KCB, C - c0);
          pack_panels(bp, fl(w, (t * C + c0) * OC), kc, OC, OC);
          igemm_4x8(R, 1, kc, ind + ((<usize>t * R) << 2), outp, 0, bp, 32, <usize>kc << 5, OC, 0, 1, zero, <usize>c0 << 2);
        }
      }
    } else {
      igemm_4x8(R, T, C, ind, outp, 0, bp, 32, (<usize>T * C) << 5, OC, bb, acc, zero, 0);
    }
  }
}

// dx += conv^T(dy, w). Input pixels are split by (ih mod s, iw mod s): in one phase the taps with
// kh = (ih + pad) mod s (mod s) are exactly the ones that reach an output pixel, so no FLOP hits a
// structural zero; each phase is an igemm with K = OC over its taps and B = w transposed per tap.
export function conv2d_backward_input(dx: usize, dy: usize, w: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, KH: i32, KW: i32, stride: i32, pad: i32, ldx: i32, ldy: i32): void {
  const OH = (H + 2 * pad - KH) / stride + 1, OW = (W + 2 * pad - KW) / stride + 1;
  if (N <= 0 || C <= 0 || OH <= 0 || OW <= 0) return;
  const s = stride, NPc = (C + 7) >> 3;
  const Hp = (H + s - 1) / s, Wp = (W + s - 1) / s;
  const Th = (KH + s - 1) / s, Tw = (KW + s - 1) / s;
  const col = bwdCol(C, OC);
  const RC = rowChunk(N * Hp * Wp, col ? Th * Tw * OC : OC);
  // scratch: zero vector | packed w^T | outp | ind | im2col
  const zero = scratch;
  const bp = fl(zero, al(OC));
  const outp = fl(bp, al(max(NPc * 8 * Th * Tw * OC, 4 * c4(Th * Tw * OC))));
  const ind = fl(outp, al(RC));
  const colp = fl(ind, al(RC * Th * Tw));
  memory.fill(zero, 0, <usize>OC << 2);
  for (let ph = 0; ph < s && ph < H; ph++) {
    const kh0 = (ph + pad) % s;
    const nkh = kh0 < KH ? (KH - kh0 + s - 1) / s : 0;
    const nh = (H - ph + s - 1) / s;
    for (let pw = 0; pw < s && pw < W; pw++) {
      const kw0 = (pw + pad) % s;
      const nkw = kw0 < KW ? (KW - kw0 + s - 1) / s : 0;
      const Tp = nkh * nkw;
      if (Tp == 0) continue;
      const nw = (W - pw + s - 1) / s;
      const Rp = N * nh * nw;
      // mode 1 (few rows, K-blocked): per tap and block of KCB output channels, pack w^T's slice and accumulate;
      // mode 2: pack all the phase's taps at once, B panels over c: [j][tap][oc][8] = w[kh][kw][8j + cc][oc]
      // (C <= 4: the narrow dot-product kernel, B packed as [(tap, oc)/4][4 c][4 (tap, oc)])
      const narrow = C <= 4;
      const kblk = !col && !narrow && Rp <= KBLK_P;
      const TO4 = c4(Tp * OC);
      if (narrow) {
        for (let k = Tp * OC; k < TO4; k++) for (let n = 0; n < 4; n++) {
          store<f32>(bp + ((<usize>(k >> 2) << 6) + (<usize>n << 4) + (<usize>(k & 3) << 2)), 0);
        }
      }
      if (!kblk) {
        let t = 0;
        for (let th = 0; th < nkh; th++) for (let tw = 0; tw < nkw; tw++) {
          const wt = fl(w, ((kh0 + th * s) * KW + kw0 + tw * s) * C * OC);
          if (narrow) {
            for (let oc = 0; oc < OC; oc++) for (let n = 0; n < 4; n++) {
              const k = t * OC + oc;
              store<f32>(bp + ((<usize>(k >> 2) << 6) + (<usize>n << 4) + (<usize>(k & 3) << 2)), n < C ? load<f32>(fl(wt, n * OC + oc)) : 0);
            }
          } else {
            pack_panels_t(bp + ((<usize>t * OC) << 5), wt, OC, C, OC, (<usize>Tp * OC) << 5);
          }
          t++;
        }
      }
      for (let r0 = 0; r0 < Rp; r0 += RC) {
        const R = min(RC, Rp - r0);
        for (let r = 0; r < R; r++) {
          const p = r0 + r;
          const n = p / (nh * nw), q = p - n * nh * nw, i = q / nw, jw = q - i * nw;
          const ih = ph + i * s, iw = pw + jw * s;
          store<u32>(outp + (<usize>r << 2), <u32>fl(dx, ((n * H + ih) * W + iw) * ldx));
          let t = 0;
          for (let th = 0; th < nkh; th++) {
            const u = ih + pad - (kh0 + th * s); // = s * oh when >= 0
            const oh = u / s;
            const rowOk = u >= 0 && oh < OH;
            for (let tw = 0; tw < nkw; tw++) {
              const v = iw + pad - (kw0 + tw * s);
              const ow = v / s;
              const a = rowOk && v >= 0 && ow < OW ? fl(dy, ((n * OH + oh) * OW + ow) * ldy) : zero;
              store<u32>(ind + ((<usize>t * R + r) << 2), <u32>a);
              t++;
            }
          }
        }
        if (col) gatherRows(colp, ind, R, Tp, OC, TO4);
        if (narrow) {
          if (col) igemm_dot_2x4(R, 1, TO4, ind, outp, 0, bp, C, 0, 1, zero);
          else igemm_dot_2x4(R, Tp, OC, ind, outp, 0, bp, C, 0, 1, zero);
        } else if (col) {
          igemm_4x8(R, 1, Tp * OC, ind, outp, 0, bp, 32, (<usize>Tp * OC) << 5, C, 0, 1, zero, 0);
        } else if (kblk) {
          let t = 0;
          for (let th = 0; th < nkh; th++) for (let tw = 0; tw < nkw; tw++) {
            const wt = fl(w, ((kh0 + th * s) * KW + kw0 + tw * s) * C * OC);
            for (let oc0 = 0; oc0 < OC; oc0 += KCB) {
              const kc = min(KCB, OC - oc0);
              pack_panels_t(bp, fl(wt, oc0), kc, C, OC, <usize>kc << 5);
              igemm_4x8(R, 1, kc, ind + ((<usize>t * R) << 2), outp, 0, bp, 32, <usize>kc << 5, C, 0, 1, zero, <usize>oc0 << 2);
            }
            t++;
          }
        } else {
          igemm_4x8(R, Tp, OC, ind, outp, 0, bp, 32, (<usize>Tp * OC) << 5, C, 0, 1, zero, 0);
        }
      }
    }
  }
}

// dw[kh][kw][c][oc] += sum_pixels x[pixel at tap (kh, kw), c] * dy[pixel, oc]; db[oc] += sum_pixels dy[pixel, oc].
// K (pixels) is cut into chunks of KB: dy's chunk is packed into 8-wide panels, each tap's input pixels
// (found through a pointer table, zeros for padding) are packed into 4-channel panels, and gemm_ap
// accumulates the chunk's contribution into dw.
export function conv2d_backward_weight(dw: usize, db: usize, dy: usize, x: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, KH: i32, KW: i32, stride: i32, pad: i32, ldy: i32, ldx: i32): void {
  const OH = (H + 2 * pad - KH) / stride + 1, OW = (W + 2 * pad - KW) / stride + 1;
  const T = KH * KW, P = N * OH * OW, NPo = (OC + 7) >> 3;
  if (P <= 0 || OC <= 0) return;
  if (db != 0) bias_backward(db, dy, P, OC, ldy);
  if (C <= 0) return;
  const col = C < COL_K;
  // scratch: zero vector | packed dy chunk | ind | im2col
  const zero = scratch;
  const bp = fl(zero, al(C));
  const ind = fl(bp, al(NPo * 8 * KB));
  const colp = fl(ind, al(T * KB));
  const ap = fl(colp, col ? al(KB * T * C) : 0);
  memory.fill(zero, 0, <usize>C << 2);
  const ohw = OH * OW;
  for (let p0 = 0; p0 < P; p0 += KB) {
    const Q = min(KB, P - p0);
    const narrow = OC <= 4;
    if (!narrow) pack_panels(bp, fl(dy, p0 * ldy), Q, OC, ldy);
    for (let r = 0; r < Q; r++) {
      const p = p0 + r;
      const n = p / ohw, q = p - n * ohw, oh = q / OW, ow = q - oh * OW;
      const ih0 = oh * stride - pad, iw0 = ow * stride - pad;
      let t = 0;
      for (let kh = 0; kh < KH; kh++) {
        const ih = ih0 + kh;
        const rowOk = ih >= 0 && ih < H;
        for (let kw = 0; kw < KW; kw++) {
          const iw = iw0 + kw;
          const a = rowOk && iw >= 0 && iw < W ? fl(x, ((n * H + ih) * W + iw) * ldx) : zero;
          store<u32>(ind + ((<usize>t * Q + r) << 2), <u32>a);
          t++;
        }
      }
    }
    if (col) {
      // rows of dw are (t, c) flattened: one tap of T*C channels
      gatherRows(colp, ind, Q, T, C, T * C);
      if (narrow) {
        gemm_dwt_4x8(T * C, Q, ind, fl(dy, p0 * ldy), ldy, OC, dw, OC);
      } else {
        pack_a4(ap, ind, Q, T * C);
        gemm_ap_4x8(T * C, Q, ap, bp, OC, dw, OC);
      }
    } else {
      for (let t = 0; t < T; t++) {
        if (narrow) {
          // OC <= 4: 8 input channels wide instead, read in place (nothing to pack)
          gemm_dwt_4x8(C, Q, ind + ((<usize>t * Q) << 2), fl(dy, p0 * ldy), ldy, OC, fl(dw, t * C * OC), OC);
        } else {
          pack_a4(ap, ind + ((<usize>t * Q) << 2), Q, C);
          gemm_ap_4x8(C, Q, ap, bp, OC, fl(dw, t * C * OC), OC);
        }
      }
    }
  }
}

// y[p, c] += b[c]
export function bias_add_forward(y: usize, b: usize, P: i32, C: i32, ldy: i32): void {
  for (let p = 0; p < P; p++) {
    const yp = fl(y, p * ldy);
    let c = 0;
    for (; c + 4 <= C; c += 4) {
      const o = <usize>c << 2;
      v128.store(yp + o, f32x4.add(v128.load(yp + o), v128.load(b + o)));
    }
    for (; c < C; c++) {
      const o = <usize>c << 2;
      store<f32>(yp + o, load<f32>(yp + o) + load<f32>(b + o));
    }
  }
}

// db[c] += sum_p dy[p, c]  (four v128 column sums at a time, walking the pixels)
export function bias_backward(db: usize, dy: usize, P: i32, C: i32, ldy: i32): void {
  const ld = <usize>ldy << 2;
  let c = 0;
  for (; c + 16 <= C; c += 16) {
    let s0 = f32x4.splat(0), s1 = s0, s2 = s0, s3 = s0;
    let q = dy + (<usize>c << 2);
    for (let p = 0; p < P; p++) {
      s0 = f32x4.add(s0, v128.load(q)); s1 = f32x4.add(s1, v128.load(q, 16));
      s2 = f32x4.add(s2, v128.load(q, 32)); s3 = f32x4.add(s3, v128.load(q, 48));
      q += ld;
    }
    const o = db + (<usize>c << 2);
    v128.store(o, f32x4.add(v128.load(o), s0)); v128.store(o, f32x4.add(v128.load(o, 16), s1), 16);
    v128.store(o, f32x4.add(v128.load(o, 32), s2), 32); v128.store(o, f32x4.add(v128.load(o, 48), s3), 48);
  }
  for (; c + 4 <= C; c += 4) {
    let s0 = f32x4.splat(0);
    let q = dy + (<usize>c << 2);
    for (let p = 0; p < P; p++) { s0 = f32x4.add(s0, v128.load(q)); q += ld; }
    const o = db + (<usize>c << 2);
    v128.store(o, f32x4.add(v128.load(o), s0));
  }
  for (; c < C; c++) {
    let s: f32 = 0;
    let q = dy + (<usize>c << 2);
    for (let p = 0; p < P; p++) { s += load<f32>(q); q += ld; }
    store<f32>(db + (<usize>c << 2), load<f32>(db + (<usize>c << 2)) + s);
  }
}

// y[p, c] = 0 on a view (conv-transpose zeroes its output, then accumulates into it).
export function view_zero(y: usize, P: i32, C: i32, ldy: i32): void {
  if (ldy == C) { memory.fill(y, 0, (<usize>P * C) << 2); return; }
  for (let p = 0; p < P; p++) memory.fill(fl(y, p * ldy), 0, <usize>C << 2);
}

// y += conv(x, w) (no bias): conv-transpose's backward-input (the forward of its dual conv) must accumulate.
export function conv2d_forward_acc(y: usize, x: usize, w: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, KH: i32, KW: i32, stride: i32, pad: i32, ldy: i32, ldx: i32): void {
  forwardImpl(y, x, w, 0, scratch, N, H, W, C, OC, KH, KW, stride, pad, ldy, ldx, 1);
}
