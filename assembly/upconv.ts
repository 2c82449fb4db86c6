// Nearest-upsample x2 followed by a 3x3 stride-1 pad-1 conv, as one op that never materialises the upsampled
// tensor: y = conv3x3(up2(x), w) + b.
// x (N, H, W, C) pixel stride ldx -> y (N, 2H, 2W, OC) pixel stride ldy (views may be channel slices);
// w HWIO [3][3][C][OC] (the weight of the Conv2d it replaces); b [OC] (0 = none).
//
// Why it is a 4x4 stride-2 transposed conv. u = up2(x) has u[p] = x[p >> 1] (rows; columns alike), and
// y[o] = sum_kh w[kh] u[o + kh - 1] with zero padding outside [0, 2H). For the output row o = 2i + a:
//   a = 0: u rows 2i-1, 2i, 2i+1 = x rows i-1, i, i     (x row i-1 takes kh 0, row i takes kh 1 + 2)
//   a = 1: u rows 2i, 2i+1, 2i+2 = x rows i, i, i+1     (x row i takes kh 0 + 1, row i+1 takes kh 2)
// and u row 2i-1 (2i+2) is padding exactly when x row i-1 (i+1) is, so padding 1 on u is padding 1 on x.
// Each of the four phases (a, b) is a 2x2 conv of x with taps summed from w: 16 MACs per output pixel and
// channel pair instead of 36. Numbered by k = 3 - a - 2*dr (dr = 0/1 the phase's first/second x row), the
// 16 phase taps are those of ONE 4x4 kernel Wd applied as a transposed conv with stride 2, pad 1:
//   y[o] += Wd[k] x[i] for o = 2i - 1 + k,   Wd[k] = sum_{kh in S(k)} w[kh],
//   S(0) = {2}, S(1) = {1, 2}, S(2) = {0, 1}, S(3) = {0}           (rows; columns alike, Wd[k][l] sums both)
// The forward runs the four phases as indirect GEMMs (igemm_4x8: rows = x pixels, 4 taps, K = C) on 8-wide
// panels of the phase's summed taps, packed straight from w (packPhase; upconv_pack + upconv_forward_packed
// pack all four once instead, for a caller that keeps f32 weights; src/infer dequantises per layer and call). Narrow
// outputs (OC <= 4: the generator's last layer, to RGB) with C a multiple of 4 run upconv_parts.ts's upconvNarrow: the
// parity parts on w's own nine taps with the dot-product tiles, 9 MACs per x pixel (measured against the dual below,
// relaxed build, one thread: 64x64x128 -> 3 1.56x, 128x128x128 -> 3 1.63x, batch 8 at 64x64 2.02x). Other narrow
// ones use that a transposed conv is the backward-input of its dual conv (u-grid -> x-grid, 4x4 s2 p1, HWIO
// [4][4][OC][C]): y = b; y += dual.backward_input(x; Wd) with conv2d.ts's dot-product kernels, Wd derived into scratch.
// The backward passes need even fewer MACs: u repeats each x pixel 2 x 2 times, so only dy summed over those
// 2 x 2 blocks (shifted per tap) matters. With the box sums D (N, 2H+1, 2W+1, OC), D[r][s] = sum of
// dy[r-1 .. r][s-1 .. s] (zero outside the image):
//   dx[i][j][c]       += sum_{kh, kw, oc} w[kh][kw][c][oc] * D[2i + 2 - kh][2j + 2 - kw][oc]
//   dw[kh][kw][c][oc] += sum_{n, i, j} x[i][j][c] * D[2i + 2 - kh][2j + 2 - kw][oc];   db += sum dy
// 9 MACs per x pixel and channel pair (the direct conv's backward passes: 36 per x pixel), on w as it is.
// Small images (forward, <= SMALL_P low-res pixels) upsample into scratch and run the direct conv.
// Backward passes accumulate.
import { conv2d_backward_input_part, conv2d_backward_input, conv2d_forward, conv2d_scratch_size } from './conv2d';
import { bias_backward } from './conv_bias';
import { stagedBias, startRows } from './simd';
import { gemm_ap_4x8, gemm_dot_bt_2x4, gemm_dwt_4x8, igemm_4x8, pack_a4, pack_panels, pack_panels_t } from './gemm';
import { upsample_nearest2x_forward } from './pool';
import { boxSums } from './box';
import { narrowSize, upconvNarrow } from './upconv_parts';

