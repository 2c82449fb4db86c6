// The split taps (winograd_split.ts: the fused upsample x2 + 3x3 conv; conv3s2_split.ts: the 3x3 stride-2 conv) with
// F(4, 2) on the E parts instead of F(2, 2): 4 E values from 5 products, so along each axis 2.25 products per x pixel
// (upconv) or output pixel (stride-2 conv) against 2.5, and 2.25^2 = 5.06 multiply-adds per pixel and channel pair in
// 2-D against 6.25 (1.23x fewer), on 36 transformed weight matrices (4x w, against 16/9 of w) transformed once
// beforehand: inference on f32 weights, where the images are large enough (src/core/conv-dispatch.ts splitF42).
// The forwards overwrite y. x (N, H, W, C) pixel stride ldx; w HWIO [3][3][C][OC]; b [OC] (0 = none).
//
// Along an axis, with g = (w0, w2) (the even taps) and 5 inputs d: E_k = g0 d_k + g1 d_{k+1} (k = 0 .. 3) is
// A^T [(G g) (.) (B^T d)] on the points 0, 1, -1, 2, inf:
//   B^T = [2 -1 -2 1 0; 0 -2 -1 1 0; 0 2 -3 1 0; 0 -1 0 1 0; 0 2 -1 -2 1]   (integers: exact sums of x)
//   G   = [1/2 0; -1/2 -1/2; -1/6 1/6; 1/6 1/3; 0 1]                          (the fractions, once, in U)
//   A^T = [1 1 1 1 0; 0 1 -1 2 0; 0 1 1 4 0; 0 1 -1 8 1]
// d0 enters product 0 alone, as 2 d0 against G's g0 / 2: with d1 .. d4 = 0 (past the image), E_0 = m_0, so the
// upconv's last E row E[H] = w0 x[H-1] costs that one product. Max error against the direct conv: see the tests.
//   Upconv (E[m] = w0 x[m-1] + w2 x[m], P[i] = w1 x[i], y[2i] = E[i] + P[i], y[2i+1] = E[i+1] + P[i]): tile tm has
// E rows 4tm .. 4tm+3 (<= H) from x rows 4tm-1 .. 4tm+3, and P rows 4tm .. 4tm+3 (< H), the x rows 4tm .. 4tm+3; its
// y rows 8tm-1 .. 8tm+7 are, from (E0 .. E3, P0 .. P3): E0, E0+P0, E1+P0, E1+P1, E2+P1, E2+P2, E3+P2, E3+P3, P3.
// Rows 0 and 8 are shared with the neighbouring tiles: the first writer stores (with b), the later ones add.
//   Stride-2 conv (y[o] = w0 x[2o-1] + w1 x[2o] + w2 x[2o+1] = E[o] + P[o]): tile tm has outputs 4tm .. 4tm+3, E from
// x rows 8tm-1, 8tm+1, .., 8tm+7 (d_k = x[8tm-1+2k]), P from x rows 8tm, 8tm+2, .., 8tm+6; its 4x4 block is its own.
//   2-D: slot (sr, sc), each 0 .. 8 (0 .. 4 the E positions, 5 .. 8 the P lines), S = 9 sr + sc, 81 per tile, on
// matrix u = 6 ar + ac, ar = min(sr, 5), ac = min(sc, 5): G on the rows and on the columns of the even taps (ar, ac
// < 5), of the middle column's (ac = 5) or the middle row's (ar = 5) taps, w[1][1] at u = 35. Per u one GEMM over the
// chunk's tiles' slots of u (1, 4 or 16 per tile).
import { igemm_4x8 } from './gemm';
import { startRows } from './simd';
import { loadN, put } from './winograd_blocks';
import { patchPtrs, posStride, tailPtrs } from './winograd_tiles';

