// Winograd F(2x2, 3x3) for the stride-1 pad-1 3x3 conv: forward, backward-input and backward-weight.
// x (N, H, W, C) pixel stride ldx -> y (N, H, W, OC) pixel stride ldy (views may be channel slices);
// w HWIO [3][3][C][OC] (the weight of the direct conv, conv2d.ts: the same function, different rounding);
// b [OC] (0 = none). Backward passes accumulate.
//
// The output is cut into 2x2 tiles (TH = ceil(H/2) x TW = ceil(W/2) per image); tile (ti, tj) reads the 4x4
// input patch d at rows 2ti-1 .. 2ti+2, columns 2tj-1 .. 2tj+2 (zero outside the image) and
//   Y = A^T [ (G g G^T) (.) (B^T d B) ] A,  summed over channels (the (.) product is a GEMM per position k)
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],  G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1],
//   A^T = [1 1 1 0; 0 1 -1 -1].
// Per tile and channel pair: 16 multiply-adds for 4 outputs instead of 36 (2.25x fewer), plus the transforms
// (adds only, O(C + OC) per tile). Tiles go in chunks of RC (the chunk's transformed input V [16][RC][C] and
// products M [16][RC][OC] stay in cache); per chunk: input transform, 16 GEMMs V[k] x U[k] on igemm_4x8 (one
// pointer table for all k: the k offset is igemm's aoff / ooff), output transform (+ bias, = or +=).
// backward-input is the same conv of dy with w flipped and transposed (w'[kh][kw][oc][c] = w[2-kh][2-kw][c][oc]).
// backward-weight: per tile, dL/dU = (A dY A^T) (.) V, so dU[k] (C x OC) = sum_tiles V[k]^T Mdy[k] (16 GEMMs
// on gemm_ap_4x8, 16 MACs per tile and channel pair instead of 36) and dw += G^T dU G.
// Everything temporary lives in `scratch` (winograd3_scratch_size).
import { bias_backward } from './conv_bias';
import { gemm_ap_4x8, igemm_4x8, pack_a4, pack_panels } from './gemm';
import { loadN, put } from './winograd_blocks';
import { matrixStride, patchPtrs, posStride, rowTables, storeTransposed4, tailPtrs } from './winograd_tiles';

// @ts-ignore: decorator
@inline function al(n: i32): i32 { return (n + 15) & ~15; }
// @ts-ignore: decorator
@inline function c4(n: i32): i32 { return (n + 3) & ~3; }
// @ts-ignore: decorator
@inline function c8(n: i32): i32 { return (n + 7) & ~7; }
// @ts-ignore: decorator
@inline function fl(p: usize, n: i32): usize { return p + (<usize>n << 2); }

// Tiles per chunk: V and M of a chunk are 16 * RC * (C + OC) floats, about 1 MB (one position's V[k], M[k] and
// the weights' panels are what the GEMM touches at a time); 16 .. 256 tiles. Measured against 8192 and 32768
// (about 0.5 and 2 MB): 16384 measured best overall (within the noise on most encoder shapes).
const WQ: i32 = 16384;
// @ts-ignore: decorator
@inline function chunk(T: i32, C: i32, OC: i32): i32 {
  const rc = min(256, max(16, (WQ / max(c4(C) + c4(OC), 1)) & ~3));
  return min(rc, max(T, 1));
}

// @ts-ignore: decorator
@inline function tiles(N: i32, H: i32, W: i32): i32 { return N * ((H + 1) >> 1) * ((W + 1) >> 1); }

