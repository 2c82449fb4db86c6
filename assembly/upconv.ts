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
// Wd (or dWd) lives at the head of `scratch` ([4][4][OC][C], transposed from w's [C][OC] per tap in 4x4
// register tiles), the conv2d scratch after it. Backward passes accumulate.
import { conv2d_backward_input, conv2d_backward_weight, conv2d_forward_acc, conv2d_scratch_size } from './conv2d';
import { bias_backward } from './conv_bias';

// @ts-ignore: decorator
@inline function al(n: i32): i32 { return (n + 15) & ~15; }
// @ts-ignore: decorator
@inline function fl(p: usize, n: i32): usize { return p + (<usize>n << 2); }

// 3x3 taps (rows or columns) summed into 4x4 tap k: S(k) = [lo, hi], as a bit mask of {0, 1, 2}.
// @ts-ignore: decorator
@inline function tapMask(k: i32): i32 { return k == 0 ? 4 : k == 1 ? 6 : k == 2 ? 3 : 1; }

// Floats of scratch any of the three passes needs for this shape (Wd + the dual conv's scratch).
export function upconv_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 {
  return al(16 * C * OC) + conv2d_scratch_size(N, 2 * H, 2 * W, OC, C, 4, 4, 2, 1);
}

// Taps of the dual kernel that can touch real pixels: with H == 1 only k = 1, 2 (rows -1 and 2 are padding).
// @ts-ignore: decorator
@inline function tapLive(k: i32, H: i32): bool { return H > 1 || k == 1 || k == 2; }

// Wd[k][l][oc][c] = sum_{kh in S(k), kw in S(l)} w[kh][kw][c][oc]; taps no pixel reaches are zeroed.
function deriveWeights(wd: usize, w: usize, C: i32, OC: i32, H: i32, W: i32): void {
  const tap = C * OC;
  for (let k = 0; k < 4; k++) for (let l = 0; l < 4; l++) {
    const dst = fl(wd, (k * 4 + l) * tap);
    if (!tapLive(k, H) || !tapLive(l, W)) { memory.fill(dst, 0, <usize>tap << 2); continue; }
    // the 1, 2 or 4 source taps, in w's [C][OC] layout
    const mk = tapMask(k), ml = tapMask(l);
    let s0: usize = 0, s1: usize = 0, s2: usize = 0, s3: usize = 0, n = 0;
    for (let kh = 0; kh < 3; kh++) {
      if (((mk >> kh) & 1) == 0) continue;
      for (let kw = 0; kw < 3; kw++) {
        if (((ml >> kw) & 1) == 0) continue;
        const s = fl(w, (kh * 3 + kw) * tap);
        if (n == 0) s0 = s; else if (n == 1) s1 = s; else if (n == 2) s2 = s; else s3 = s;
        n++;
      }
    }
    sumTranspose(dst, s0, s1, s2, s3, n, C, OC);
  }
}

// dst[j][i] (row length R) = sum_{m < n} src_m[i][j] (row length Cl), i < R, j < Cl: the sum of n (1..4) R x Cl
// matrices, transposed, by 4x4 register tiles (rows i of the sources are read 16 bytes at a time).
function sumTranspose(dst: usize, s0: usize, s1: usize, s2: usize, s3: usize, n: i32, R: i32, Cl: i32): void {
  const R4 = R & ~3, C4 = Cl & ~3;
  const ldS = <usize>Cl << 2, ldD = <usize>R << 2;
  for (let j = 0; j < C4; j += 4) {
    const cj = <usize>j << 2;
    for (let i = 0; i < R4; i += 4) {
      const o = <usize>i * ldS + cj;
      let r0 = v128.load(s0 + o), r1 = v128.load(s0 + o + ldS), r2 = v128.load(s0 + o + 2 * ldS), r3 = v128.load(s0 + o + 3 * ldS);
      if (n > 1) {
        r0 = f32x4.add(r0, v128.load(s1 + o)); r1 = f32x4.add(r1, v128.load(s1 + o + ldS));
        r2 = f32x4.add(r2, v128.load(s1 + o + 2 * ldS)); r3 = f32x4.add(r3, v128.load(s1 + o + 3 * ldS));
      }
      if (n > 2) {
        r0 = f32x4.add(r0, v128.load(s2 + o)); r1 = f32x4.add(r1, v128.load(s2 + o + ldS));
        r2 = f32x4.add(r2, v128.load(s2 + o + 2 * ldS)); r3 = f32x4.add(r3, v128.load(s2 + o + 3 * ldS));
        r0 = f32x4.add(r0, v128.load(s3 + o)); r1 = f32x4.add(r1, v128.load(s3 + o + ldS));
        r2 = f32x4.add(r2, v128.load(s3 + o + 2 * ldS)); r3 = f32x4.add(r3, v128.load(s3 + o + 3 * ldS));
      }
      const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5), t1 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
      const t2 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5), t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
      const d = dst + <usize>j * ldD + (<usize>i << 2);
      v128.store(d, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
      v128.store(d + ldD, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7));
      v128.store(d + 2 * ldD, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5));
      v128.store(d + 3 * ldD, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7));
    }
    for (let i = R4; i < R; i++) for (let jj = j; jj < j + 4; jj++) store<f32>(fl(dst, jj * R + i), sum4(s0, s1, s2, s3, n, i * Cl + jj));
  }
  for (let j = C4; j < Cl; j++) for (let i = 0; i < R; i++) store<f32>(fl(dst, j * R + i), sum4(s0, s1, s2, s3, n, i * Cl + j));
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
  const P = N * 4 * H * W;
  for (let p = 0; p < P; p++) {
    if (b != 0) memory.copy(fl(y, p * ldy), b, <usize>OC << 2);
    else memory.fill(fl(y, p * ldy), 0, <usize>OC << 2);
  }
  if (C <= 0) return;
  const wd = scratch, sc = fl(scratch, al(16 * C * OC));
  deriveWeights(wd, w, C, OC, H, W);
  // transposed conv x -> y = backward-input of the dual conv (y-grid -> x-grid, OC -> C channels)
  conv2d_backward_input(y, x, wd, sc, N, 2 * H, 2 * W, OC, C, 4, 4, 2, 1, ldy, ldx);
}