// @ts-ignore: decorator
@inline function al(n: i32): i32 { return (n + 15) & ~15; }
// @ts-ignore: decorator
@inline function c4(n: i32): i32 { return (n + 3) & ~3; }
// @ts-ignore: decorator
@inline function c8(n: i32): i32 { return (n + 7) & ~7; }
// @ts-ignore: decorator
@inline function fl(p: usize, n: i32): usize { return p + (<usize>n << 2); }

const NU: i32 = 36; // transformed weight matrices
const NL: i32 = 9; // slots per axis
const NS: i32 = 81; // slots (GEMM rows) per tile
const TMP: i32 = 1024; // a channel tail's patch copies + pointers (405 floats); column pass (324); output pass (360)

// Tiles per chunk: RC * 81 (c4(C) + c4(OC)) floats of V and M, 4 .. 256: about 9.4 MB where U is large (each chunk
// streams all of U), else about 0.6 MB (V and M stay in L2 between the transforms and the GEMMs).
const WQ: i32 = 2359296;
// @ts-ignore: decorator
@inline function rows(T: i32, Ci: i32, Co: i32): i32 {
  const q = NU * Ci * Co <= (1 << 20) ? WQ >> 4 : WQ;
  return min(min(256, max(4, (q / max(NS * (Ci + Co), 1)) & ~3)), max(T, 1));
}

// ---- the weights: U[u] = 8-wide panels [c8(OCt) / 8][C][8], C c8(OCt) floats apart ----

// G's row a (0 .. 4) on the even taps t0, t2 of an axis; 5: the middle tap t1 itself.
// @ts-ignore: decorator
@inline function gRow(a: i32, t0: v128, t1: v128, t2: v128): v128 {
  if (a == 0) return f32x4.mul(t0, f32x4.splat(0.5));
  if (a == 1) return f32x4.mul(f32x4.add(t0, t2), f32x4.splat(-0.5));
  if (a == 2) return f32x4.mul(f32x4.sub(t2, t0), f32x4.splat(<f32>(1.0 / 6.0)));
  if (a == 3) return f32x4.add(f32x4.mul(t0, f32x4.splat(<f32>(1.0 / 6.0))), f32x4.mul(t2, f32x4.splat(<f32>(1.0 / 3.0))));
  return a == 4 ? t2 : t1;
}

// Floats of U for C -> OC.
export function split4_packed_size(C: i32, OC: i32): i32 { return NU * C * c8(OC); }

// U = the 36 transformed matrices of w's OC channels, laid out for OCt channels as U's channels c0 .. c0 + OC - 1
// (c0 a multiple of 8, OC too unless c0 + OC == OCt: a layer stored in chunks of output channels is packed chunk by
// chunk into one U, as upconv_split_pack). A tail panel gets zeros past OC. Per 4 output channels of one input
// channel: the 3 columns of row part ar, then its 6 matrices.
export function split4_pack(U: usize, w: usize, scratch: usize, C: i32, OC: i32, OCt: i32, c0: i32): void {
  if (C <= 0 || OC <= 0) return;
  const tap = <usize>(C * OC) << 2, ks = <usize>(C * c8(OCt)) << 2;
  for (let p0 = 0; p0 < OC; p0 += 8) {
    for (let c = 0; c < C; c++) {
      const d = fl(U, ((c0 + p0) >> 3) * C * 8 + c * 8);
      for (let h = 0; h < 2; h++) {
        const n = min(4, max(0, OC - p0 - 4 * h)), src = fl(w, c * OC + p0 + 4 * h), dh = d + (<usize>h << 4);
        for (let ar = 0; ar < 6; ar++) {
          // column kw of row part ar: G's row ar over the taps' rows 0, 2 (or row 1 itself)
          const r0 = gRow(ar, loadN(src, n), loadN(src + 3 * tap, n), loadN(src + 6 * tap, n));
          const r1 = gRow(ar, loadN(src + tap, n), loadN(src + 4 * tap, n), loadN(src + 7 * tap, n));
          const r2 = gRow(ar, loadN(src + 2 * tap, n), loadN(src + 5 * tap, n), loadN(src + 8 * tap, n));
          for (let ac = 0; ac < 6; ac++) v128.store(dh + <usize>(6 * ar + ac) * ks, gRow(ac, r0, r1, r2));
        }
      }
    }
  }
}