// Low-resolution pixels (N*H*W) up to which the forward upsamples into scratch and runs the direct 3x3 conv:
// there the layer is bound by weight traffic, and packing the four phases' summed taps (16/9 of w) costs more
// than the 2.25x MACs it saves. Measured on a 1024 -> 512 layer with this threshold at 0 (separate time / fused
// time): 0.47-0.59 at 4 pixels, 1.06-1.20 at 16, 0.85-1.47 at 32, 1.8-2.4 at 64.
const SMALL_P: i32 = 8;
// With packed weights a 1x1 image stays on the fused path at any batch: only 4 of the 16 dual taps see a pixel,
// so it reads 4 C*OC weights and does 4 MACs per output pixel where the direct conv reads 9 and does 16.
// @ts-ignore: decorator
@inline function smallPacked(N: i32, H: i32, W: i32): bool { return N * H * W <= SMALL_P && (H > 1 || W > 1); }

// @ts-ignore: decorator
@inline function al(n: i32): i32 { return (n + 15) & ~15; }
// @ts-ignore: decorator
@inline function fl(p: usize, n: i32): usize { return p + (<usize>n << 2); }

// 3x3 taps (rows or columns) summed into 4x4 tap k: S(k) = [lo, hi], as a bit mask of {0, 1, 2}.
// @ts-ignore: decorator
@inline function tapMask(k: i32): i32 { return k == 0 ? 4 : k == 1 ? 6 : k == 2 ? 3 : 1; }

// Floats of scratch any of the three passes needs for this shape.
export function upconv_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 {
  return max(upconv_forward_scratch_size(N, H, W, C, OC), boxSize(N, H, W, C, OC));
}

// Floats of scratch the forward alone needs (inference: no backward buffers).
export function upconv_forward_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 {
  return N * H * W <= SMALL_P ? smallFwdSize(N, H, W, C, OC)
    : OC > 4 ? phaseSize(N, H, W, C, OC, true) : (C & 3) == 0 ? narrowSize(H, W, C, OC)
    : al(16 * C * OC) + TMP + conv2d_scratch_size(N, 2 * H, 2 * W, OC, C, 4, 4, 2, 1);
}

