// 2-D convolution, forward and both backward passes, on the GEMM micro-kernels of gemm.ts.
// x (N, H, W, C) pixel stride ldx; y (N, OH, OW, OC) pixel stride ldy (views may be channel slices);
// weights HWIO [KH][KW][C][OC]; bias [OC] (0 = none); OH = (H + 2*pad - KH) / stride + 1.
// forward: indirect GEMM, rows = output pixels, one pointer per (pixel, tap) into x or a zero vector; w fed
//   in place (1-4 rows), K-blocked per tap (<= 64 rows) or packed whole; im2col rows when C is short.
//   conv2d_pack + conv2d_forward_packed: w packed once by a caller with fixed weights (inference).
// backward_input: the same igemm per stride phase (s*s classes of input pixels, each with a fixed tap set,
//   so no FLOP hits a structural zero), B = w^T per tap; 1-4 rows: dot products against w's rows in place;
//   1-4 input channels: one wide GEMM Z = dy . w^T, then col2im.
// backward_weight: packed GEMM over chunks of 64 pixels (rows = 4 channels of one tap, cols = 8 of dy).
// Narrow sides (<= 4 channels: RGB in/out, patch logits) use the dot-product / transposed kernels.
// Taps that only see padding are skipped. Everything temporary lives in `scratch` (conv2d_scratch_size).
// Conv-transpose = backward_input of its dual conv (+ bias_add_forward); linear = 1x1 conv with H = W = 1.
import { bias_backward } from './conv_bias';
import { stagedBias, startRows, storeT4 } from './simd';
import { igemm_4x8, igemm_dot_2x4, gemm_ap_4x8, gemm_dwt_4x8, gemm_dot_bt_2x4, pack_a4, pack_dot, pack_panels, pack_panels_t, pack_rows4, pad_dot } from './gemm';

// Channel counts below this go through an im2col copy (per row chunk): the tap loop would dominate a short K.
const COL_K: i32 = 16;
// Pixels per chunk of the weight gradient (its K block): 64 keeps the packed dy chunk (64 x OC) and the A
// panel in L1 (measured 25-30% faster than 256 on 64-128 channel layers); the narrow (OC <= 4) path reads
// its inputs in place and prefers longer chunks. KB is the larger, for the scratch size.
const KB: i32 = 256;
const KB_PACKED: i32 = 64;
// Output rows up to which the forward reads full weight panels in place instead of packing them; up to
// DIRECT_P_WIDE at >= WIDE_OC output channels (the generator's down5..down7, the discriminators' last scales at
// batch 1: 1.1-1.2x at 16 rows, 1.8-2.4x at 4; with 16 output channels the K-blocked mode stays ahead, 0.5x).
const DIRECT_P: i32 = 4;
const DIRECT_P_WIDE: i32 = 32;
const WIDE_OC: i32 = 128;
// Output rows up to which forward and backward-input run K-blocked (pack a KCB-channel slice per tap).
const KBLK_P: i32 = 64;
// Rows (per stride phase) up to which backward-input takes dot products against w in place rather than
// packing w^T (measured: 1.1-1.4x at 4-64 rows).
const DOT_R: i32 = 64;
// Channels per K block in that mode (the packed block KCB x OC stays in L2).
const KCB: i32 = 256;
// Rows of w per block when the forward reads w in place: KCD_ROWS where there are 2 or more output rows (the 4x8
// tiles: against 8 rows per block, 1.4x on 512 -> 512 channels at 1 row of 2, 2.0-3.3x at 4 rows, 1.1-1.2x at 16),
// KCD for a single row (the GEMV path: 8 measured best of 0/4/8/16/32/64, each block's 8 rows walked left to right
// as 8 sequential streams; 256 read 0.56x on 8192 -> 16).
const KCD: i32 = 8;
const KCD_ROWS: i32 = 256;


// @ts-ignore: decorator
@inline function al(n: i32): i32 { return (n + 15) & ~15; }
// @ts-ignore: decorator
@inline function c4(n: i32): i32 { return (n + 3) & ~3; }
// The forward's im2col rows packed 4 at a time for gemm_ap_4x8 (one A pointer per k step instead of four):
// short channel vectors, an unstrided x, an output wider than 4 channels and T*C a multiple of 4.
// @ts-ignore: decorator
@inline function rowPanels(T: i32, C: i32, OC: i32, ldx: i32): bool { return C < COL_K && OC > 4 && ldx == C && (T * C) % 4 == 0; }
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
  return al(C) + al(NP * 8) + al(max(NP * 8 * T * C, 4 * c4(T * C))) + al(RC) + al(RC * T) + (col ? 2 * al(c4(RC) * c4(T * C)) : 0);
}

function bwdInSize(N: i32, H: i32, W: i32, C: i32, OC: i32, KH: i32, KW: i32, stride: i32, pad: i32): i32 {
  const T = KH * KW, NPc = (C + 7) >> 3;
  const Hp = (H + stride - 1) / stride, Wp = (W + stride - 1) / stride;
  const Rmax = N * Hp * Wp;
  // tap count of the largest phase
  const Th = (KH + stride - 1) / stride, Tw = (KW + stride - 1) / stride, Tp = Th * Tw;
  const col = bwdCol(C, OC);
  const RC = rowChunk(Rmax, col ? Tp * OC : OC);
  const phases = al(OC) + al(max(NPc * 8 * Tp * OC, 4 * c4(Tp * OC))) + al(RC) + al(RC * Tp) + (col ? al(RC * c4(Tp * OC)) : 0);
  return colBack(C, OC) ? max(phases, colBackSize(C, OC, KH, KW)) : phases;
}

