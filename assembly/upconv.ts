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
// A transposed conv is the backward-input of its dual conv (u-grid -> x-grid, 4x4 s2 p1, HWIO [4][4][OC][C]),
// so the three passes are conv2d.ts's phase-split igemm kernels on Wd, which never multiply a structural zero:
//   forward          y = b; y += dual.backward_input(x; Wd)
//   backward-input   dx += dual.forward(dy; Wd)                       (dy: the u-grid gradient)
//   backward-weight  dWd = dual.backward_weight(dy, x); dw[kh][kw] += sum_{k: kh in S(k), l: kw in S(l)} dWd[k][l]
//                    (each 3x3 tap collects 2 x 2 of the 16 dual taps); db += sum dy.
// Wd (or dWd) lives at the head of `scratch` ([4][4][OC][C], transposed from w's [C][OC] per tap), then a 1 KB
// transpose buffer, then the conv2d scratch. Backward passes accumulate.
import { conv2d_backward_input, conv2d_backward_weight, conv2d_forward, conv2d_forward_acc, conv2d_scratch_size } from './conv2d';
import { bias_backward, view_zero } from './conv_bias';
import { upsample_nearest2x_backward, upsample_nearest2x_forward } from './pool';

// Low-resolution pixels (N*H*W) up to which the passes upsample into scratch and run the direct 3x3 conv:
// there the layer is bound by weight traffic and deriving the 16 dual taps (16/9 of w, transposed) costs more
// than the 2.25x MACs it saves (measured with SMALL_P = 0, npm run bench:kernels -- --filter upsconv
// --upconv-batch 8: fused/separate time 1.0-2.5x slower at 1-16 pixels, mixed at 32, faster from 64).
const SMALL_P: i32 = 32;

// @ts-ignore: decorator
@inline function al(n: i32): i32 { return (n + 15) & ~15; }
// @ts-ignore: decorator
@inline function fl(p: usize, n: i32): usize { return p + (<usize>n << 2); }

// 3x3 taps (rows or columns) summed into 4x4 tap k: S(k) = [lo, hi], as a bit mask of {0, 1, 2}.
// @ts-ignore: decorator
@inline function tapMask(k: i32): i32 { return k == 0 ? 4 : k == 1 ? 6 : k == 2 ? 3 : 1; }