// @ts-ignore: decorator
@inline function smallFwdSize(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 {
  return al(N * 4 * H * W * C) + conv2d_scratch_size(N, 2 * H, 2 * W, C, OC, 3, 3, 1, 1);
}

// Taps of the dual kernel that can touch real pixels: with H == 1 only k = 1, 2 (rows -1 and 2 are padding).
// @ts-ignore: decorator
@inline function tapLive(k: i32, H: i32): bool { return H > 1 || k == 1 || k == 2; }

// A destination tap's sources for tapsTranspose: n (0: skip the tap) and up to 4 source tap indices, 4 bits each.
// @ts-ignore: decorator
@inline function desc(n: i32, a: i32, b: i32, c: i32, d: i32): i32 { return n | (a << 4) | (b << 8) | (c << 12) | (d << 16); }

// Wd[k][l][oc][c] = sum_{kh in S(k), kw in S(l)} w[kh][kw][c][oc]; taps no pixel reaches are zeroed.
function deriveWeights(wd: usize, w: usize, C: i32, OC: i32, H: i32, W: i32, tmp: usize): void {
  const dsc = tmp + (<usize>TBUF << 2);
  for (let k = 0; k < 4; k++) for (let l = 0; l < 4; l++) {
    let e = 0;
    if (tapLive(k, H) && tapLive(l, W)) {
      const mk = tapMask(k), ml = tapMask(l);
      let n = 0;
      for (let kh = 0; kh < 3; kh++) {
        if (((mk >> kh) & 1) == 0) continue;
        for (let kw = 0; kw < 3; kw++) if ((ml >> kw) & 1) { e |= (kh * 3 + kw) << (4 + 4 * n); n++; }
      }
      e |= n;
    } else {
      memory.fill(fl(wd, (k * 4 + l) * C * OC), 0, <usize>(C * OC) << 2);
    }
    store<i32>(dsc + (<usize>(k * 4 + l) << 2), e);
  }
  tapsTranspose(wd, 16, w, 9, C, OC, false, tmp, dsc);
}

// Moves taps between w's layout and the dual's: dst tap d ([Cl][R]) (= or +=, by acc) sum over its 1, 2 or 4
// source taps (of nS, each [R][Cl]) transposed; dsc[d] (see desc) lists them. By 16 x 16 blocks: every source
// tap's block is read once into tmp (each 64-byte line whole), then each destination tap's block is summed from
// tmp and written out transposed in 4 x 4 register tiles, each destination line whole at once. Destination rows
// outer: a destination row of a 1024-channel tap is a 4 KB page, and sweeping the rows of all 16 taps per
// column block missed the TLB on every line (measured 29 ms against 8 ms for the 8M-float weights of a
// 1024 -> 512 layer). Partial edge blocks go element by element.
function tapsTranspose(dst: usize, nD: i32, src: usize, nS: i32, R: i32, Cl: i32, acc: bool, tmp: usize, dsc: usize): void {
  const tap = R * Cl;
  const ldS = <usize>Cl << 2, ldD = <usize>R << 2;
  for (let jS = 0; jS < Cl; jS += SB) for (let iS = 0; iS < R; iS += SB) {
  for (let jb = jS; jb < min(jS + SB, Cl); jb += TB) {
    const je = min(jb + TB, Cl);
    for (let ib = iS; ib < min(iS + SB, R); ib += TB) {
      const ie = min(ib + TB, R);
      if (ie - ib < TB || je - jb < TB) {
        for (let d = 0; d < nD; d++) {
          const e = load<i32>(dsc + (<usize>d << 2)), n = e & 15;
          if (n == 0) continue;
          const s0 = fl(src, ((e >> 4) & 15) * tap), s1 = fl(src, ((e >> 8) & 15) * tap);
          const s2 = fl(src, ((e >> 12) & 15) * tap), s3 = fl(src, ((e >> 16) & 15) * tap);
          const dd = fl(dst, d * tap);
          for (let i = ib; i < ie; i++) for (let j = jb; j < je; j++) st1(fl(dd, j * R + i), sum4(s0, s1, s2, s3, n, i * Cl + j), acc);
        }
        continue;
      }
      // tmp[t][ii][0:16] = src tap t, row ib + ii, columns jb .. jb + 15
      for (let t = 0; t < nS; t++) {
        let o = fl(src, t * tap) + <usize>ib * ldS + (<usize>jb << 2);
        const tb = tmp + (<usize>t << 10);
        for (let ii = 0; ii < TB; ii++) {
          const q = tb + (<usize>ii << 6);
          v128.store(q, v128.load(o)); v128.store(q, v128.load(o, 16), 16);
          v128.store(q, v128.load(o, 32), 32); v128.store(q, v128.load(o, 48), 48);
          o += ldS;
        }
      }
      for (let d = 0; d < nD; d++) {
        const e = load<i32>(dsc + (<usize>d << 2)), n = e & 15;
        if (n == 0) continue;
        const b0 = tmp + (<usize>((e >> 4) & 15) << 10), b1 = tmp + (<usize>((e >> 8) & 15) << 10);
        const b2 = tmp + (<usize>((e >> 12) & 15) << 10), b3 = tmp + (<usize>((e >> 16) & 15) << 10);
        const dd = fl(dst, d * tap) + <usize>jb * ldD + (<usize>ib << 2);
        for (let jj = 0; jj < TB; jj += 4) {
          for (let ii = 0; ii < TB; ii += 4) {
            const o = (<usize>ii << 6) + (<usize>jj << 2);
            const r0 = ld4(b0, b1, b2, b3, n, o), r1 = ld4(b0, b1, b2, b3, n, o + 64);
            const r2 = ld4(b0, b1, b2, b3, n, o + 128), r3 = ld4(b0, b1, b2, b3, n, o + 192);
            const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5), t1 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
            const t2 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5), t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
            const q = dd + <usize>jj * ldD + (<usize>ii << 2);
            st4(q, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5), acc);
            st4(q + ldD, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7), acc);
            st4(q + 2 * ldD, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5), acc);
            st4(q + 3 * ldD, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7), acc);
          }
        }
      }
    }
  }
  }
}