function bwdWSize(N: i32, H: i32, W: i32, C: i32, OC: i32, KH: i32, KW: i32, stride: i32, pad: i32): i32 {
  const T = KH * KW, NPo = (OC + 7) >> 3;
  const col = C < COL_K;
  const M = col ? T * C : C;
  return al(C) + al(NPo * 8 * KB) + al(T * KB) + (col ? al(KB * T * C) : 0) + al(((M + 3) & ~3) * KB) + al(NPo * 8);
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

// True when all n entries of a pointer table are the zero vector (a tap that only sees padding: skip it).
function allZero(tab: usize, n: i32, zp: usize): bool {
  for (let i = 0; i < n; i++) if (<usize>load<u32>(tab + (<usize>i << 2)) != zp) return false;
  return true;
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

// Copy n floats (exactly: no over-read or over-write), v128 where it can.
// @ts-ignore: decorator
@inline function copyFloats(d: usize, s: usize, n: i32): void {
  const b = <usize>n << 2;
  let i: usize = 0;
  for (; i + 16 <= b; i += 16) v128.store(d + i, v128.load(s + i));
  for (; i < b; i += 4) store<f32>(d + i, load<f32>(s + i));
}

// Zero n bytes (a multiple of 4) with stores: memory.fill is a call, costly for the 12-48 bytes of a padding tap.
// @ts-ignore: decorator
@inline function zeroBytes(d: usize, b: usize): void {
  let i: usize = 0;
  for (; i + 16 <= b; i += 16) v128.store(d + i, f32x4.splat(0));
  for (; i < b; i += 4) store<f32>(d + i, 0);
}

// tapTable + gatherRows in one pass for an unstrided x (ldx == C): the KW taps of a kernel row are KW*C
// contiguous floats of x wherever they all fall inside it, so each (pixel, kh) is one copy instead of KW
// pointer stores and KW short copies (the first layers, C = 3 or 4: 1.2-1.4x on the whole forward). The same rows,
// so the same sums. ind[r] points at row r (one tap of K = T*C), outp[r] at its y row (skipped when outp == 0).
function colRows(col: usize, ind: usize, outp: usize, p0: i32, R: i32, x: usize, y: usize, ldy: i32,
  H: i32, W: i32, OH: i32, OW: i32, C: i32, KH: i32, KW: i32, stride: i32, pad: i32, rowLen: i32): void {
  const ohw = OH * OW, seg = KW * C, rowBytes = <usize>rowLen << 2, segBytes = <usize>seg << 2, cb = <usize>C << 2;
  const xRow = <usize>(W * C) << 2;
  // (n, oh, ow) of pixel p0, then stepped (no divisions per row)
  let n = p0 / ohw, oh = (p0 - n * ohw) / OW, ow = p0 - n * ohw - oh * OW;
  for (let r = 0; r < R; r++, ow++) {
    if (ow == OW) { ow = 0; if (++oh == OH) { oh = 0; n++; } }
    if (outp != 0) store<u32>(outp + (<usize>r << 2), <u32>fl(y, (p0 + r) * ldy));
    const row = col + <usize>r * rowBytes;
    store<u32>(ind + (<usize>r << 2), <u32>row);
    const ih0 = oh * stride - pad, iw0 = ow * stride - pad;
    const inside = iw0 >= 0 && iw0 + KW <= W;
    let d = row;
    // x at (n, ih0, iw0), then one image row further per kh
    let src = fl(x, ((n * H + ih0) * W + iw0) * C);
    if (inside && ih0 >= 0 && ih0 + KH <= H) {
      // inside the image (most pixels): KH copies of seg floats, 12 unrolled (branch-free: 1.05x on the forward)
      if (segBytes == 48) {
        for (let kh = 0; kh < KH; kh++, d += 48, src += xRow) {
          v128.store(d, v128.load(src)); v128.store(d, v128.load(src, 16), 16); v128.store(d, v128.load(src, 32), 32);
        }
      } else {
        for (let kh = 0; kh < KH; kh++, d += segBytes, src += xRow) copyFloats(d, src, seg);
      }
      if (d < row + rowBytes) zeroBytes(d, row + rowBytes - d);
      continue;
    }
    for (let kh = 0; kh < KH; kh++, d += segBytes, src += xRow) {
      const ih = ih0 + kh;
      if (ih < 0 || ih >= H) { zeroBytes(d, segBytes); continue; }
      if (inside) { copyFloats(d, src, seg); continue; }
      for (let kw = 0; kw < KW; kw++) {
        const iw = iw0 + kw, dk = d + <usize>kw * cb;
        if (iw >= 0 && iw < W) copyFloats(dk, fl(src, kw * C), C);
        else zeroBytes(dk, cb);
      }
    }
    if (d < row + rowBytes) zeroBytes(d, row + rowBytes - d);
  }
}

// colRows + pack_rows4 in one pass for the forward's rowPanels when a kernel row is whole groups of 4 floats
// (KW*C % 4 == 0: unet.down1, the discriminators' first layers): each block of 4 pixels' kernel-row runs is
// read from x and written transposed into pack_rows4's layout, ap[rb][q][i] = row (4rb + i)'s im2col float q,
// without the im2col rows in between. A run that leaves the image is assembled first in tmp (4 runs of KW*C
// floats: taps inside copied, the rest zero). Rows past R repeat the block's first row, as pack_rows4 does:
// the same panels, so the same bits. pix: 4 entries of 16 bytes (x at the pixel's kernel row 0, ih0, iw0,
// whether its runs stay inside the image's width).
function colPack4(ap: usize, tmp: usize, pix: usize, p0: i32, R: i32, x: usize, H: i32, W: i32, OH: i32, OW: i32,
  C: i32, KH: i32, KW: i32, stride: i32, pad: i32): void {
  const ohw = OH * OW, segB = <usize>(KW * C) << 2, xRow = <usize>(W * C) << 2;
  let n = p0 / ohw, oh = (p0 - n * ohw) / OW, ow = p0 - n * ohw - oh * OW;
  let d = ap;
  for (let rb = 0; rb < R; rb += 4) {
    for (let i = 0; i < 4; i++) {
      const e = pix + (<usize>i << 4);
      if (rb + i >= R) { v128.store(e, v128.load(pix)); continue; }
      const ih0 = oh * stride - pad, iw0 = ow * stride - pad;
      store<u32>(e, <u32>fl(x, ((n * H + ih0) * W + iw0) * C));
      store<i32>(e, ih0, 4);
      store<i32>(e, iw0, 8);
      store<i32>(e, iw0 >= 0 && iw0 + KW <= W ? 1 : 0, 12);
      if (++ow == OW) { ow = 0; if (++oh == OH) { oh = 0; n++; } }
    }
    for (let kh = 0; kh < KH; kh++) {
      const a0 = runOf(tmp, pix, kh, H, W, C, KW, xRow, segB);
      const a1 = runOf(tmp + segB, pix + 16, kh, H, W, C, KW, xRow, segB);
      const a2 = runOf(tmp + 2 * segB, pix + 32, kh, H, W, C, KW, xRow, segB);
      const a3 = runOf(tmp + 3 * segB, pix + 48, kh, H, W, C, KW, xRow, segB);
      for (let g: usize = 0; g < segB; g += 16, d += 64) {
        storeT4(d, 16, v128.load(a0 + g), v128.load(a1 + g), v128.load(a2 + g), v128.load(a3 + g));
      }
    }
  }
}

// Where colPack4 reads kernel row kh's run of the pixel at entry e: in x when it lies inside the image, else
// assembled in t (taps inside copied, the rest zero; all zero when the row is padding).
// @ts-ignore: decorator
@inline function runOf(t: usize, e: usize, kh: i32, H: i32, W: i32, C: i32, KW: i32, xRow: usize, segB: usize): usize {
  const src = <usize>load<u32>(e) + <usize>kh * xRow, ih = load<i32>(e, 4) + kh;
  const rowIn = ih >= 0 && ih < H;
  if (rowIn && load<i32>(e, 12) != 0) return src;
  zeroBytes(t, segB);
  if (!rowIn) return t;
  const iw0 = load<i32>(e, 8), cb = <usize>C << 2;
  for (let kw = 0; kw < KW; kw++) {
    const iw = iw0 + kw;
    if (iw >= 0 && iw < W) copyFloats(t + <usize>kw * cb, src + <usize>kw * cb, C);
  }
  return t;
}

// colRows for backward-weight, written straight in pack_a4's layout (A panels [m/4][q][m%4], m = t*C + c) when a
// kernel row's KW*C floats are whole groups of 4: each group of 4 contiguous floats of x is one store.
function colPanels(ap: usize, p0: i32, Q: i32, x: usize, H: i32, W: i32, OH: i32, OW: i32, C: i32, KH: i32, KW: i32,
  stride: i32, pad: i32): void {
  const ohw = OH * OW, seg = KW * C, qb = <usize>Q << 4, zero = f32x4.splat(0);
  let n = p0 / ohw, oh = (p0 - n * ohw) / OW, ow = p0 - n * ohw - oh * OW;
  for (let q = 0; q < Q; q++, ow++) {
    if (ow == OW) { ow = 0; if (++oh == OH) { oh = 0; n++; } }
    const ih0 = oh * stride - pad, iw0 = ow * stride - pad;
    const inside = iw0 >= 0 && iw0 + KW <= W;
    // panel m/4 of row q; the panels of one kernel row are seg/4 apart
    let d = ap + (<usize>q << 4);
    if (inside && ih0 >= 0 && ih0 + KH <= H) {
      // inside the image (most pixels): KH runs of seg floats, one image row apart; 12 floats unrolled
      let src = fl(x, ((n * H + ih0) * W + iw0) * C);
      const xr = <usize>(W * C) << 2;
      if (seg == 12) {
        for (let kh = 0; kh < KH; kh++, src += xr, d += 3 * qb) {
          v128.store(d, v128.load(src)); v128.store(d + qb, v128.load(src, 16)); v128.store(d + 2 * qb, v128.load(src, 32));
        }
        continue;
      }
      for (let kh = 0; kh < KH; kh++, src += xr) {
        for (let m = 0; m < seg; m += 4, d += qb) v128.store(d, v128.load(fl(src, m)));
      }
      continue;
    }
    for (let kh = 0; kh < KH; kh++) {
      const ih = ih0 + kh;
      if (ih < 0 || ih >= H) {
        for (let m = 0; m < seg; m += 4, d += qb) v128.store(d, zero);
        continue;
      }
      const src = fl(x, ((n * H + ih) * W + iw0) * C);
      if (inside) {
        for (let m = 0; m < seg; m += 4, d += qb) v128.store(d, v128.load(fl(src, m)));
        continue;
      }
      // a border pixel: element by element (tap kw, channel c stepped, no divisions), zero where the tap falls
      // in the padding
      let kw = 0, c = 0;
      for (let m = 0; m < seg; m += 4, d += qb) {
        for (let e = 0; e < 4; e++) {
          const iw = iw0 + kw;
          store<f32>(d + (<usize>e << 2), iw >= 0 && iw < W ? load<f32>(fl(src, m + e)) : 0);
          if (++c == C) { c = 0; kw++; }
        }
      }
    }
  }
}

// ---- pointer tables and packing shared by the passes ----

// For output pixels p in [p0, p0 + R): ind[t][r] = byte pointer of input pixel (n, oh*s - pad + kh, ow*s - pad + kw)
// for tap t = kh*KW + kw, or `zero` where that falls in the padding; outp[r] = y row p (skipped when outp == 0).
function tapTable(ind: usize, outp: usize, p0: i32, R: i32, x: usize, ldx: i32, y: usize, ldy: i32, zero: usize,
  H: i32, W: i32, OH: i32, OW: i32, KH: i32, KW: i32, stride: i32, pad: i32): void {
  const ohw = OH * OW;
  // (n, oh, ow) of pixel p0, then stepped (no divisions per row)
  let n = p0 / ohw, oh = (p0 - n * ohw) / OW, ow = p0 - n * ohw - oh * OW;
  for (let r = 0; r < R; r++, ow++) {
    if (ow == OW) { ow = 0; if (++oh == OH) { oh = 0; n++; } }
    if (outp != 0) store<u32>(outp + (<usize>r << 2), <u32>fl(y, (p0 + r) * ldy));
    const ih0 = oh * stride - pad, iw0 = ow * stride - pad;
    let t = 0;
    for (let kh = 0; kh < KH; kh++) {
      const ih = ih0 + kh;
      const rowOk = ih >= 0 && ih < H;
      for (let kw = 0; kw < KW; kw++) {
        const iw = iw0 + kw;
        const a = rowOk && iw >= 0 && iw < W ? fl(x, ((n * H + ih) * W + iw) * ldx) : zero;
        store<u32>(ind + ((<usize>t * R + r) << 2), <u32>a);
        t++;
      }
    }
  }
}

// The same for backward-input, phase (ph, pw): rows are the input pixels ih = ph + i*s, iw = pw + j*s (nh x nw
// per image), the taps kh = kh0 + th*s, kw = kw0 + tw*s; ind[t][r] = dy pixel ((ih + pad - kh)/s, ...) or zero.
function phaseTable(ind: usize, outp: usize, r0: i32, R: i32, dx: usize, ldx: i32, dy: usize, ldy: i32, zero: usize,
  H: i32, W: i32, OH: i32, OW: i32, ph: i32, pw: i32, nh: i32, nw: i32, kh0: i32, kw0: i32, nkh: i32, nkw: i32,
  s: i32, pad: i32): void {
  // ih + pad - kh = s * (qh + i - th) for kh = kh0 + th*s, as kh0 = (ph + pad) mod s: oh = qh + i - th exactly
  const qh = (ph + pad - kh0) / s, qw = (pw + pad - kw0) / s;
  // (n, i, jw) of row r0, then stepped (no divisions per row)
  let n = r0 / (nh * nw), i = (r0 - n * nh * nw) / nw, jw = r0 - n * nh * nw - i * nw;
  for (let r = 0; r < R; r++, jw++) {
    if (jw == nw) { jw = 0; if (++i == nh) { i = 0; n++; } }
    const ih = ph + i * s, iw = pw + jw * s;
    store<u32>(outp + (<usize>r << 2), <u32>fl(dx, ((n * H + ih) * W + iw) * ldx));
    let t = 0;
    for (let th = 0; th < nkh; th++) {
      const oh = qh + i - th;
      const rowOk = oh >= 0 && oh < OH;
      for (let tw = 0; tw < nkw; tw++) {
        const ow = qw + jw - tw;
        const a = rowOk && ow >= 0 && ow < OW ? fl(dy, ((n * OH + oh) * OW + ow) * ldy) : zero;
        store<u32>(ind + ((<usize>t * R + r) << 2), <u32>a);
        t++;
      }
    }
  }
}

// ---- forward ----

// y = conv(x, w) + b, overwriting y's slice.
export function conv2d_forward(y: usize, x: usize, w: usize, b: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, KH: i32, KW: i32, stride: i32, pad: i32, ldy: i32, ldx: i32): void {
  forwardImpl(y, x, w, b, scratch, N, H, W, C, OC, KH, KW, stride, pad, ldy, ldx, 0, 0);
}

// y += conv(x, w) (no bias): conv-transpose's backward-input (the forward of its dual conv) must accumulate.
export function conv2d_forward_acc(y: usize, x: usize, w: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, KH: i32, KW: i32, stride: i32, pad: i32, ldy: i32, ldx: i32): void {
  forwardImpl(y, x, w, 0, scratch, N, H, W, C, OC, KH, KW, stride, pad, ldy, ldx, 1, 0);
}

// ---- packed weights: packed once by a caller with fixed weights (inference at load), then every forward is
// one GEMM over all taps (mode 2 below) with nothing packed per call: the weight-bound small layers (1-64 output
// pixels, where packing per call costs as much as the GEMM) then read each weight once, from sequential panels.

// Floats of conv2d_pack's output: OC > 4, 8-wide panels [ceil(OC/8)][KH*KW*C][8] (pack_panels of w as a
// [KH*KW*C][OC] matrix); OC <= 4, the dot-product kernel's [ceil(KH*KW*C/4)][4][4] (pack_dot).
export function conv2d_packed_size(KH: i32, KW: i32, C: i32, OC: i32): i32 {
  const TC = KH * KW * C;
  return OC <= 4 ? 4 * c4(TC) : ((OC + 7) >> 3) * 8 * TC;
}

// Floats of scratch conv2d_forward_packed needs (no room for the panels: they are the caller's).
export function conv2d_packed_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32, KH: i32, KW: i32, stride: i32, pad: i32): i32 {
  const OH = (H + 2 * pad - KH) / stride + 1, OW = (W + 2 * pad - KW) / stride + 1;
  const T = KH * KW, P = N * OH * OW, NP = (OC + 7) >> 3;
  const col = fwdCol(C, OC);
  const RC = rowChunk(P, col ? T * C : C);
  return al(C) + al(NP * 8) + al(RC) + al(RC * T) + (col ? 2 * al(c4(RC) * c4(T * C)) : 0);
}

// wp = w (HWIO [KH][KW][C][OC]) in the layout conv2d_forward_packed reads (conv2d_packed_size floats).
export function conv2d_pack(wp: usize, w: usize, KH: i32, KW: i32, C: i32, OC: i32): void {
  const TC = KH * KW * C;
  if (TC <= 0 || OC <= 0) return;
  if (OC <= 4) { pack_dot(wp, 0, w, TC, OC, OC, 1); pad_dot(wp, TC, c4(TC)); }
  else pack_panels(wp, w, TC, OC, OC);
}

// y = conv(x, w) + b with wp = conv2d_pack(w) (the result of conv2d_forward's whole-w-packed mode, bit for bit).
export function conv2d_forward_packed(y: usize, x: usize, wp: usize, b: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, KH: i32, KW: i32, stride: i32, pad: i32, ldy: i32, ldx: i32): void {
  forwardImpl(y, x, 0, b, scratch, N, H, W, C, OC, KH, KW, stride, pad, ldy, ldx, 0, wp);
}

// w is [T*C][OC] row-major. Four ways to feed it, by the shape:
//  0. P <= DIRECT_P (one row block): full 8-wide panels read from w in place, KCD rows at a time (each weight
//     is used once, packing would cost as much as the GEMM); only a tail panel (OC % 8) is packed;
//  1. P <= KBLK_P: K-blocked (GotoBLAS style): per tap and block of KCB channels, pack that slice of w
//     (sequential reads, an L2-sized block) and accumulate into y;
//  2. otherwise the whole of w is packed once into [T*C][8] panels and the rows go in chunks of RC
//     (also for im2col rows, C short); OC <= 4: the narrow dot-product kernel, w packed by pack_dot.
// Modes 0 and 1 accumulate block by block, so y starts as the bias (or zero).
// packed != 0: w packed already (conv2d_pack), always mode 2, and the scratch has no panel region.
function forwardImpl(y: usize, x: usize, w: usize, b: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, KH: i32, KW: i32, stride: i32, pad: i32, ldy: i32, ldx: i32, acc: i32, packed: usize): void {
  const OH = (H + 2 * pad - KH) / stride + 1, OW = (W + 2 * pad - KW) / stride + 1;
  const T = KH * KW, P = N * OH * OW, NP = (OC + 7) >> 3;
  if (P <= 0 || OC <= 0) return;
  const col = fwdCol(C, OC), narrow = OC <= 4;
  const RC = rowChunk(P, col ? T * C : C);
  const TC4 = c4(T * C), OC8 = OC & ~7;
  // scratch: zero vector | bias (padded) | packed w (not when packed) | outp | ind | im2col
  const zero = scratch;
  const bias = fl(zero, al(C));
  const bp = packed != 0 ? packed : fl(bias, al(NP * 8));
  const outp = packed != 0 ? fl(bias, al(NP * 8)) : fl(bp, al(max(NP * 8 * T * C, 4 * TC4)));
  const ind = fl(outp, al(RC));
  const colp = fl(ind, al(RC * T));
  const ap = fl(colp, al(c4(RC) * TC4)); // pack_rows4's panels (rowPanels)
  memory.fill(zero, 0, <usize>C << 2);
  const bb = stagedBias(bias, b, OC, NP * 8);
  const direct = P <= DIRECT_P || (P <= DIRECT_P_WIDE && OC >= WIDE_OC);
  const mode = col || narrow || packed != 0 ? 2 : direct ? 0 : P <= KBLK_P ? 1 : 2;
  if (packed == 0) {
    if (narrow) { pack_dot(bp, 0, w, T * C, OC, OC, 1); pad_dot(bp, T * C, TC4); }
    else if (mode == 0 && OC8 < OC) pack_panels(bp, fl(w, OC8), T * C, OC - OC8, OC);
    else if (mode == 2) pack_panels(bp, w, T * C, OC, OC);
  }
  if (acc == 0 && mode < 2) startRows(y, P, ldy, mode == 0 ? OC8 : OC, bb);
  for (let r0 = 0; r0 < P; r0 += RC) {
    const R = min(RC, P - r0);
    if (rowPanels(T, C, OC, ldx)) {
      // pack_rows4's panels straight from x (colp: 4 runs assembled at the border; ind: 4 pixel entries)
      if ((KW * C) % 4 == 0) colPack4(ap, colp, ind, r0, R, x, H, W, OH, OW, C, KH, KW, stride, pad);
      else {
        colRows(colp, ind, outp, r0, R, x, y, ldy, H, W, OH, OW, C, KH, KW, stride, pad, TC4);
        pack_rows4(ap, ind, R, TC4);
      }
      gemm_ap_4x8(R, TC4, ap, bp, OC, fl(y, r0 * ldy), ldy, bb, acc);
      continue;
    }
    if (col && ldx == C) colRows(colp, ind, outp, r0, R, x, y, ldy, H, W, OH, OW, C, KH, KW, stride, pad, TC4);
    else {
      tapTable(ind, outp, r0, R, x, ldx, y, ldy, zero, H, W, OH, OW, KH, KW, stride, pad);
      if (col) gatherRows(colp, ind, R, T, C, TC4);
    }
    if (narrow) {
      if (col) igemm_dot_2x4(R, 1, TC4, ind, outp, 0, bp, OC, bb, acc, zero);
      else igemm_dot_2x4(R, T, C, ind, outp, 0, bp, OC, bb, acc, zero);
    } else if (col) {
      igemm_4x8(R, 1, T * C, ind, outp, 0, bp, 32, (<usize>T * C) << 5, OC, bb, acc, zero, 0);
    } else if (mode == 0) {
      feedInPlace(R, T, C, OC, ind, outp, w, zero);
      if (OC8 < OC) igemm_4x8(R, T, C, ind, outp, <usize>OC8 << 2, bp, 32, (<usize>T * C) << 5, OC - OC8, bb != 0 ? fl(bb, OC8) : 0, acc, zero, 0);
    } else if (mode == 1) {
      feedBlocked(R, T, C, OC, ind, outp, w, bp, zero);
    } else {
      igemm_4x8(R, T, C, ind, outp, 0, bp, 32, (<usize>T * C) << 5, OC, bb, acc, zero, 0);
    }
  }
}

// Mode 0: the full panels of w in place, KCD rows per block (each block's rows are walked left to right as
// KCD sequential streams); accumulates into rows that startRows initialised.
function feedInPlace(R: i32, T: i32, C: i32, OC: i32, ind: usize, outp: usize, w: usize, zero: usize): void {
  const OC8 = OC & ~7;
  if (OC8 == 0) return;
  const kd = R > 1 ? KCD_ROWS : KCD;
  for (let t = 0; t < T; t++) {
    const indt = ind + ((<usize>t * R) << 2);
    if (allZero(indt, R, zero)) continue;
    for (let c0 = 0; c0 < C; c0 += kd) {
      igemm_4x8(R, 1, min(kd, C - c0), indt, outp, 0, fl(w, (t * C + c0) * OC), <usize>OC << 2, 32, OC8, 0, 1, zero, <usize>c0 << 2);
    }
  }
}

// Mode 1: per tap and block of KCB channels, pack that slice of w and accumulate (padding-only taps skipped).
function feedBlocked(R: i32, T: i32, C: i32, OC: i32, ind: usize, outp: usize, w: usize, bp: usize, zero: usize): void {
  for (let t = 0; t < T; t++) {
    const indt = ind + ((<usize>t * R) << 2);
    if (allZero(indt, R, zero)) continue;
    for (let c0 = 0; c0 < C; c0 += KCB) {
      const kc = min(KCB, C - c0);
      pack_panels(bp, fl(w, (t * C + c0) * OC), kc, OC, OC);
      igemm_4x8(R, 1, kc, indt, outp, 0, bp, 32, <usize>kc << 5, OC, 0, 1, zero, <usize>c0 << 2);
    }
  }
}

// ---- backward ----

// dx += conv^T(dy, w). Input pixels are split by (ih mod s, iw mod s): in one phase the taps with
// kh = (ih + pad) mod s (mod s) are exactly the ones that reach an output pixel, so no FLOP hits a
// structural zero; each phase is a GEMM with K = OC over its taps and B = w transposed per tap.
export function conv2d_backward_input(dx: usize, dy: usize, w: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, KH: i32, KW: i32, stride: i32, pad: i32, ldx: i32, ldy: i32): void {
  if (colBack(C, OC)) colBackwardInput(dx, dy, w, scratch, N, H, W, C, OC, KH, KW, stride, pad, ldx, ldy);
  else conv2d_backward_input_part(dx, dy, w, scratch, N, H, W, C, OC, KH, KW, stride, pad, ldx, ldy, 0, 1);
}

// Rows of dy per chunk of colBackwardInput: its columns (up to 49 taps x 4 channels) stay in L2.
const ZR: i32 = 256;

// Backward-input through col2im where dx has 1-4 channels (the first layers' RGB input) and dy many: the
// phase GEMMs would be dot products into 1-4 columns; instead Z = dy . w^T is one wide GEMM (rows = dy pixels,
// K = OC, T*C columns: each pixel's contribution to every tap's input pixel), then Z is added into dx
// (col2im: a kernel row's KW taps are KW*C contiguous floats of dx, added as vectors). Measured against the
// phase GEMMs (interleaved, relaxed build): 34.6 -> 42.6 GFLOP/s patchgan conv1, 35.6 -> 38.7 unet.down1,
// 36.8 -> 43.3 resnet.conv1 (k7); with scalar adds it was no faster. Then (same way): dy rows packed by 4 for
// gemm_ap_4x8 (its 8x4 tail for unet.down1's 36 columns), col2im without per-tap branches: unet.down1 37 -> 43,
// patchgan conv1 41 -> 45, resnet.conv1 43 -> 47. Not split into parts (neighbouring dy pixels add into the
// same dx pixels): conv2d_backward_input_part keeps the phase GEMMs.
// @ts-ignore: decorator
@inline function colBack(C: i32, OC: i32): bool { return C <= 4 && OC >= COL_K; }

// Floats of scratch colBackwardInput needs.
function colBackSize(C: i32, OC: i32, KH: i32, KW: i32): i32 {
  const TC = KH * KW * C;
  return al(((TC + 7) >> 3) * 8 * OC) + 2 * al(ZR) + al(ZR * TC) + al(ZR * c4(OC));
}

function colBackwardInput(dx: usize, dy: usize, w: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, KH: i32, KW: i32, stride: i32, pad: i32, ldx: i32, ldy: i32): void {
  const OH = (H + 2 * pad - KH) / stride + 1, OW = (W + 2 * pad - KW) / stride + 1;
  const P = N * OH * OW, TC = KH * KW * C;
  if (P <= 0 || C <= 0) return;
  // scratch: w^T panels (K = OC, TC columns) | outp | ind | Z (ZR rows of TC floats) | dy rows packed by 4
  const bp = scratch;
  const outp = fl(bp, al(((TC + 7) >> 3) * 8 * OC));
  const ind = fl(outp, al(ZR));
  const z = fl(ind, al(ZR));
  const ap = fl(z, al(ZR * TC));
  // pack_rows4 takes rows of whole 4-float groups (the same sums as igemm_4x8 on the rows in place)
  const byRows4 = (OC & 3) == 0;
  pack_panels_t(bp, w, OC, TC, OC, (<usize>OC) << 5);
  const ohw = OH * OW;
  for (let p0 = 0; p0 < P; p0 += ZR) {
    const R = min(ZR, P - p0);
    for (let r = 0; r < R; r++) {
      store<u32>(ind + (<usize>r << 2), <u32>fl(dy, (p0 + r) * ldy));
      store<u32>(outp + (<usize>r << 2), <u32>fl(z, r * TC));
    }
    if (byRows4) {
      pack_rows4(ap, ind, R, OC);
      gemm_ap_4x8(R, OC, ap, bp, TC, z, TC, 0, 0);
    } else igemm_4x8(R, 1, OC, ind, outp, 0, bp, 32, (<usize>OC) << 5, TC, 0, 0, 0, 0);
    // col2im, rows in order: row r is dy pixel (n, oh, ow)
    let n = p0 / ohw, oh = (p0 - n * ohw) / OW, ow = p0 - n * ohw - oh * OW;
    for (let r = 0; r < R; r++, ow++) {
      if (ow == OW) { ow = 0; if (++oh == OH) { oh = 0; n++; } }
      col2imRow(dx, fl(z, r * TC), n, oh, ow, H, W, C, KH, KW, stride, pad, ldx);
    }
  }
}

// dx += one row of Z: dy pixel (n, oh, ow)'s tap (kh, kw) adds its C floats zr[(kh*KW + kw)*C ...] into input
// pixel (oh*s - pad + kh, ow*s - pad + kw) where that falls inside the image.
function col2imRow(dx: usize, zr: usize, n: i32, oh: i32, ow: i32, H: i32, W: i32, C: i32, KH: i32, KW: i32,
  stride: i32, pad: i32, ldx: i32): void {
  const cb = <usize>C << 2, seg = <usize>KW * cb;
  const ih0 = oh * stride - pad, iw0 = ow * stride - pad;
  if (ldx == C && ih0 >= 0 && ih0 + KH <= H && iw0 >= 0 && iw0 + KW <= W) {
    // inside the image (most pixels): KH runs of KW*C floats, one image row apart; 12 floats (k4 or k3 over 3
    // or 4 channels) unrolled (the branch-free form: unet.down1 37 -> 40, patchgan conv1 41 -> 44 GFLOP/s)
    const xr = <usize>W * cb;
    let d = fl(dx, ((n * H + ih0) * W + iw0) * C);
    if (seg == 48) {
      for (let kh = 0; kh < KH; kh++, d += xr, zr += 48) {
        v128.store(d, f32x4.add(v128.load(d), v128.load(zr)));
        v128.store(d, f32x4.add(v128.load(d, 16), v128.load(zr, 16)), 16);
        v128.store(d, f32x4.add(v128.load(d, 32), v128.load(zr, 32)), 32);
      }
      return;
    }
    for (let kh = 0; kh < KH; kh++, d += xr, zr += seg) addFloats(d, zr, seg);
    return;
  }
  // a border pixel: the taps kw in [kw0, kw1) fall inside the image
  const kw0 = max(0, -iw0), kw1 = min(KW, W - iw0);
  if (kw1 <= kw0) return;
  for (let kh = 0; kh < KH; kh++, zr += seg) {
    const ih = ih0 + kh;
    if (ih < 0 || ih >= H) continue;
    const row = fl(dx, (n * H + ih) * W * ldx);
    if (ldx == C) {
      // they land on contiguous floats of dx
      addFloats(fl(row, (iw0 + kw0) * C), zr + <usize>kw0 * cb, <usize>(kw1 - kw0) * cb);
      continue;
    }
    for (let kw = kw0; kw < kw1; kw++) addFloats(fl(row, (iw0 + kw) * ldx), zr + <usize>kw * cb, cb);
  }
}

// d[0:b) += s[0:b) (b bytes, a multiple of 4).
// @ts-ignore: decorator
@inline function addFloats(d: usize, s: usize, b: usize): void {
  let c: usize = 0;
  for (; c + 16 <= b; c += 16) v128.store(d + c, f32x4.add(v128.load(d + c), v128.load(s + c)));
  for (; c < b; c += 4) store<f32>(d + c, load<f32>(d + c) + load<f32>(s + c));
}

// Part `part` of `parts` of backward-input: in every phase, rows [Rp*part/parts, Rp*(part+1)/parts) of its Rp
// rows, with the same kernels (chosen by the whole shape) and per-row sums as the whole call, so the parts
// write disjoint dx pixels and together give the whole call's bits (intra-op threads, src/infer).
export function conv2d_backward_input_part(dx: usize, dy: usize, w: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, KH: i32, KW: i32, stride: i32, pad: i32, ldx: i32, ldy: i32, part: i32, parts: i32): void {
  const OH = (H + 2 * pad - KH) / stride + 1, OW = (W + 2 * pad - KW) / stride + 1;
  if (N <= 0 || C <= 0 || OH <= 0 || OW <= 0) return;
  const s = stride;
  const Th = (KH + s - 1) / s, Tw = (KW + s - 1) / s;
  const RC = rowChunk(N * ((H + s - 1) / s) * ((W + s - 1) / s), bwdCol(C, OC) ? Th * Tw * OC : OC);
  // scratch: zero vector | packed w^T | outp | ind | im2col
  const zero = scratch;
  const bp = fl(zero, al(OC));
  const outp = fl(bp, al(max(((C + 7) >> 3) * 8 * Th * Tw * OC, 4 * c4(Th * Tw * OC))));
  const ind = fl(outp, al(RC));
  const colp = fl(ind, al(RC * Th * Tw));
  memory.fill(zero, 0, <usize>OC << 2);
  for (let ph = 0; ph < s && ph < H; ph++) {
    const kh0 = (ph + pad) % s;
    const nkh = kh0 < KH ? (KH - kh0 + s - 1) / s : 0;
    for (let pw = 0; pw < s && pw < W; pw++) {
      const kw0 = (pw + pad) % s;
      const nkw = kw0 < KW ? (KW - kw0 + s - 1) / s : 0;
      if (nkh * nkw == 0) continue;
      backwardPhase(dx, dy, w, zero, bp, outp, ind, colp, RC, N, H, W, C, OC, KW, OH, OW, s, pad, ph, pw, kh0, kw0, nkh, nkw, ldx, ldy, part, parts);
    }
  }
}

// One phase of backward-input. Its B, by shape:
//  - C <= 4 (narrow): the dot-product kernel, B = w^T packed by pack_dot over the flattened (tap, oc);
//  - few rows (<= DOT_R): per tap, dot products against w's rows in place (gemm_dot_bt), nothing packed;
//  - otherwise all the phase's taps packed at once, panels over c: [j][tap][oc][8] = w[kh][kw][8j + cc][oc].
function backwardPhase(dx: usize, dy: usize, w: usize, zero: usize, bp: usize, outp: usize, ind: usize, colp: usize,
  RC: i32, N: i32, H: i32, W: i32, C: i32, OC: i32, KW: i32, OH: i32, OW: i32, s: i32, pad: i32,
  ph: i32, pw: i32, kh0: i32, kw0: i32, nkh: i32, nkw: i32, ldx: i32, ldy: i32, part: i32, parts: i32): void {
  const Tp = nkh * nkw, TO4 = c4(Tp * OC);
  const nh = (H - ph + s - 1) / s, nw = (W - pw + s - 1) / s;
  const Rp = N * nh * nw;
  const lo = <i32>(<i64>Rp * part / parts), hi = <i32>(<i64>Rp * (part + 1) / parts);
  if (lo >= hi) return;
  const col = bwdCol(C, OC), narrow = C <= 4;
  const dot = !col && !narrow && Rp <= DOT_R;
  if (!dot) {
    for (let t = 0; t < Tp; t++) {
      const wt = fl(w, ((kh0 + (t / nkw) * s) * KW + kw0 + (t % nkw) * s) * C * OC);
      if (narrow) pack_dot(bp, t * OC, wt, OC, C, 1, OC);
      else pack_panels_t(bp + ((<usize>t * OC) << 5), wt, OC, C, OC, (<usize>Tp * OC) << 5);
    }
    if (narrow) pad_dot(bp, Tp * OC, TO4);
  }
  for (let r0 = lo; r0 < hi; r0 += RC) {
    const R = min(RC, hi - r0);
    phaseTable(ind, outp, r0, R, dx, ldx, dy, ldy, zero, H, W, OH, OW, ph, pw, nh, nw, kh0, kw0, nkh, nkw, s, pad);
    if (col) gatherRows(colp, ind, R, Tp, OC, TO4);
    if (narrow) {
      if (col) igemm_dot_2x4(R, 1, TO4, ind, outp, 0, bp, C, 0, 1, zero);
      else igemm_dot_2x4(R, Tp, OC, ind, outp, 0, bp, C, 0, 1, zero);
    } else if (col) {
      igemm_4x8(R, 1, Tp * OC, ind, outp, 0, bp, 32, (<usize>Tp * OC) << 5, C, 0, 1, zero, 0);
    } else if (dot) {
      for (let t = 0; t < Tp; t++) {
        const indt = ind + ((<usize>t * R) << 2);
        if (allZero(indt, R, zero)) continue;
        const wt = fl(w, ((kh0 + (t / nkw) * s) * KW + kw0 + (t % nkw) * s) * C * OC);
        gemm_dot_bt_2x4(R, OC, indt, outp, wt, OC, C, zero);
      }
    } else {
      igemm_4x8(R, Tp, OC, ind, outp, 0, bp, 32, (<usize>Tp * OC) << 5, C, 0, 1, zero, 0);
    }
  }
}

// s[c] += dy[p, c] for p < P in order, a running sum per channel (bias_backward in pieces: sums carried from one
// piece of dy to the next give its bits; then add_into(db, s)).
function sum_rows(s: usize, dy: usize, P: i32, C: i32, ldy: i32): void {
  const ld = <usize>ldy << 2;
  let c = 0;
  for (; c + 16 <= C; c += 16) {
    const o = s + (<usize>c << 2);
    let s0 = v128.load(o), s1 = v128.load(o, 16), s2 = v128.load(o, 32), s3 = v128.load(o, 48);
    let q = dy + (<usize>c << 2);
    for (let p = 0; p < P; p++) {
      s0 = f32x4.add(s0, v128.load(q)); s1 = f32x4.add(s1, v128.load(q, 16));
      s2 = f32x4.add(s2, v128.load(q, 32)); s3 = f32x4.add(s3, v128.load(q, 48));
      q += ld;
    }
    v128.store(o, s0); v128.store(o, s1, 16); v128.store(o, s2, 32); v128.store(o, s3, 48);
  }
  for (; c + 4 <= C; c += 4) {
    const o = s + (<usize>c << 2);
    let s0 = v128.load(o);
    let q = dy + (<usize>c << 2);
    for (let p = 0; p < P; p++) { s0 = f32x4.add(s0, v128.load(q)); q += ld; }
    v128.store(o, s0);
  }
  for (; c < C; c++) {
    const o = s + (<usize>c << 2);
    let v = load<f32>(o);
    let q = dy + (<usize>c << 2);
    for (let p = 0; p < P; p++) { v += load<f32>(q); q += ld; }
    store<f32>(o, v);
  }
}

// db[c] += s[c] for c < C.
function add_into(db: usize, s: usize, C: i32): void {
  for (let c = 0; c < C; c++) store<f32>(db + (<usize>c << 2), load<f32>(db + (<usize>c << 2)) + load<f32>(s + (<usize>c << 2)));
}

// dw[kh][kw][c][oc] += sum_pixels x[pixel at tap (kh, kw), c] * dy[pixel, oc]; db[oc] += sum_pixels dy[pixel, oc].
// K (pixels) is cut into chunks: dy's chunk is packed into 8-wide panels, each tap's input pixels (found through
// a pointer table, zeros for padding) into 4-channel panels, and gemm_ap accumulates the chunk into dw.
// OC <= 4: gemm_dwt, 8 input channels wide, reading x and dy in place. Padding-only taps are skipped.
export function conv2d_backward_weight(dw: usize, db: usize, dy: usize, x: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, KH: i32, KW: i32, stride: i32, pad: i32, ldy: i32, ldx: i32): void {
  const OH = (H + 2 * pad - KH) / stride + 1, OW = (W + 2 * pad - KW) / stride + 1;
  const T = KH * KW, P = N * OH * OW, NPo = (OC + 7) >> 3;
  if (P <= 0 || OC <= 0) return;
  const col = C < COL_K, narrow = OC <= 4;
  // db: the packed path sums each chunk of dy while it is in L1 from packing (running sums, so the same bits as
  // bias_backward's pass over all of dy, which the narrow path and C = 0 still make)
  const chunkDb = db != 0 && C > 0 && !narrow;
  if (db != 0 && !chunkDb) bias_backward(db, dy, P, OC, ldy);
  if (C <= 0) return;
  // scratch: zero vector | packed dy chunk | ind | im2col | packed A | db's running sums
  const zero = scratch;
  const bp = fl(zero, al(C));
  const ind = fl(bp, al(NPo * 8 * KB));
  const colp = fl(ind, al(T * KB));
  const ap = fl(colp, col ? al(KB * T * C) : 0);
  const sums = fl(ap, al((((col ? T * C : C) + 3) & ~3) * KB));
  memory.fill(zero, 0, <usize>C << 2);
  if (chunkDb) memory.fill(sums, 0, <usize>OC << 2);
  const kb = narrow ? KB : KB_PACKED;
  // the first layers (im2col, KW*C whole groups of 4, unstrided x): im2col straight into pack_a4's panels
  const fast = col && !narrow && ldx == C && (KW * C) % 4 == 0;
  // their dy (64 channels: its 64-pixel chunk is 16 KiB, in L1) read in place as gemm_ap's B (row stride ldy,
  // 8-column panels 32 bytes apart) instead of packed: the same sums, 2-4% faster; wider dy rows would map a
  // panel's column to few cache sets
  const inplace = fast && (OC & 7) == 0 && ldy <= 64;
  for (let p0 = 0; p0 < P; p0 += kb) {
    const Q = min(kb, P - p0);
    const dyq = fl(dy, p0 * ldy);
    if (!narrow && !inplace) pack_panels(bp, dyq, Q, OC, ldy);
    if (chunkDb) sum_rows(sums, dyq, Q, OC, ldy);
    if (chunkDb && p0 + Q >= P) add_into(db, sums, OC);
    // im2col: the rows of dw are (t, c) flattened, one tap of T*C channels
    if (fast) {
      // straight into pack_a4's panels (what colRows + pack_a4 would give)
      colPanels(ap, p0, Q, x, H, W, OH, OW, C, KH, KW, stride, pad);
      if (inplace) gemm_ap_4x8(T * C, Q, ap, dyq, OC, dw, OC, 0, 1, <usize>ldy << 2, 32);
      else gemm_ap_4x8(T * C, Q, ap, bp, OC, dw, OC);
      continue;
    }
    if (col && ldx == C) colRows(colp, ind, 0, p0, Q, x, 0, 0, H, W, OH, OW, C, KH, KW, stride, pad, T * C);
    else {
      tapTable(ind, 0, p0, Q, x, ldx, 0, 0, zero, H, W, OH, OW, KH, KW, stride, pad);
      if (col) gatherRows(colp, ind, Q, T, C, T * C);
    }
    const Tq = col ? 1 : T, M = col ? T * C : C;
    for (let t = 0; t < Tq; t++) {
      const indt = ind + ((<usize>t * Q) << 2);
      if (!col && allZero(indt, Q, zero)) continue;
      const dwt = fl(dw, t * C * OC);
      if (narrow) {
        gemm_dwt_4x8(M, Q, indt, dyq, ldy, OC, dwt, OC);
      } else {
        pack_a4(ap, indt, Q, M);
        gemm_ap_4x8(M, Q, ap, bp, OC, dwt, OC);
      }
    }
  }
}