// forward / backward-input layout: zero | U panels [16][ceil(K/8)... ] | V | M | ind | outp | tile ptrs
function fwdSize(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 {
  const RC = chunk(tiles(N, H, W), C, OC);
  return al(c4(max(C, OC))) + al(16 * matrixStride(C, OC)) + al(16 * posStride(RC * c4(C))) + al(16 * posStride(RC * c4(OC))) + 2 * al(RC) + al(16) + al(256);
}

function bwdWSize(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 {
  const RC = chunk(tiles(N, H, W), C, OC);
  return al(c4(max(C, OC))) + al(16 * C * OC) + al(16 * posStride(RC * c4(C))) + al(16 * posStride(RC * c4(OC))) + al(RC) + al(c4(C) * RC) + al(c8(OC) * RC) + al(16) + al(256);
}

// Floats of scratch the forward alone needs (inference).
export function winograd3_forward_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 {
  return fwdSize(N, H, W, C, OC);
}

// Floats of scratch any of the three passes needs for this shape.
export function winograd3_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 {
  return max(fwdSize(N, H, W, C, OC), max(fwdSize(N, H, W, OC, C), bwdWSize(N, H, W, C, OC)));
}

// y = conv3x3(x, w) + b, overwriting y's slice.
export function winograd3_forward(y: usize, x: usize, w: usize, b: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  if (N <= 0 || H <= 0 || W <= 0 || OC <= 0) return;
  run(y, x, w, b, scratch, N, H, W, C, OC, ldy, ldx, false);
}

// dx += conv3x3^T(dy, w): the forward of dy with w flipped and transposed, accumulated.
export function winograd3_backward_input(dx: usize, dy: usize, w: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldx: i32, ldy: i32): void {
  if (N <= 0 || H <= 0 || W <= 0 || C <= 0 || OC <= 0) return;
  run(dx, dy, w, 0, scratch, N, H, W, OC, C, ldx, ldy, true);
}

// One pass y (=, or += when `bwd`) of the conv of x (Cin channels) to Cout channels; `bwd`: w is the forward
// weight [3][3][Cout][Cin] read flipped and transposed (backward-input), else [3][3][Cin][Cout].
function run(y: usize, x: usize, w: usize, b: usize, scratch: usize,
  N: i32, H: i32, W: i32, Cin: i32, Cout: i32, ldy: i32, ldx: i32, bwd: bool): void {
  const TH = (H + 1) >> 1, TW = (W + 1) >> 1, T = N * TH * TW;
  const RC = chunk(T, Cin, Cout);
  const Ci = c4(Cin), Co = c4(Cout);
  const zero = scratch;
  const U = fl(zero, al(c4(max(Cin, Cout))));
  const V = fl(U, al(16 * matrixStride(Cin, Cout)));
  const M = fl(V, al(16 * posStride(RC * Ci)));
  const ind = fl(M, al(16 * posStride(RC * Co)));
  const outp = fl(ind, al(RC));
  const ptr = fl(outp, al(RC));
  const tmp = fl(ptr, al(16));
  memory.fill(zero, 0, <usize>c4(max(Cin, Cout)) << 2);
  if (Cin > 0) weightTransform(U, w, Cin, Cout, bwd, tmp);
  const vk = <usize>posStride(RC * Ci) << 2, mk = <usize>posStride(RC * Co) << 2;
  rowTables(ind, V, Ci, outp, M, Co, RC);
  for (let t0 = 0; t0 < T; t0 += RC) {
    const R = min(RC, T - t0);
    if (Cin > 0) {
      inputTransform(V, vk, Ci, x, ldx, zero, ptr, tmp, t0, R, H, W, TH, TW, Cin);
      for (let k = 0; k < 16; k++) {
        igemm_4x8(R, 1, Cin, ind, outp, <usize>k * mk, fl(U, k * matrixStride(Cin, Cout)), 32, (<usize>Cin) << 5, Cout, 0, 0, zero, <usize>k * vk);
      }
    } else {
      memory.fill(M, 0, <usize>16 * mk);
    }
    outputTransform(y, ldy, M, mk, Co, b, t0, R, H, W, TH, TW, Cout, bwd);
  }
}

// U[k] = (G g G^T)[k] for every channel pair, as 8-wide panels: U + k*matrixStride(Cin, Cout) + j*Cin*8 floats, row c, lane oc % 8
// (lanes past Cout zero), g[kh][kw] = w[kh][kw][c][oc], or w[2-kh][2-kw][oc][c] when bwd. Four channel pairs
// per vector: forward along oc (contiguous in w and in a panel row); bwd along c (contiguous in w), 4 x 4
// blocks transposed in registers so each panel row is still one store. Tails one pair at a time.
function weightTransform(U: usize, w: usize, Cin: i32, Cout: i32, bwd: bool, tmp: usize): void {
  const NP = (Cout + 7) >> 3;
  if (Cout & 7) memory.fill(U, 0, (<usize>16 * matrixStride(Cin, Cout)) << 2); // the lanes past Cout; every other float is written
  const tap = Cin * Cout, tb = <usize>tap << 2;
  const ks = <usize>matrixStride(Cin, Cout) << 2;
  const O4 = Cout & ~3, I4 = bwd ? Cin & ~3 : Cin;
  for (let o = 0; o < O4; o += 4) {
    for (let c = 0; c < I4; c += bwd ? 4 : 1) {
      const row = U + ((<usize>(((o >> 3) * Cin + c) * 8 + (o & 7))) << 2);
      if (!bwd) {
        gTransform(tmp, fl(w, c * Cout + o), tb, false);
        for (let k = 0; k < 16; k++) v128.store(row + <usize>k * ks, v128.load(tmp + (<usize>k << 4)));
      } else {
        for (let l = 0; l < 4; l++) gTransform(tmp + (<usize>l << 8), fl(w, (o + l) * Cin + c), tb, true);
        for (let k = 0; k < 16; k++) storeTransposed4(tmp + (<usize>k << 4), 256, row + <usize>k * ks);
      }
    }
  }
  for (let c = 0; c < Cin; c++) for (let o = c < I4 ? O4 : 0; o < Cout; o++) {
    const e = bwd ? o * Cin + c : c * Cout + o;
    const base = fl(U, ((o >> 3) * Cin + c) * 8 + (o & 7));
    for (let a = 0; a < 4; a++) {
      // rows: h = G g (row a of 4), from the rows of g
      const i0 = bwd ? 8 : 0, sg = bwd ? -1 : 1;
      const ga0 = load<f32>(fl(w, (i0 + sg * 0) * tap + e)), ga1 = load<f32>(fl(w, (i0 + sg * 1) * tap + e)), ga2 = load<f32>(fl(w, (i0 + sg * 2) * tap + e));
      const gb0 = load<f32>(fl(w, (i0 + sg * 3) * tap + e)), gb1 = load<f32>(fl(w, (i0 + sg * 4) * tap + e)), gb2 = load<f32>(fl(w, (i0 + sg * 5) * tap + e));
      const gc0 = load<f32>(fl(w, (i0 + sg * 6) * tap + e)), gc1 = load<f32>(fl(w, (i0 + sg * 7) * tap + e)), gc2 = load<f32>(fl(w, (i0 + sg * 8) * tap + e));
      let h0: f32, h1: f32, h2: f32;
      if (a == 0) { h0 = ga0; h1 = ga1; h2 = ga2; }
      else if (a == 1) { h0 = <f32>0.5 * (ga0 + gb0 + gc0); h1 = <f32>0.5 * (ga1 + gb1 + gc1); h2 = <f32>0.5 * (ga2 + gb2 + gc2); }
      else if (a == 2) { h0 = <f32>0.5 * (ga0 - gb0 + gc0); h1 = <f32>0.5 * (ga1 - gb1 + gc1); h2 = <f32>0.5 * (ga2 - gb2 + gc2); }
      else { h0 = gc0; h1 = gc1; h2 = gc2; }
      st(base, ks, 4 * a, h0, h1, h2);
    }
  }
}

// dst[k] (16 v128, k = 4r + s) = (G g G^T)[r][s] for 4 lanes; g[a][b] = v128 at src + t*tb with t = 3a + b
// (or 8 - 3a - b when flip: the rotated kernel).
// @ts-ignore: decorator
@inline function gTransform(dst: usize, src: usize, tb: usize, flip: bool): void {
  const hf = f32x4.splat(0.5);
  for (let b = 0; b < 3; b++) {
    // column b of h = G g
    const g0 = v128.load(src + <usize>(flip ? 8 - b : b) * tb);
    const g1 = v128.load(src + <usize>(flip ? 5 - b : 3 + b) * tb);
    const g2 = v128.load(src + <usize>(flip ? 2 - b : 6 + b) * tb);
    const s = f32x4.add(g0, g2);
    v128.store(dst + (<usize>b << 4), g0);
    v128.store(dst + (<usize>(4 + b) << 4), f32x4.mul(hf, f32x4.add(s, g1)));
    v128.store(dst + (<usize>(8 + b) << 4), f32x4.mul(hf, f32x4.sub(s, g1)));
    v128.store(dst + (<usize>(12 + b) << 4), g2);
  }
  for (let r = 0; r < 4; r++) {
    // row r: u = h G^T, in place (column 3 is free)
    const o = dst + (<usize>(4 * r) << 4);
    const h0 = v128.load(o), h1 = v128.load(o, 16), h2 = v128.load(o, 32);
    const s = f32x4.add(h0, h2);
    v128.store(o, f32x4.mul(hf, f32x4.add(s, h1)), 16);
    v128.store(o, f32x4.mul(hf, f32x4.sub(s, h1)), 32);
    v128.store(o, h2, 48);
  }
}

// @ts-ignore: decorator
@inline function st(base: usize, ks: usize, k0: i32, a: f32, b: f32, c: f32): void {
  const half: f32 = 0.5;
  store<f32>(base + <usize>k0 * ks, a);
  store<f32>(base + <usize>(k0 + 1) * ks, half * (a + b + c));
  store<f32>(base + <usize>(k0 + 2) * ks, half * (a - b + c));
  store<f32>(base + <usize>(k0 + 3) * ks, c);
}

// V[k][r][c] = (B^T d B)[k] for tiles t0 + r, r < R, 4 channels at a time; the channel tail (C % 4) goes
// through tmp (16 zero-padded vectors) so no load passes a pixel's C floats. V rows are Ci = c4(C) floats.
function inputTransform(V: usize, vk: usize, Ci: i32, x: usize, ldx: i32, zero: usize, ptr: usize, tmp: usize,
  t0: i32, R: i32, H: i32, W: i32, TH: i32, TW: i32, C: i32): void {
  const C4 = C & ~3;
  for (let r = 0; r < R; r++) {
    patchPtrs(ptr, t0 + r, x, ldx, zero, H, W, TH, TW, 4, 2);
    const vr = fl(V, r * Ci);
    for (let c = 0; c < C4; c += 4) inTile(ptr, <usize>c << 2, vr + (<usize>c << 2), vk);
    if (C4 < C) inTile(tailPtrs(ptr, 16, C4, C, tmp), 0, vr + (<usize>C4 << 2), vk);
  }
}

// 16 outputs of B^T d B for 4 channels: d[i][j] = v128 at ptr[4i + j] + cb; output k at dst + k*vk.
// Row pass first (t = B^T d, one row of t from two rows of d), then the column pass on each row of t.
// @ts-ignore: decorator
@inline function inTile(ptr: usize, cb: usize, dst: usize, vk: usize): void {
  for (let i = 0; i < 4; i++) {
    // row i of B^T: 0: d0 - d2, 1: d1 + d2, 2: d2 - d1, 3: d1 - d3
    const ra = i == 0 ? 0 : i == 3 ? 1 : i == 1 ? 1 : 2;
    const rb = i == 0 ? 2 : i == 3 ? 3 : i == 1 ? 2 : 1;
    const pa = ptr + (<usize>ra << 4), pb = ptr + (<usize>rb << 4);
    const a0 = v128.load(<usize>load<u32>(pa) + cb), a1 = v128.load(<usize>load<u32>(pa, 4) + cb);
    const a2 = v128.load(<usize>load<u32>(pa, 8) + cb), a3 = v128.load(<usize>load<u32>(pa, 12) + cb);
    const b0 = v128.load(<usize>load<u32>(pb) + cb), b1 = v128.load(<usize>load<u32>(pb, 4) + cb);
    const b2 = v128.load(<usize>load<u32>(pb, 8) + cb), b3 = v128.load(<usize>load<u32>(pb, 12) + cb);
    let t0: v128, t1: v128, t2: v128, t3: v128;
    if (i == 1) { t0 = f32x4.add(a0, b0); t1 = f32x4.add(a1, b1); t2 = f32x4.add(a2, b2); t3 = f32x4.add(a3, b3); }
    else { t0 = f32x4.sub(a0, b0); t1 = f32x4.sub(a1, b1); t2 = f32x4.sub(a2, b2); t3 = f32x4.sub(a3, b3); }
    const o = dst + <usize>(4 * i) * vk;
    v128.store(o, f32x4.sub(t0, t2));
    v128.store(o + vk, f32x4.add(t1, t2));
    v128.store(o + 2 * vk, f32x4.sub(t2, t1));
    v128.store(o + 3 * vk, f32x4.sub(t1, t3));
  }
}

// y pixels of tiles t0 + r (= or += when acc) = A^T M A (+ b), 4 channels at a time; M rows are Co floats
// (lanes past Cout unused and never stored).
function outputTransform(y: usize, ldy: i32, M: usize, mk: usize, Co: i32, b: usize, t0: i32, R: i32,
  H: i32, W: i32, TH: i32, TW: i32, Cout: i32, acc: bool): void {
  for (let r = 0; r < R; r++) {
    const t = t0 + r;
    const n = t / (TH * TW), q = t - n * TH * TW, ti = q / TW, tj = q - ti * TW;
    const oh = 2 * ti, ow = 2 * tj;
    const okR = oh + 1 < H, okC = ow + 1 < W;
    const y00 = fl(y, ((n * H + oh) * W + ow) * ldy);
    const y01 = fl(y00, ldy), y10 = fl(y00, W * ldy), y11 = fl(y10, ldy);
    const mr = fl(M, r * Co);
    for (let c = 0; c < Cout; c += 4) {
      const cb = <usize>c << 2;
      const m = mr + cb;
      // s = A^T m (2 x 4): row 0 = m0 + m1 + m2, row 1 = m1 - m2 - m3 (rows of the 4x4 m)
      let s00 = f32x4.add(f32x4.add(v128.load(m), v128.load(m + 4 * mk)), v128.load(m + 8 * mk));
      let s01 = f32x4.add(f32x4.add(v128.load(m + mk), v128.load(m + 5 * mk)), v128.load(m + 9 * mk));
      let s02 = f32x4.add(f32x4.add(v128.load(m + 2 * mk), v128.load(m + 6 * mk)), v128.load(m + 10 * mk));
      let s03 = f32x4.add(f32x4.add(v128.load(m + 3 * mk), v128.load(m + 7 * mk)), v128.load(m + 11 * mk));
      let s10 = f32x4.sub(f32x4.sub(v128.load(m + 4 * mk), v128.load(m + 8 * mk)), v128.load(m + 12 * mk));
      let s11 = f32x4.sub(f32x4.sub(v128.load(m + 5 * mk), v128.load(m + 9 * mk)), v128.load(m + 13 * mk));
      let s12 = f32x4.sub(f32x4.sub(v128.load(m + 6 * mk), v128.load(m + 10 * mk)), v128.load(m + 14 * mk));
      let s13 = f32x4.sub(f32x4.sub(v128.load(m + 7 * mk), v128.load(m + 11 * mk)), v128.load(m + 15 * mk));
      // Y = s A (2 x 2)
      let v00 = f32x4.add(f32x4.add(s00, s01), s02), v01 = f32x4.sub(f32x4.sub(s01, s02), s03);
      let v10 = f32x4.add(f32x4.add(s10, s11), s12), v11 = f32x4.sub(f32x4.sub(s11, s12), s13);
      const nc = min(4, Cout - c);
      if (b != 0) {
        const bv = loadN(b + cb, nc);
        v00 = f32x4.add(v00, bv); v01 = f32x4.add(v01, bv); v10 = f32x4.add(v10, bv); v11 = f32x4.add(v11, bv);
      }
      put(y00 + cb, v00, nc, acc);
      if (okC) put(y01 + cb, v01, nc, acc);
      if (okR) {
        put(y10 + cb, v10, nc, acc);
        if (okC) put(y11 + cb, v11, nc, acc);
      }
    }
  }
}

// ---- backward-weight ----

// dw[kh][kw][c][oc] += sum over output pixels of x[tap pixel][c] * dy[pixel][oc]; db[oc] += sum dy.
export function winograd3_backward_weight(dw: usize, db: usize, dy: usize, x: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  if (N <= 0 || H <= 0 || W <= 0 || OC <= 0) return;
  if (db != 0) bias_backward(db, dy, N * H * W, OC, ldy);
  if (C <= 0) return;
  const TH = (H + 1) >> 1, TW = (W + 1) >> 1, T = N * TH * TW;
  const RC = chunk(T, C, OC);
  const Ci = c4(C), Co = c4(OC);
  // scratch: zero | dU [16][C][OC] | V [16][RC][Ci] | Mdy [16][RC][Co] | aptr | packed A | packed B | ptrs | tmp
  const zero = scratch;
  const dU = fl(zero, al(c4(max(C, OC))));
  const V = fl(dU, al(16 * C * OC));
  const Md = fl(V, al(16 * posStride(RC * Ci)));
  const aptr = fl(Md, al(16 * posStride(RC * Co)));
  const ap = fl(aptr, al(RC));
  const bp = fl(ap, al(Ci * RC));
  const ptr = fl(bp, al(c8(OC) * RC));
  const tmp = fl(ptr, al(16));
  memory.fill(zero, 0, <usize>c4(max(C, OC)) << 2);
  memory.fill(dU, 0, (<usize>16 * C * OC) << 2);
  const vk = <usize>posStride(RC * Ci) << 2, mk = <usize>posStride(RC * Co) << 2;
  for (let t0 = 0; t0 < T; t0 += RC) {
    const R = min(RC, T - t0);
    inputTransform(V, vk, Ci, x, ldx, zero, ptr, tmp, t0, R, H, W, TH, TW, C);
    dyTransform(Md, mk, Co, dy, ldy, zero, ptr, tmp, t0, R, H, W, TH, TW, OC);
    for (let k = 0; k < 16; k++) {
      for (let q = 0; q < R; q++) store<u32>(aptr + (<usize>q << 2), <u32>(V + <usize>k * vk + ((<usize>q * Ci) << 2)));
      pack_a4(ap, aptr, R, C);
      pack_panels(bp, Md + <usize>k * mk, R, OC, Co);
      gemm_ap_4x8(C, R, ap, bp, OC, fl(dU, k * C * OC), OC);
    }
  }
  // dw += G^T dU G, per channel pair: 4 at a time along oc, the tail one by one
  const tap = C * OC, kst = <usize>tap << 2;
  const O4 = OC & ~3;
  const hf = f32x4.splat(0.5);
  for (let c = 0; c < C; c++) {
    for (let o = 0; o < O4; o += 4) {
      const u = fl(dU, c * OC + o), d = fl(dw, c * OC + o);
      for (let i = 0; i < 3; i++) {
        // row i of h = G^T u (4 columns), then (h G) row i into taps 3i .. 3i + 2
        let h0: v128, h1: v128, h2: v128, h3: v128;
        const a0 = u + <usize>(i == 0 ? 0 : 4) * kst, a1 = u + 8 * kst;
        if (i == 0) {
          h0 = f32x4.add(v128.load(u), f32x4.mul(hf, f32x4.add(v128.load(u + 4 * kst), v128.load(a1))));
          h1 = f32x4.add(v128.load(u + kst), f32x4.mul(hf, f32x4.add(v128.load(u + 5 * kst), v128.load(a1 + kst))));
          h2 = f32x4.add(v128.load(u + 2 * kst), f32x4.mul(hf, f32x4.add(v128.load(u + 6 * kst), v128.load(a1 + 2 * kst))));
          h3 = f32x4.add(v128.load(u + 3 * kst), f32x4.mul(hf, f32x4.add(v128.load(u + 7 * kst), v128.load(a1 + 3 * kst))));
        } else if (i == 1) {
          h0 = f32x4.mul(hf, f32x4.sub(v128.load(a0), v128.load(a1)));
          h1 = f32x4.mul(hf, f32x4.sub(v128.load(a0 + kst), v128.load(a1 + kst)));
          h2 = f32x4.mul(hf, f32x4.sub(v128.load(a0 + 2 * kst), v128.load(a1 + 2 * kst)));
          h3 = f32x4.mul(hf, f32x4.sub(v128.load(a0 + 3 * kst), v128.load(a1 + 3 * kst)));
        } else {
          const b = u + 12 * kst;
          h0 = f32x4.add(f32x4.mul(hf, f32x4.add(v128.load(a0), v128.load(a1))), v128.load(b));
          h1 = f32x4.add(f32x4.mul(hf, f32x4.add(v128.load(a0 + kst), v128.load(a1 + kst))), v128.load(b + kst));
          h2 = f32x4.add(f32x4.mul(hf, f32x4.add(v128.load(a0 + 2 * kst), v128.load(a1 + 2 * kst))), v128.load(b + 2 * kst));
          h3 = f32x4.add(f32x4.mul(hf, f32x4.add(v128.load(a0 + 3 * kst), v128.load(a1 + 3 * kst))), v128.load(b + 3 * kst));
        }
        const q = d + <usize>(3 * i) * kst;
        v128.store(q, f32x4.add(v128.load(q), f32x4.add(h0, f32x4.mul(hf, f32x4.add(h1, h2)))));
        v128.store(q + kst, f32x4.add(v128.load(q + kst), f32x4.mul(hf, f32x4.sub(h1, h2))));
        v128.store(q + 2 * kst, f32x4.add(v128.load(q + 2 * kst), f32x4.add(f32x4.mul(hf, f32x4.add(h1, h2)), h3)));
      }
    }
    for (let o = O4; o < OC; o++) {
      const e = c * OC + o;
      const u = fl(dU, e);
      const h00 = gt0(u, kst, 0), h01 = gt0(u, kst, 1), h02 = gt0(u, kst, 2), h03 = gt0(u, kst, 3);
      const h10 = gt1(u, kst, 0), h11 = gt1(u, kst, 1), h12 = gt1(u, kst, 2), h13 = gt1(u, kst, 3);
      const h20 = gt2(u, kst, 0), h21 = gt2(u, kst, 1), h22 = gt2(u, kst, 2), h23 = gt2(u, kst, 3);
      const od = fl(dw, e);
      addRow(od, kst, 0, h00, h01, h02, h03);
      addRow(od, kst, 3, h10, h11, h12, h13);
      addRow(od, kst, 6, h20, h21, h22, h23);
    }
  }
}

// rows of G^T (3 x 4) applied to column j of the 4x4 u (u[4i + j] at u + (4i + j)*kst):
// [1 1/2 1/2 0], [0 1/2 -1/2 0], [0 1/2 1/2 1]
// @ts-ignore: decorator
@inline function gt0(u: usize, kst: usize, j: i32): f32 {
  return load<f32>(u + <usize>j * kst) + <f32>0.5 * (load<f32>(u + <usize>(4 + j) * kst) + load<f32>(u + <usize>(8 + j) * kst));
}
// @ts-ignore: decorator
@inline function gt1(u: usize, kst: usize, j: i32): f32 {
  return <f32>0.5 * (load<f32>(u + <usize>(4 + j) * kst) - load<f32>(u + <usize>(8 + j) * kst));
}
// @ts-ignore: decorator
@inline function gt2(u: usize, kst: usize, j: i32): f32 {
  return <f32>0.5 * (load<f32>(u + <usize>(4 + j) * kst) + load<f32>(u + <usize>(8 + j) * kst)) + load<f32>(u + <usize>(12 + j) * kst);
}

// dw taps t0 .. t0 + 2 (one kernel row) += (h G)[0..3] for the row h of G^T dU.
// @ts-ignore: decorator
@inline function addRow(o: usize, kst: usize, t0: i32, h0: f32, h1: f32, h2: f32, h3: f32): void {
  const a = o + <usize>t0 * kst, b = a + kst, c = b + kst;
  store<f32>(a, load<f32>(a) + (h0 + <f32>0.5 * (h1 + h2)));
  store<f32>(b, load<f32>(b) + <f32>0.5 * (h1 - h2));
  store<f32>(c, load<f32>(c) + (<f32>0.5 * (h1 + h2) + h3));
}

// Md[k][r][oc] = (A dY A^T)[k] for tiles t0 + r: dY the tile's 2x2 dy pixels (zero outside the image),
// A = [1 0; 1 1; 1 -1; 0 -1]; 4 channels at a time, the tail (OC % 4) through tmp.
function dyTransform(Md: usize, mk: usize, Co: i32, dy: usize, ldy: i32, zero: usize, ptr: usize, tmp: usize,
  t0: i32, R: i32, H: i32, W: i32, TH: i32, TW: i32, OC: i32): void {
  const O4 = OC & ~3;
  for (let r = 0; r < R; r++) {
    patchPtrs(ptr, t0 + r, dy, ldy, zero, H, W, TH, TW, 2, 2, 0); // the tile's 2x2 dy pixels
    const mr = fl(Md, r * Co);
    for (let c = 0; c < O4; c += 4) dyTile(ptr, <usize>c << 2, mr + (<usize>c << 2), mk);
    if (O4 < OC) dyTile(tailPtrs(ptr, 4, O4, OC, tmp), 0, mr + (<usize>O4 << 2), mk);
  }
}

// @ts-ignore: decorator
@inline function dyTile(ptr: usize, cb: usize, dst: usize, mk: usize): void {
  const a = v128.load(<usize>load<u32>(ptr) + cb), b = v128.load(<usize>load<u32>(ptr, 4) + cb);
  const c = v128.load(<usize>load<u32>(ptr, 8) + cb), d = v128.load(<usize>load<u32>(ptr, 12) + cb);
  // rows of A dY: [a b], [a+c b+d], [a-c b-d], [-c -d]; each row (p, q) -> [p, p+q, p-q, -q]
  dyRow(dst, mk, 0, a, b);
  dyRow(dst, mk, 4, f32x4.add(a, c), f32x4.add(b, d));
  dyRow(dst, mk, 8, f32x4.sub(a, c), f32x4.sub(b, d));
  dyRow(dst, mk, 12, f32x4.neg(c), f32x4.neg(d));
}

// @ts-ignore: decorator
@inline function dyRow(dst: usize, mk: usize, k0: i32, p: v128, q: v128): void {
  const o = dst + <usize>k0 * mk;
  v128.store(o, p);
  v128.store(o + mk, f32x4.add(p, q));
  v128.store(o + 2 * mk, f32x4.sub(p, q));
  v128.store(o + 3 * mk, f32x4.neg(q));
}