// transpose block edge (floats); the block buffer holds up to 16 source blocks, then the 16 tap descriptors
const TB: i32 = 16;
// blocks go in SB x SB super-blocks: the pages they touch (SB rows per tap on each side) stay in the TLB
const SB: i32 = 64;
const TBUF: i32 = 16 * TB * TB;
const TMP: i32 = TBUF + 16;

// sum_{m < n} src_m at byte offset o, four lanes (n = 1, 2 or 4)
// @ts-ignore: decorator
@inline function ld4(s0: usize, s1: usize, s2: usize, s3: usize, n: i32, o: usize): v128 {
  let v = v128.load(s0 + o);
  if (n > 1) v = f32x4.add(v, v128.load(s1 + o));
  if (n > 2) v = f32x4.add(v, f32x4.add(v128.load(s2 + o), v128.load(s3 + o)));
  return v;
}
// @ts-ignore: decorator
@inline function st4(d: usize, v: v128, acc: bool): void {
  v128.store(d, acc ? f32x4.add(v128.load(d), v) : v);
}
// @ts-ignore: decorator
@inline function st1(d: usize, v: f32, acc: bool): void {
  store<f32>(d, acc ? load<f32>(d) + v : v);
}
// @ts-ignore: decorator
@inline function sum4(s0: usize, s1: usize, s2: usize, s3: usize, n: i32, e: i32): f32 {
  let v = load<f32>(fl(s0, e));
  if (n > 1) v += load<f32>(fl(s1, e));
  if (n > 2) v += load<f32>(fl(s2, e)) + load<f32>(fl(s3, e));
  return v;
}

// y = conv3x3(up2(x), w) + b, overwriting y's slice.
export function upconv_forward(y: usize, x: usize, w: usize, b: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  if (N <= 0 || H <= 0 || W <= 0 || OC <= 0) return;
  if (C > 0 && N * H * W <= SMALL_P) { smallForward(y, x, w, b, scratch, N, H, W, C, OC, ldy, ldx); return; }
  if (C > 0 && OC > 4) { phaseForward(y, x, w, 0, b, scratch, N, H, W, C, OC, ldy, ldx); return; }
  if (C > 0 && (C & 3) == 0) { upconvNarrow(y, x, w, b, scratch, N, H, W, C, OC, ldy, ldx, 0, N * H, false); return; }
  const wd = scratch, tmp = fl(scratch, al(16 * C * OC)), sc = fl(tmp, TMP);
  if (C > 0) deriveWeights(wd, w, C, OC, H, W, tmp);
  fusedForward(y, x, wd, b, sc, N, H, W, C, OC, ldy, ldx);
}