// ---- the transforms ----

// B^T d of the 5 vectors d0 .. d4, stored at o, o + step, .., o + 4 step.
// @ts-ignore: decorator
@inline export function bt5(d0: v128, d1: v128, d2: v128, d3: v128, d4: v128, o: usize, step: usize): void {
  const t = f32x4.sub(d3, d1), a = f32x4.sub(d0, d2), e = f32x4.sub(d1, d3);
  v128.store(o, f32x4.add(f32x4.add(a, a), t));
  v128.store(o + step, f32x4.sub(t, f32x4.add(d1, d2)));
  const g = f32x4.sub(d1, d2);
  v128.store(o + 2 * step, f32x4.add(t, f32x4.add(f32x4.add(g, g), g)));
  v128.store(o + 3 * step, t);
  v128.store(o + 4 * step, f32x4.add(f32x4.add(e, e), f32x4.sub(d4, d2)));
}

// A tile's transformed inputs for 4 channels at byte offset cb: its patch pointers pb (row-major, n x n, n = 4 st + 1:
// the upconv's 5x5 at x rows 4tm-1 .., st = 1; the stride-2 conv's 9x9 at 8tm-1 .., st = 2), E sources at patch lines
// st*k, P sources at 1 + st*i along both axes. Columns first, per source row, into tmp (9 vectors a row), then rows
// into V's 81 slots (slot S at dst + S vk).
// @ts-ignore: decorator
@inline function inputs(pb: usize, n: i32, st: i32, cb: usize, tmp: usize, dst: usize, vk: usize): void {
  for (let ri = 0; ri < n; ri++) {
    const q = pb + (<usize>(ri * n) << 2), t = tmp + (<usize>(ri * NL) << 4);
    const d0 = v128.load(<usize>load<u32>(q) + cb), d1 = v128.load(<usize>load<u32>(q + (<usize>st << 2)) + cb);
    const d2 = v128.load(<usize>load<u32>(q + (<usize>(2 * st) << 2)) + cb), d3 = v128.load(<usize>load<u32>(q + (<usize>(3 * st) << 2)) + cb);
    const d4 = v128.load(<usize>load<u32>(q + (<usize>(4 * st) << 2)) + cb);
    bt5(d0, d1, d2, d3, d4, t, 16);
    for (let i = 0; i < 4; i++) v128.store(t + (<usize>(5 + i) << 4), v128.load(<usize>load<u32>(q + (<usize>(1 + st * i) << 2)) + cb));
  }
  const rs = <usize>(NL * st) << 4; // tmp bytes from one E source row to the next
  for (let sc = 0; sc < NL; sc++) {
    const t = tmp + (<usize>sc << 4);
    bt5(v128.load(t), v128.load(t + rs), v128.load(t + 2 * rs), v128.load(t + 3 * rs), v128.load(t + 4 * rs), dst + <usize>sc * vk, <usize>NL * vk);
    for (let i = 0; i < 4; i++) v128.store(dst + <usize>((5 + i) * NL + sc) * vk, v128.load(t + (<usize>((1 + st * i) * NL) << 4)));
  }
}