// Floats of scratch any of the three passes needs for this shape (Wd + block buffer + the dual conv's scratch).
export function upconv_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 {
  if (N * H * W <= SMALL_P) return al(N * 4 * H * W * C) + conv2d_scratch_size(N, 2 * H, 2 * W, C, OC, 3, 3, 1, 1);
  return al(16 * C * OC) + TMP + conv2d_scratch_size(N, 2 * H, 2 * W, OC, C, 4, 4, 2, 1);
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

// dw[kh][kw] += sum of the 2 x 2 dual-tap gradients dWd[k][l] with kh in S(k), kw in S(l), transposed
// (T(kh) = {k : kh in S(k)} = {ks, ks + 1} with ks = 2 - kh).
function projectWeightGrad(dw: usize, dwd: usize, C: i32, OC: i32, tmp: usize): void {
  const dsc = tmp + (<usize>TBUF << 2);
  for (let kh = 0; kh < 3; kh++) for (let kw = 0; kw < 3; kw++) {
    const a = (2 - kh) * 4 + 2 - kw;
    store<i32>(dsc + (<usize>(kh * 3 + kw) << 2), desc(4, a, a + 1, a + 4, a + 5));
  }
  tapsTranspose(dw, 9, dwd, 16, OC, C, true, tmp, dsc);
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
  for (let jb = 0; jb < Cl; jb += TB) {
    const je = min(jb + TB, Cl);
    for (let ib = 0; ib < R; ib += TB) {
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

// transpose block edge (floats); the block buffer holds up to 16 source blocks, then the 16 tap descriptors
const TB: i32 = 16;
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
  const wd = scratch, tmp = fl(scratch, al(16 * C * OC)), sc = fl(tmp, TMP);
  if (C > 0) deriveWeights(wd, w, C, OC, H, W, tmp);
  fusedForward(y, x, wd, b, sc, N, H, W, C, OC, ldy, ldx);
}

// dx += d/dx of sum(y * dy): the dual conv's forward of dy, accumulating.
export function upconv_backward_input(dx: usize, dy: usize, w: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldx: i32, ldy: i32): void {
  if (N <= 0 || H <= 0 || W <= 0 || C <= 0 || OC <= 0) return;
  if (N * H * W <= SMALL_P) { smallBackwardInput(dx, dy, w, scratch, N, H, W, C, OC, ldx, ldy); return; }
  const wd = scratch, tmp = fl(scratch, al(16 * C * OC)), sc = fl(tmp, TMP);
  deriveWeights(wd, w, C, OC, H, W, tmp);
  conv2d_forward_acc(dx, dy, wd, sc, N, 2 * H, 2 * W, OC, C, 4, 4, 2, 1, ldx, ldy);
}

// ---- packed weights: Wd derived once (at load for inference, once per step in training) ----

// Floats of the packed weights Wd ([4][4][OC][C]).
export function upconv_packed_size(C: i32, OC: i32): i32 {
  return 16 * C * OC;
}

// Floats of scratch upconv_pack and the *_packed passes need (no room for Wd: it is the caller's).
export function upconv_packed_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 {
  if (N * H * W <= SMALL_P) return max(TMP, al(N * 4 * H * W * C) + conv2d_scratch_size(N, 2 * H, 2 * W, C, OC, 3, 3, 1, 1));
  return max(TMP, conv2d_scratch_size(N, 2 * H, 2 * W, OC, C, 4, 4, 2, 1));
}

// wd = the 16 dual taps of w (all of them: any image size may use them).
export function upconv_pack(wd: usize, w: usize, scratch: usize, C: i32, OC: i32): void {
  if (C <= 0 || OC <= 0) return;
  deriveWeights(wd, w, C, OC, 2, 2, scratch);
}

// upconv_forward with wd = upconv_pack(w) given (small images still read w itself).
export function upconv_forward_packed(y: usize, x: usize, w: usize, wd: usize, b: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  if (N <= 0 || H <= 0 || W <= 0 || OC <= 0) return;
  if (C > 0 && N * H * W <= SMALL_P) { smallForward(y, x, w, b, scratch, N, H, W, C, OC, ldy, ldx); return; }
  fusedForward(y, x, wd, b, scratch, N, H, W, C, OC, ldy, ldx);
}

// upconv_backward_input with wd = upconv_pack(w) given.
export function upconv_backward_input_packed(dx: usize, dy: usize, w: usize, wd: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldx: i32, ldy: i32): void {
  if (N <= 0 || H <= 0 || W <= 0 || C <= 0 || OC <= 0) return;
  if (N * H * W <= SMALL_P) { smallBackwardInput(dx, dy, w, scratch, N, H, W, C, OC, ldx, ldy); return; }
  conv2d_forward_acc(dx, dy, wd, scratch, N, 2 * H, 2 * W, OC, C, 4, 4, 2, 1, ldx, ldy);
}

// ---- the two paths ----

// y = b (or 0), then the transposed conv x -> y = backward-input of the dual conv (y-grid -> x-grid, OC -> C).
function fusedForward(y: usize, x: usize, wd: usize, b: usize, sc: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  const P = N * 4 * H * W;
  for (let p = 0; p < P; p++) {
    if (b != 0) memory.copy(fl(y, p * ldy), b, <usize>OC << 2);
    else memory.fill(fl(y, p * ldy), 0, <usize>OC << 2);
  }
  if (C > 0) conv2d_backward_input(y, x, wd, sc, N, 2 * H, 2 * W, OC, C, 4, 4, 2, 1, ldy, ldx);
}

// Small image: u = up2(x) in scratch, then the direct conv.
function smallForward(y: usize, x: usize, w: usize, b: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  const u = scratch;
  upsample_nearest2x_forward(u, x, N, H, W, C, C, ldx);
  conv2d_forward(y, u, w, b, fl(u, al(N * 4 * H * W * C)), N, 2 * H, 2 * W, C, OC, 3, 3, 1, 1, ldy, C);
}

// Small image: du = conv^T(dy) in scratch, then the upsample's backward (adds to dx).
function smallBackwardInput(dx: usize, dy: usize, w: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldx: i32, ldy: i32): void {
  const du = scratch, U = N * 4 * H * W;
  view_zero(du, 1, U * C, U * C);
  conv2d_backward_input(du, dy, w, fl(du, al(U * C)), N, 2 * H, 2 * W, C, OC, 3, 3, 1, 1, C, ldy);
  upsample_nearest2x_backward(dx, du, N, H, W, C, ldx, C);
}

// dw[kh][kw][c][oc] += sum over pixels of up2(x)[tap] * dy; db[oc] += sum dy (db == 0: no bias).
export function upconv_backward_weight(dw: usize, db: usize, dy: usize, x: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  if (N <= 0 || H <= 0 || W <= 0 || OC <= 0) return;
  if (db != 0) bias_backward(db, dy, N * 4 * H * W, OC, ldy);
  if (C <= 0) return;
  if (N * H * W <= SMALL_P) { // small image: u = up2(x) in scratch, then the direct conv's weight gradient
    const u = scratch;
    upsample_nearest2x_forward(u, x, N, H, W, C, C, ldx);
    conv2d_backward_weight(dw, 0, dy, u, fl(u, al(N * 4 * H * W * C)), N, 2 * H, 2 * W, C, OC, 3, 3, 1, 1, ldy, C);
    return;
  }
  const tap = C * OC;
  const dwd = scratch, tmp = fl(scratch, al(16 * tap)), sc = fl(tmp, TMP);
  memory.fill(dwd, 0, <usize>(16 * tap) << 2);
  // dual conv: input dy (u-grid, OC channels), output gradient x (x-grid, C channels): dWd[k][l][oc][c]
  conv2d_backward_weight(dwd, 0, x, dy, sc, N, 2 * H, 2 * W, OC, C, 4, 4, 2, 1, ldx, ldy);
  projectWeightGrad(dw, dwd, C, OC, tmp);
}