// Part `part` of `parts` of upconv_forward, for intra-op threads (src/infer) on the narrow path (OC <= 4, a
// large image), which has no output channels to split: the x rows (upconvNarrow), or the transposed conv's rows of
// every phase, are split, and y must hold the bias (or zeros) already. Elsewhere part 0 runs the whole
// upconv_forward and the others nothing. Same kernels and per-pixel sums as upconv_forward.
export function upconv_forward_part(y: usize, x: usize, w: usize, b: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32, part: i32, parts: i32): void {
  if (N <= 0 || H <= 0 || W <= 0 || OC <= 0) return;
  if (C <= 0 || N * H * W <= SMALL_P || OC > 4) {
    if (part == 0) upconv_forward(y, x, w, b, scratch, N, H, W, C, OC, ldy, ldx);
    return;
  }
  if ((C & 3) == 0) { upconvNarrow(y, x, w, b, scratch, N, H, W, C, OC, ldy, ldx, part * N * H / parts, (part + 1) * N * H / parts, true); return; }
  const wd = scratch, tmp = fl(scratch, al(16 * C * OC)), sc = fl(tmp, TMP);
  deriveWeights(wd, w, C, OC, H, W, tmp);
  conv2d_backward_input_part(y, x, wd, sc, N, 2 * H, 2 * W, OC, C, 4, 4, 2, 1, ldy, ldx, part, parts);
}

// dx += d/dx of sum(y * dy), on the box sums of dy.
export function upconv_backward_input(dx: usize, dy: usize, w: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldx: i32, ldy: i32): void {
  if (N <= 0 || H <= 0 || W <= 0 || C <= 0 || OC <= 0) return;
  boxBackwardInput(dx, dy, w, scratch, N, H, W, C, OC, ldx, ldy);
}

// dw[kh][kw][c][oc] += sum over pixels of up2(x)[tap] * dy; db[oc] += sum dy (db == 0: no bias).
export function upconv_backward_weight(dw: usize, db: usize, dy: usize, x: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  if (N <= 0 || H <= 0 || W <= 0 || OC <= 0) return;
  if (db != 0) bias_backward(db, dy, N * 4 * H * W, OC, ldy);
  if (C > 0) boxBackwardWeight(dw, dy, x, scratch, N, H, W, C, OC, ldy, ldx);
}

// ---- packed weights: derived once (a caller with fixed f32 weights). The backward passes read w itself. ----

// Floats of the packed weights: OC > 4, the four phases' 8-wide panels [4][ceil(OC/8)][4*C][8] (see packPhase);
// OC <= 4, the dual kernel Wd [4][4][OC][C].
export function upconv_packed_size(C: i32, OC: i32): i32 {
  return OC > 4 ? 16 * C * c8(OC) : 16 * C * OC;
}

// Floats of scratch upconv_pack and the *_packed passes need (no room for Wd: it is the caller's).
export function upconv_packed_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 {
  const fwd = smallPacked(N, H, W) ? smallFwdSize(N, H, W, C, OC)
    : OC > 4 ? phaseSize(N, H, W, C, OC, false) : conv2d_scratch_size(N, 2 * H, 2 * W, OC, C, 4, 4, 2, 1);
  return max(TMP, max(fwd, boxSize(N, H, W, C, OC)));
}

// wd = the packed weights of w (all taps: any image size may use them).
export function upconv_pack(wd: usize, w: usize, scratch: usize, C: i32, OC: i32): void {
  if (C <= 0 || OC <= 0) return;
  if (OC > 4) {
    for (let ph = 0; ph < 4; ph++) packPhase(fl(wd, ph * 4 * C * c8(OC)), w, C, OC, ph >> 1, ph & 1);
  } else {
    deriveWeights(wd, w, C, OC, 2, 2, scratch);
  }
}

// upconv_forward with wd = upconv_pack(w) given (small images still read w itself).
export function upconv_forward_packed(y: usize, x: usize, w: usize, wd: usize, b: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  if (N <= 0 || H <= 0 || W <= 0 || OC <= 0) return;
  if (C > 0 && smallPacked(N, H, W)) { smallForward(y, x, w, b, scratch, N, H, W, C, OC, ldy, ldx); return; }
  if (C > 0 && OC > 4) phaseForward(y, x, w, wd, b, scratch, N, H, W, C, OC, ldy, ldx);
  else fusedForward(y, x, wd, b, scratch, N, H, W, C, OC, ldy, ldx);
}

// ---- the forward paths ----