// E_0 .. E_3 = A^T m of m0 .. m4, then the outputs along the axis: the upconv's 9 (E0, E0+P0, E1+P0, .., E3+P3, P3)
// or the stride-2 conv's 4 (Ek + Pk), stored at o, o + step, ...
// @ts-ignore: decorator
@inline function combine(m0: v128, m1: v128, m2: v128, m3: v128, m4: v128, p0: v128, p1: v128, p2: v128, p3: v128, up: bool, o: usize, step: usize): void {
  const s = f32x4.add(m1, m2), d = f32x4.sub(m1, m2), m32 = f32x4.add(m3, m3);
  const e0 = f32x4.add(f32x4.add(m0, s), m3), e1 = f32x4.add(d, m32);
  const e2 = f32x4.add(s, f32x4.add(m32, m32)), e3 = f32x4.add(f32x4.add(d, f32x4.mul(m3, f32x4.splat(8))), m4);
  if (up) {
    v128.store(o, e0);
    v128.store(o + step, f32x4.add(e0, p0));
    v128.store(o + 2 * step, f32x4.add(e1, p0));
    v128.store(o + 3 * step, f32x4.add(e1, p1));
    v128.store(o + 4 * step, f32x4.add(e2, p1));
    v128.store(o + 5 * step, f32x4.add(e2, p2));
    v128.store(o + 6 * step, f32x4.add(e3, p2));
    v128.store(o + 7 * step, f32x4.add(e3, p3));
    v128.store(o + 8 * step, p3);
  } else {
    v128.store(o, f32x4.add(e0, p0));
    v128.store(o + step, f32x4.add(e1, p1));
    v128.store(o + 2 * step, f32x4.add(e2, p2));
    v128.store(o + 3 * step, f32x4.add(e3, p3));
  }
}

// Slot (sr, sc) of a tile whose rows (columns) hold E position 0 alone (its bit 0 (1) set: the upconv's E[H]) exists.
// @ts-ignore: decorator
@inline function slotOk(f: i32, sr: i32, sc: i32): bool { return ((f & 1) == 0 || sr == 0) && ((f & 2) == 0 || sc == 0); }

// m of slot S (4 channels at byte offset cb), zero where the tile has no such slot.
// @ts-ignore: decorator
@inline function mv(M: usize, S: i32, mk: usize, f: i32, cb: usize): v128 {
  return f == 0 || slotOk(f, S / NL, S % NL) ? v128.load(M + <usize>S * mk + cb) : f32x4.splat(0);
}

// Floats of scratch of the forwards.
function scratchFloats(T: i32, C: i32, OC: i32): i32 {
  const Ci = c4(C), Co = c4(OC), RC = rows(T, Ci, Co);
  return al(c4(max(C, OC))) + al(NS * posStride(RC * Ci)) + al(NS * posStride(RC * Co)) + 2 * al(NS * RC) + al(RC) + al(NS) + al(TMP);
}
// @ts-ignore: decorator
@inline function upTiles(N: i32, H: i32, W: i32): i32 { return N * ((H >> 2) + 1) * ((W >> 2) + 1); }
// @ts-ignore: decorator
@inline function half(n: i32): i32 { return (n + 1) >> 1; }
// @ts-ignore: decorator
@inline function s2Tiles(N: i32, H: i32, W: i32): i32 { return N * ((half(H) + 3) >> 2) * ((half(W) + 3) >> 2); }

export function upconv_split4_packed_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 {
  return scratchFloats(upTiles(N, H, W), C, OC);
}
export function conv3s2_split4_packed_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 {
  return scratchFloats(s2Tiles(N, H, W), C, OC);
}

// y = b + upconv(x) (N, 2H, 2W, OC) on U = split4_pack(w).
export function upconv_split4_forward_packed(y: usize, x: usize, U: usize, b: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  if (N <= 0 || H <= 0 || W <= 0 || OC <= 0) return;
  if (C <= 0) { startRows(y, N * 4 * H * W, ldy, OC, b); return; }
  tilesForward(true, y, x, U, b, scratch, N, H, W, C, OC, ldy, ldx);
}

// y = b + conv3x3s2(x) (N, ceil(H / 2), ceil(W / 2), OC), pad 1, on U = split4_pack(w).
export function conv3s2_split4_forward_packed(y: usize, x: usize, U: usize, b: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  if (N <= 0 || H <= 0 || W <= 0 || OC <= 0) return;
  if (C <= 0) { startRows(y, N * half(H) * half(W), ldy, OC, b); return; }
  tilesForward(false, y, x, U, b, scratch, N, H, W, C, OC, ldy, ldx);
}