// dx += d/dx of sum(y * dy): the dual conv's forward of dy, accumulating.
export function upconv_backward_input(dx: usize, dy: usize, w: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldx: i32, ldy: i32): void {
  if (N <= 0 || H <= 0 || W <= 0 || C <= 0 || OC <= 0) return;
  const wd = scratch, sc = fl(scratch, al(16 * C * OC));
  deriveWeights(wd, w, C, OC, H, W);
  conv2d_forward_acc(dx, dy, wd, sc, N, 2 * H, 2 * W, OC, C, 4, 4, 2, 1, ldx, ldy);
}

// dw[kh][kw][c][oc] += sum over pixels of up2(x)[tap] * dy; db[oc] += sum dy (db == 0: no bias).
export function upconv_backward_weight(dw: usize, db: usize, dy: usize, x: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  if (N <= 0 || H <= 0 || W <= 0 || OC <= 0) return;
  if (db != 0) bias_backward(db, dy, N * 4 * H * W, OC, ldy);
  if (C <= 0) return;
  const tap = C * OC;
  const dwd = scratch, sc = fl(scratch, al(16 * tap));
  memory.fill(dwd, 0, <usize>(16 * tap) << 2);
  // dual conv: input dy (u-grid, OC channels), output gradient x (x-grid, C channels): dWd[k][l][oc][c]
  conv2d_backward_weight(dwd, 0, x, dy, sc, N, 2 * H, 2 * W, OC, C, 4, 4, 2, 1, ldx, ldy);
  // dw[kh][kw] ([C][OC]) += sum of the 2 x 2 dual taps (k, l) with kh in S(k), kw in S(l), transposed
  for (let kh = 0; kh < 3; kh++) for (let kw = 0; kw < 3; kw++) {
    const ks = kh == 0 ? 2 : kh == 1 ? 1 : 0, ls = kw == 0 ? 2 : kw == 1 ? 1 : 0; // T(kh) = {ks, ks + 1}
    const s0 = fl(dwd, (ks * 4 + ls) * tap), s1 = fl(dwd, (ks * 4 + ls + 1) * tap);
    const s2 = fl(dwd, ((ks + 1) * 4 + ls) * tap), s3 = fl(dwd, ((ks + 1) * 4 + ls + 1) * tap);
    addTransposed(fl(dw, (kh * 3 + kw) * tap), s0, s1, s2, s3, OC, C);
  }
}

// dst[j][i] (row length R) += sum of the four R x Cl matrices src_m[i][j]: sumTranspose into dst, accumulating.
function addTransposed(dst: usize, s0: usize, s1: usize, s2: usize, s3: usize, R: i32, Cl: i32): void {
  const R4 = R & ~3, C4 = Cl & ~3;
  const ldS = <usize>Cl << 2, ldD = <usize>R << 2;
  for (let j = 0; j < C4; j += 4) {
    const cj = <usize>j << 2;
    for (let i = 0; i < R4; i += 4) {
      const o = <usize>i * ldS + cj;
      let r0 = f32x4.add(f32x4.add(v128.load(s0 + o), v128.load(s1 + o)), f32x4.add(v128.load(s2 + o), v128.load(s3 + o)));
      let q = o + ldS;
      let r1 = f32x4.add(f32x4.add(v128.load(s0 + q), v128.load(s1 + q)), f32x4.add(v128.load(s2 + q), v128.load(s3 + q)));
      q += ldS;
      let r2 = f32x4.add(f32x4.add(v128.load(s0 + q), v128.load(s1 + q)), f32x4.add(v128.load(s2 + q), v128.load(s3 + q)));
      q += ldS;
      let r3 = f32x4.add(f32x4.add(v128.load(s0 + q), v128.load(s1 + q)), f32x4.add(v128.load(s2 + q), v128.load(s3 + q)));
      const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5), t1 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
      const t2 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5), t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
      const d = dst + <usize>j * ldD + (<usize>i << 2);
      v128.store(d, f32x4.add(v128.load(d), v128.shuffle<f32>(t0, t2, 0, 1, 4, 5)));
      v128.store(d + ldD, f32x4.add(v128.load(d + ldD), v128.shuffle<f32>(t0, t2, 2, 3, 6, 7)));
      v128.store(d + 2 * ldD, f32x4.add(v128.load(d + 2 * ldD), v128.shuffle<f32>(t1, t3, 0, 1, 4, 5)));
      v128.store(d + 3 * ldD, f32x4.add(v128.load(d + 3 * ldD), v128.shuffle<f32>(t1, t3, 2, 3, 6, 7)));
    }
    for (let i = R4; i < R; i++) for (let jj = j; jj < j + 4; jj++) {
      const d = fl(dst, jj * R + i);
      store<f32>(d, load<f32>(d) + sum4(s0, s1, s2, s3, 4, i * Cl + jj));
    }
  }
  for (let j = C4; j < Cl; j++) for (let i = 0; i < R; i++) {
    const d = fl(dst, j * R + i);
    store<f32>(d, load<f32>(d) + sum4(s0, s1, s2, s3, 4, i * Cl + j));
  }
}