// x rows of phase a's two taps (dr = 0, 1) at x row i + a - 1 + dr, as 3x3-row masks of {0, 1, 2}:
// a = 0: {0}, {1, 2};  a = 1: {0, 1}, {2}  (columns alike)
// @ts-ignore: decorator
@inline function phaseMask(a: i32, dr: i32): i32 { return a == 0 ? (dr == 0 ? 1 : 6) : (dr == 0 ? 3 : 4); }

// Rows per igemm chunk: the chunk's input pixels (rows * C floats) should sit in L2 while all panels pass.
// @ts-ignore: decorator
@inline function phaseRows(P: i32, C: i32): i32 { return min(P, max(64, (65536 / max(C, 1)) & ~3)); }

function phaseSize(N: i32, H: i32, W: i32, C: i32, OC: i32, withPanels: bool): i32 {
  const RC = phaseRows(N * H * W, C);
  return al(C) + al(c8(OC)) + (withPanels ? al(4 * C * c8(OC)) : 0) + al(RC) + al(4 * RC);
}

// The panels of phase (a, b) as igemm_4x8 reads them: bp[j][t*C + c][0:8] = sum over kh in R(a, dr), kw in
// R(b, dc) of w[kh][kw][c][8j : 8j + 8], t = 2*dr + dc, columns past OC zero: pack_panels of the phase's summed
// [4C][OC] weight, made in one pass (w's rows read in order, one 32-byte store per panel per row).
function packPhase(bp: usize, w: usize, C: i32, OC: i32, a: i32, b: i32): void {
  const NP = (OC + 7) >> 3, tap = C * OC;
  const pstride = (<usize>4 * C) << 5;
  for (let t = 0; t < 4; t++) {
    const mr = phaseMask(a, t >> 1), mc = phaseMask(b, t & 1);
    let s0: usize = 0, s1: usize = 0, s2: usize = 0, s3: usize = 0, n = 0;
    for (let kh = 0; kh < 3; kh++) {
      if (((mr >> kh) & 1) == 0) continue;
      for (let kw = 0; kw < 3; kw++) {
        if (((mc >> kw) & 1) == 0) continue;
        const src = fl(w, (kh * 3 + kw) * tap);
        if (n == 0) s0 = src; else if (n == 1) s1 = src; else if (n == 2) s2 = src; else s3 = src;
        n++;
      }
    }
    for (let c = 0; c < C; c++) {
      const o = (<usize>c * OC) << 2;
      let d = bp + ((<usize>t * C + c) << 5);
      for (let j = 0; j < NP; j++) {
        const jo = o + (<usize>j << 5), nc = min(8, OC - (j << 3));
        if (nc == 8) {
          v128.store(d, ld4(s0, s1, s2, s3, n, jo));
          v128.store(d, ld4(s0, s1, s2, s3, n, jo + 16), 16);
        } else {
          v128.store(d, f32x4.splat(0));
          v128.store(d, f32x4.splat(0), 16);
          for (let cc = 0; cc < nc; cc++) store<f32>(d + (<usize>cc << 2), sum4(s0, s1, s2, s3, n, c * OC + (j << 3) + cc));
        }
        d += pstride;
      }
    }
  }
}