// Per chunk of tiles: the input transforms, 36 GEMMs (one per matrix, over the chunk's slots of it), and each
// tile's y block (the column pass per slot row into tmp, then the row pass into y).
function tilesForward(up: bool, y: usize, x: usize, U: usize, b: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  const YH = up ? 2 * H : half(H), YW = up ? 2 * W : half(W);
  const TR = up ? (H >> 2) + 1 : (YH + 3) >> 2, TC = up ? (W >> 2) + 1 : (YW + 3) >> 2, T = N * TR * TC;
  // the patch: the upconv's 5x5 (E sources lines 0 .. 4, P 1 .. 4), the stride-2 conv's 9x9 (E 0, 2, .., 8; P 1, 3, 5, 7),
  // tiles 4 st lines apart; Q output lines a tile
  const st = up ? 1 : 2, n = 4 * st + 1, Q = up ? 9 : 4;
  const Ci = c4(C), Co = c4(OC), C4 = C & ~3;
  const RC = rows(T, Ci, Co);
  const zero = scratch;
  const V = fl(zero, al(c4(max(C, OC))));
  const M = fl(V, al(NS * posStride(RC * Ci)));
  const ind = fl(M, al(NS * posStride(RC * Co)));
  const outp = fl(ind, al(NS * RC));
  const flags = fl(outp, al(NS * RC));
  const ptr = fl(flags, al(RC));
  const tmp = fl(ptr, al(NS));
  memory.fill(zero, 0, <usize>c4(max(C, OC)) << 2);
  const vk = <usize>posStride(RC * Ci) << 2, mk = <usize>posStride(RC * Co) << 2;
  const rowB = <usize>Ci << 2, rowM = <usize>Co << 2, ks = <usize>(C * c8(OC)) << 2;
  const rs = <usize>(YW * ldy) << 2; // bytes from one y row to the next
  const blk = tmp + (<usize>(NL * NL) << 4); // the output pass: the Q outputs of a column
  for (let t0 = 0; t0 < T; t0 += RC) {
    const R = min(RC, T - t0);
    let any = 0;
    for (let r = 0; r < R; r++) {
      const t = t0 + r, q = t % (TR * TC), tm = q / TC, tn = q - tm * TC;
      patchPtrs(ptr, t, x, ldx, zero, H, W, TR, TC, n, 4 * st);
      const f = up ? (4 * tm == H ? 1 : 0) | (4 * tn == W ? 2 : 0) : 0;
      store<i32>(flags + (<usize>r << 2), f);
      any |= f;
      const vr = V + <usize>r * rowB;
      for (let c = 0; c < C4; c += 4) inputs(ptr, n, st, <usize>c << 2, tmp, vr + (<usize>c << 2), vk);
      if (C4 < C) inputs(tailPtrs(ptr, n * n, C4, C, tmp + (<usize>NS << 4)), n, st, 0, tmp, vr + (<usize>C4 << 2), vk);
    }
    // per matrix u = 6 ar + ac the chunk's slots of it
    let at: usize = 0;
    for (let u = 0; u < NU; u++) {
      const ar = u / 6, ac = u - 6 * ar;
      const r0 = ar < 5 ? ar : 5, r1 = ar < 5 ? ar + 1 : NL, c0 = ac < 5 ? ac : 5, c1 = ac < 5 ? ac + 1 : NL;
      let k = 0;
      for (let r = 0; r < R; r++) {
        const f = load<i32>(flags + (<usize>r << 2));
        for (let sr = r0; sr < r1; sr++) for (let sc = c0; sc < c1; sc++) {
          if (!slotOk(f, sr, sc)) continue;
          const S = sr * NL + sc;
          store<u32>(ind + at + (<usize>k << 2), <u32>(V + <usize>S * vk + <usize>r * rowB));
          store<u32>(outp + at + (<usize>k << 2), <u32>(M + <usize>S * mk + <usize>r * rowM));
          k++;
        }
      }
      igemm_4x8(k, 1, C, ind + at, outp + at, 0, U + <usize>u * ks, 32, <usize>C << 5, OC, 0, 0, zero, 0);
      at += <usize>k << 2;
    }
    for (let r = 0; r < R; r++) {
      const t = t0 + r, nn = t / (TR * TC), q = t - nn * TR * TC, tm = q / TC, tn = q - tm * TC;
      const f = any != 0 ? load<i32>(flags + (<usize>r << 2)) : 0;
      const mr = M + <usize>r * rowM;
      const h0 = up ? 8 * tm - 1 : 4 * tm, w0 = up ? 8 * tn - 1 : 4 * tn;
      const inside = h0 >= 0 && h0 + Q <= YH;
      for (let c = 0; c < OC; c += 4) {
        const cb = <usize>c << 2, nc = min(4, OC - c);
        // tmp[q'][sr]: output column q' of slot row sr (16 bytes each, NL a column)
        if (f == 0) {
          // every slot: the slots one after another, mk apart (no slot test and no S * mk per value: with them
          // this pass took about as long as the tile's input transforms)
          let p = mr + cb;
          for (let sr = 0; sr < NL; sr++) {
            const m0 = v128.load(p), m1 = v128.load(p + mk), m2 = v128.load(p + 2 * mk), m3 = v128.load(p + 3 * mk);
            const m4 = v128.load(p + 4 * mk), p0 = v128.load(p + 5 * mk), p1 = v128.load(p + 6 * mk);
            const p2 = v128.load(p + 7 * mk), p3 = v128.load(p + 8 * mk);
            combine(m0, m1, m2, m3, m4, p0, p1, p2, p3, up, tmp + (<usize>sr << 4), <usize>NL << 4);
            p += 9 * mk;
          }
        } else {
          for (let sr = 0; sr < NL; sr++) {
            const S = sr * NL;
            combine(mv(mr, S, mk, f, cb), mv(mr, S + 1, mk, f, cb), mv(mr, S + 2, mk, f, cb), mv(mr, S + 3, mk, f, cb),
              mv(mr, S + 4, mk, f, cb), mv(mr, S + 5, mk, f, cb), mv(mr, S + 6, mk, f, cb), mv(mr, S + 7, mk, f, cb),
              mv(mr, S + 8, mk, f, cb), up, tmp + (<usize>sr << 4), <usize>NL << 4);
          }
        }
        const bv = b != 0 ? loadN(b + cb, nc) : f32x4.splat(0);
        for (let qc = 0; qc < Q; qc++) {
          const yc = w0 + qc;
          if (yc < 0 || yc >= YW) continue;
          const s = tmp + (<usize>(qc * NL) << 4);
          combine(v128.load(s), v128.load(s, 16), v128.load(s, 32), v128.load(s, 48), v128.load(s, 64),
            v128.load(s, 80), v128.load(s, 96), v128.load(s, 112), v128.load(s, 128), up, blk, 16);
          const col = fl(y, (nn * YH * YW + yc) * ldy) + cb;
          if (inside && nc == 4) {
            // the whole block inside y, 4 channels: rows one y row apart, the bounds known
            let o = col + <usize>h0 * rs;
            for (let qr = 0; qr < Q; qr++) {
              const v = v128.load(blk + (<usize>qr << 4));
              // the upconv's block row and column 0 are the previous tiles' (stored first, with b): add
              v128.store(o, up && (qr == 0 || qc == 0) ? f32x4.add(v, v128.load(o)) : f32x4.add(v, bv));
              o += rs;
            }
            continue;
          }
          for (let qr = 0; qr < Q; qr++) {
            const yr = h0 + qr;
            if (yr < 0 || yr >= YH) continue;
            const acc = up && (qr == 0 || qc == 0);
            const v = v128.load(blk + (<usize>qr << 4));
            put(col + <usize>yr * rs, acc ? v : f32x4.add(v, bv), nc, acc);
          }
        }
      }
    }
  }
}