// y = b + conv3x3(up2(x)), phase by phase: for phase (a, b) the rows are the x pixels (n, i, j), the output row
// y pixel (n, 2i + a, 2j + b), the 4 taps x pixels (n, i + a - 1 + dr, j + b - 1 + dc) (or a zero vector),
// B the phase's panels (packPhase, or `packed` + phase offset); igemm_4x8 overwrites y's OC columns with the
// bias plus the GEMM. OC > 4 (narrow outputs take the dual conv's dot-product kernels).
function phaseForward(y: usize, x: usize, w: usize, packed: usize, b: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  const P = N * H * W, RC = phaseRows(P, C), OC8 = c8(OC), hw = H * W;
  // scratch: zero vector | padded bias | panels (unless packed) | outp | ind
  const zero = scratch;
  const bias = fl(zero, al(C));
  const bp = fl(bias, al(OC8));
  const outp = fl(bp, packed != 0 ? 0 : al(4 * C * OC8));
  const ind = fl(outp, al(RC));
  memory.fill(zero, 0, <usize>C << 2);
  const bb = stagedBias(bias, b, OC, OC8);
  const pstride = (<usize>4 * C) << 5;
  for (let ph = 0; ph < 4; ph++) {
    const a = ph >> 1, bc = ph & 1;
    let bpp = bp;
    if (packed != 0) bpp = fl(packed, ph * 4 * C * OC8);
    else packPhase(bp, w, C, OC, a, bc);
    for (let r0 = 0; r0 < P; r0 += RC) {
      const R = min(RC, P - r0);
      for (let r = 0; r < R; r++) {
        const p = r0 + r, n = p / hw, q = p - n * hw, i = q / W, j = q - i * W;
        store<u32>(outp + (<usize>r << 2), <u32>fl(y, ((n * 2 * H + 2 * i + a) * 2 * W + 2 * j + bc) * ldy));
        for (let t = 0; t < 4; t++) {
          const ih = i + a - 1 + (t >> 1), iw = j + bc - 1 + (t & 1);
          const ok = ih >= 0 && ih < H && iw >= 0 && iw < W;
          store<u32>(ind + ((<usize>t * R + r) << 2), <u32>(ok ? fl(x, ((n * H + ih) * W + iw) * ldx) : zero));
        }
      }
      igemm_4x8(R, 4, C, ind, outp, 0, bpp, 32, pstride, OC, bb, 0, zero, 0);
    }
  }
}

// y = b (or 0), then the transposed conv x -> y = backward-input of the dual conv (y-grid -> x-grid, OC -> C).
function fusedForward(y: usize, x: usize, wd: usize, b: usize, sc: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  const P = N * 4 * H * W;
  startRows(y, P, ldy, OC, b);
  if (C > 0) conv2d_backward_input_part(y, x, wd, sc, N, 2 * H, 2 * W, OC, C, 4, 4, 2, 1, ldy, ldx, 0, 1); // the phase GEMMs, as upconv_forward_part
}

// Small image: u = up2(x) in scratch, then the direct conv.
function smallForward(y: usize, x: usize, w: usize, b: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  const u = scratch;
  upsample_nearest2x_forward(u, x, N, H, W, C, C, ldx);
  conv2d_forward(y, u, w, b, fl(u, al(N * 4 * H * W * C)), N, 2 * H, 2 * W, C, OC, 3, 3, 1, 1, ldy, C);
}

// ---- backward on box sums ----

// Pixels per chunk of the weight gradient (its K block; as in conv2d.ts) and the narrow (OC <= 4) path's.
const KBQ: i32 = 64;
const KBQ_NARROW: i32 = 256;
// Rows up to which backward-input takes dot products against w in place instead of packing w^T (conv2d.ts).
const DOT_R: i32 = 64;

// @ts-ignore: decorator
@inline function c4(n: i32): i32 { return (n + 3) & ~3; }
// @ts-ignore: decorator
@inline function c8(n: i32): i32 { return (n + 7) & ~7; }
// @ts-ignore: decorator
@inline function boxRows(R: i32, OC: i32): i32 { return min(R, max(64, (65536 / max(OC, 1)) & ~3)); }

function boxSize(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 {
  const P = N * H * W, RC = boxRows(P, OC);
  const bin = al(9 * OC * c8(C)) + al(RC) + al(9 * RC);
  const Q = OC <= 4 ? KBQ_NARROW : KBQ;
  const bw = al(Q) + al(c4(C) * Q) + al(Q * OC) + al(c8(OC) * Q);
  return al(N * (2 * H + 1) * (2 * W + 1) * OC) + max(bin, bw);
}

// Byte pointer of D's pixel for x pixel p and tap (kh, kw): D[n][2i + 2 - kh][2j + 2 - kw], always inside.
// @ts-ignore: decorator
@inline function boxAt(d: usize, p: i32, kh: i32, kw: i32, H: i32, W: i32, OC: i32): usize {
  const hw = H * W, n = p / hw, q = p - n * hw, i = q / W, j = q - i * W;
  return fl(d, ((n * (2 * H + 1) + 2 * i + 2 - kh) * (2 * W + 1) + 2 * j + 2 - kw) * OC);
}

// dx += sum_t D_t w_t^T: an indirect GEMM over the 9 taps (K = OC per tap) with B = w^T packed per tap, or for
// a few rows dot products against w's rows in place.
function boxBackwardInput(dx: usize, dy: usize, w: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldx: i32, ldy: i32): void {
  const P = N * H * W, RC = boxRows(P, OC), tap = C * OC;
  // scratch: D | packed w^T | outp | ind
  const d = scratch;
  const bp = fl(d, al(N * (2 * H + 1) * (2 * W + 1) * OC));
  const outp = fl(bp, al(9 * OC * c8(C)));
  const ind = fl(outp, al(RC));
  boxSums(d, dy, N, H, W, OC, ldy);
  const dot = P <= DOT_R;
  if (!dot) for (let t = 0; t < 9; t++) pack_panels_t(bp + ((<usize>t * OC) << 5), fl(w, t * tap), OC, C, OC, (<usize>9 * OC) << 5);
  for (let r0 = 0; r0 < P; r0 += RC) {
    const R = min(RC, P - r0);
    for (let r = 0; r < R; r++) {
      store<u32>(outp + (<usize>r << 2), <u32>fl(dx, (r0 + r) * ldx));
      for (let t = 0; t < 9; t++) store<u32>(ind + ((<usize>t * R + r) << 2), <u32>boxAt(d, r0 + r, t / 3, t % 3, H, W, OC));
    }
    if (dot) {
      for (let t = 0; t < 9; t++) gemm_dot_bt_2x4(R, OC, ind + ((<usize>t * R) << 2), outp, fl(w, t * tap), OC, C, 0);
    } else {
      igemm_4x8(R, 9, OC, ind, outp, 0, bp, 32, (<usize>9 * OC) << 5, C, 0, 1, 0, 0);
    }
  }
}

// dw_t += X^T D_t over chunks of pixels: X's chunk packed once (4-channel panels), each tap's D rows gathered
// and packed (8-wide panels), gemm_ap accumulates into dw_t; OC <= 4: gemm_dwt reads X in place.
function boxBackwardWeight(dw: usize, dy: usize, x: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  const P = N * H * W, tap = C * OC, narrow = OC <= 4;
  const Q = narrow ? KBQ_NARROW : KBQ;
  // scratch: D | x pointers | packed x | gathered D rows | packed D rows
  const d = scratch;
  const xp = fl(d, al(N * (2 * H + 1) * (2 * W + 1) * OC));
  const ap = fl(xp, al(Q));
  const buf = fl(ap, al(c4(C) * Q));
  const bp = fl(buf, al(Q * OC));
  boxSums(d, dy, N, H, W, OC, ldy);
  const ob = <usize>OC << 2;
  for (let p0 = 0; p0 < P; p0 += Q) {
    const Qn = min(Q, P - p0);
    for (let q = 0; q < Qn; q++) store<u32>(xp + (<usize>q << 2), <u32>fl(x, (p0 + q) * ldx));
    if (!narrow) pack_a4(ap, xp, Qn, C);
    for (let t = 0; t < 9; t++) {
      const kh = t / 3, kw = t % 3;
      for (let q = 0; q < Qn; q++) memory.copy(buf + <usize>q * ob, boxAt(d, p0 + q, kh, kw, H, W, OC), ob);
      const dwt = fl(dw, t * tap);
      if (narrow) {
        gemm_dwt_4x8(C, Qn, xp, buf, OC, OC, dwt, OC);
      } else {
        pack_panels(bp, buf, Qn, OC, OC);
        gemm_ap_4x8(C, Qn, ap, bp, OC, dwt, OC);
      }
    }
  }
}
