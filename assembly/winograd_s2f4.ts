// The 4x4 stride-2 pad-1 conv (the PatchGAN discriminators' layers) as four stride-1 2x2 convs over the input's
// even/odd phases (winograd_s2.ts), each by Winograd F(4x4, 2x2) instead of F(2x2, 2x2): per output pixel and channel
// pair 4 phases x 25/16 = 6.25 multiply-adds against 9 (1.44x fewer; the direct conv's 16), on 25 transformed weight
// matrices of 4 C rows (6.25x w) written per call. Forward, backward-input and backward-weight, the same functions
// as winograd_s2.ts with different rounding. x (N, H, W, C) pixel stride ldx -> y (N, OH, OW, OC) pixel stride ldy,
// OH = (H - 2) / 2 + 1 (H, W >= 2); w HWIO [4][4][C][OC]; b [OC]. Backward passes accumulate.
//
// Along an axis F(4, 2) on the points 0, 1, -1, 2, inf (winograd_split4.ts): E_k = g0 d_k + g1 d_{k+1} (k < 4) is
// A^T [(G g) (.) (B^T d)] with B^T, G, A^T as there (G's fractions 1/2, 1/6, 1/3 go into U, B^T and A^T are integer).
//   forward: phase p (= pr or pc) holds x[2m - 1 + p] (taps p, p + 2); a 4x4 output tile (rows 4ti ..) reads the
// 10x10 x patch at rows 8ti - 1 .. 8ti + 8, phase p's 5 inputs at its rows p, p + 2, .., p + 8. Per tile 25
// positions, at each a GEMM over K = the 4 phases' channels (4 c4(C)); y = A^T M A + b.
//   backward-input: dx[2m - 1 + p] += dy[m - 1] w[p + 2] + dy[m] w[p]: per phase a 2-tap correlation of dy, F(4, 2)
// with g' = (w[p + 2], w[p]). Block ti of dx rows 8ti .. 8ti + 7 holds phase p's m = 4ti + 1 - p .. + 3 (rows
// 8ti + 1 - p + 2k) from dy rows 4ti - p .. 4ti + 4 - p; per phase its own 25 matrices (OC rows, C columns), one
// GEMM [tiles x OC] x [OC x C] at each position.
//   backward-weight: dU[k] = sum_tiles V[k]^T (A dY A^T)[k] over the forward's tiles (dY the tile's 4x4 dy),
// dw += G^T dU G per phase.
// Output channels go in groups whose 25 transformed matrices (or their gradients) take at most UQ floats; tiles in
// chunks whose V and M take about 2.4 MB. Everything temporary lives in `scratch` (winograd_s2f4_*_scratch_size).
import { bias_backward } from './conv_bias';
import { gemm_ap_4x8, igemm_4x8, pack_a4, pack_panels } from './gemm';
import { loadN, put } from './winograd_blocks';
import { bt5 } from './winograd_split4';
import { matrixStride, patchPtrs, posStride, rowTables, tailPtrs } from './winograd_tiles';

// @ts-ignore: decorator
@inline function al(n: i32): i32 { return (n + 15) & ~15; }
// @ts-ignore: decorator
@inline function c4(n: i32): i32 { return (n + 3) & ~3; }
// @ts-ignore: decorator
@inline function c8(n: i32): i32 { return (n + 7) & ~7; }
// @ts-ignore: decorator
@inline function fl(p: usize, n: i32): usize { return p + (<usize>n << 2); }

// @ts-ignore: decorator
@inline function outDim(H: i32): i32 { return (H - 2) / 2 + 1; }
// forward / backward-weight tiles: 4x4 output pixels each
// @ts-ignore: decorator
@inline function fwdTiles(N: i32, H: i32, W: i32): i32 { return N * ((outDim(H) + 3) >> 2) * ((outDim(W) + 3) >> 2); }
// backward-input blocks: 8x8 dx pixels each
// @ts-ignore: decorator
@inline function blocks(N: i32, H: i32, W: i32): i32 { return N * ((H + 7) >> 3) * ((W + 7) >> 3); }

const NK: i32 = 25; // transform positions
const PTR: i32 = 112; // u32 pointer table (100 used)
const TMP: i32 = 1024; // a channel tail's patch copies + pointers (500 floats); row passes (100)

// At most UQ floats of transformed weights (or their gradients) per output channel group: 8 MiB, below the
// 36 C OC floats winograd_s2.ts's backward-input takes at once (19 MiB on 256 -> 512 channels).
const UQ: i32 = 1 << 21;
// @ts-ignore: decorator
@inline function og(K: i32, OC: i32): i32 { return NK * K * c8(OC) <= UQ ? OC : max(8, (UQ / (NK * K)) & ~7); }
// Tiles per chunk: NK RC (K + M) floats of V and M, about 2.4 MB (winograd_blocks.ts chunk), 4 .. 256.
const WQ: i32 = 23592;
// @ts-ignore: decorator
@inline function chunk(T: i32, K: i32, M: i32): i32 { return min(min(256, max(4, (WQ / max(K + M, 1)) & ~3)), max(T, 1)); }

function fwdSize(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 {
  const K = 4 * c4(C), G = og(K, OC), RC = chunk(fwdTiles(N, H, W), K, c4(G));
  return al(c4(max(C, OC))) + al(NK * matrixStride(K, G)) + al(NK * posStride(RC * K)) + al(NK * posStride(RC * c4(G))) + 2 * al(RC) + al(PTR) + al(TMP);
}
function bwdInSize(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 {
  const Ci = c4(C), Co = c4(OC), RC = chunk(blocks(N, H, W), Co, Ci);
  return al(c4(max(C, OC))) + al(NK * matrixStride(OC, C)) + al(NK * posStride(RC * Co)) + al(NK * posStride(RC * Ci)) + 2 * al(RC) + al(PTR) + al(TMP);
}
function bwdWSize(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 {
  const K = 4 * c4(C), G = og(K, OC), RC = chunk(fwdTiles(N, H, W), K, c4(G));
  return al(c4(max(C, OC))) + al(NK * K * G) + al(NK * posStride(RC * K)) + al(NK * posStride(RC * c4(G))) + al(RC) + al(NK * K * RC) + al(c8(G) * RC) + al(PTR) + al(TMP);
}

export function winograd_s2f4_forward_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 { return fwdSize(N, H, W, C, OC); }
export function winograd_s2f4_backward_input_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 { return bwdInSize(N, H, W, C, OC); }
export function winograd_s2f4_backward_weight_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 { return bwdWSize(N, H, W, C, OC); }
export function winograd_s2f4_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 {
  return max(fwdSize(N, H, W, C, OC), max(bwdInSize(N, H, W, C, OC), bwdWSize(N, H, W, C, OC)));
}

// ---- transforms ----

// G's row i on the pair (p, q) = (g0, g1): p/2, -(p + q)/2, (q - p)/6, p/6 + q/3, q.
// @ts-ignore: decorator
@inline function g5(i: i32, p: v128, q: v128): v128 {
  if (i == 0) return f32x4.mul(p, f32x4.splat(0.5));
  if (i == 1) return f32x4.mul(f32x4.add(p, q), f32x4.splat(-0.5));
  if (i == 2) return f32x4.mul(f32x4.sub(q, p), f32x4.splat(<f32>(1.0 / 6.0)));
  if (i == 3) return f32x4.add(f32x4.mul(p, f32x4.splat(<f32>(1.0 / 6.0))), f32x4.mul(q, f32x4.splat(<f32>(1.0 / 3.0))));
  return q;
}

// The 25 values G g G^T of the 2x2 g = [g00 g01; g10 g11] (4 lanes), value 5i + j at d + (5i + j) ks.
// @ts-ignore: decorator
@inline function weights25(g00: v128, g01: v128, g10: v128, g11: v128, d: usize, ks: usize): void {
  for (let i = 0; i < 5; i++) {
    const h0 = g5(i, g00, g10), h1 = g5(i, g01, g11); // row i of G g
    for (let j = 0; j < 5; j++) v128.store(d + <usize>(5 * i + j) * ks, g5(j, h0, h1));
  }
}

// B^T d B of the 5x5 d[i][j] = v128 at (u32 at pb + (i rs + j cs) * 4) + cb into slots 5r + s at dst + (5r + s) vk:
// rows first into tmp (5 vectors a row), then columns.
// @ts-ignore: decorator
@inline function inputs25(pb: usize, rs: i32, cs: i32, cb: usize, tmp: usize, dst: usize, vk: usize): void {
  for (let i = 0; i < 5; i++) {
    const q = pb + (<usize>(i * rs) << 2), c = <usize>cs << 2;
    bt5(v128.load(<usize>load<u32>(q) + cb), v128.load(<usize>load<u32>(q + c) + cb), v128.load(<usize>load<u32>(q + 2 * c) + cb),
      v128.load(<usize>load<u32>(q + 3 * c) + cb), v128.load(<usize>load<u32>(q + 4 * c) + cb), tmp + (<usize>(5 * i) << 4), 16);
  }
  for (let s = 0; s < 5; s++) {
    const t = tmp + (<usize>s << 4);
    bt5(v128.load(t), v128.load(t, 80), v128.load(t, 160), v128.load(t, 240), v128.load(t, 320), dst + <usize>s * vk, 5 * vk);
  }
}

// A^T m of m0 .. m4 (4 values) at o, o + step, ..
// @ts-ignore: decorator
@inline function at5(m0: v128, m1: v128, m2: v128, m3: v128, m4: v128, o: usize, step: usize): void {
  const s = f32x4.add(m1, m2), d = f32x4.sub(m1, m2), m32 = f32x4.add(m3, m3);
  v128.store(o, f32x4.add(f32x4.add(m0, s), m3));
  v128.store(o + step, f32x4.add(d, m32));
  v128.store(o + 2 * step, f32x4.add(s, f32x4.add(m32, m32)));
  v128.store(o + 3 * step, f32x4.add(f32x4.add(d, f32x4.mul(m3, f32x4.splat(8))), m4));
}

// The 4x4 outputs A^T M A of one tile (4 channels: slot k at m + k mk) into tmp (16 vectors, row-major): columns
// first (per slot column s, the 4 row values into tmp2), then rows.
// @ts-ignore: decorator
@inline function outputs16(m: usize, mk: usize, tmp: usize): void {
  const t2 = tmp + 256;
  for (let s = 0; s < 5; s++) {
    const q = m + <usize>s * mk;
    at5(v128.load(q), v128.load(q + 5 * mk), v128.load(q + 10 * mk), v128.load(q + 15 * mk), v128.load(q + 20 * mk), t2 + (<usize>s << 4), 80);
  }
  for (let r = 0; r < 4; r++) {
    const t = t2 + <usize>(80 * r);
    at5(v128.load(t), v128.load(t, 16), v128.load(t, 32), v128.load(t, 48), v128.load(t, 64), tmp + (<usize>(4 * r) << 4), 16);
  }
}

// V[k][r][ph * Ci + c] = (B^T d_ph B)[k] of forward tiles t0 + r: d_ph[i][j] = patch[pr + 2i][pc + 2j] of the 10x10
// x patch at rows 8ti - 1 ...
function inputTransform(V: usize, vk: usize, Ci: i32, x: usize, ldx: i32, zero: usize, ptr: usize, tmp: usize,
  t0: i32, R: i32, H: i32, W: i32, TH: i32, TW: i32, C: i32): void {
  const C4 = C & ~3;
  for (let r = 0; r < R; r++) {
    patchPtrs(ptr, t0 + r, x, ldx, zero, H, W, TH, TW, 10, 8);
    const vr = fl(V, r * 4 * Ci);
    for (let ph = 0; ph < 4; ph++) {
      const pb = ptr + (<usize>((ph >> 1) * 10 + (ph & 1)) << 2), vp = fl(vr, ph * Ci);
      for (let c = 0; c < C4; c += 4) inputs25(pb, 20, 2, <usize>c << 2, tmp, vp + (<usize>c << 2), vk);
    }
    if (C4 < C) {
      const t2 = tailPtrs(ptr, 100, C4, C, tmp + 1600);
      for (let ph = 0; ph < 4; ph++) inputs25(t2 + (<usize>((ph >> 1) * 10 + (ph & 1)) << 2), 20, 2, 0, tmp, fl(vr, ph * Ci + C4), vk);
    }
  }
}

// ---- forward ----

// y = conv4x4s2(x, w) + b, overwriting y's slice; by groups of output channels (og), each on its own U.
export function winograd_s2f4_forward(y: usize, x: usize, w: usize, b: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  const OH = outDim(H), OW = outDim(W);
  if (N <= 0 || OH <= 0 || OW <= 0 || OC <= 0) return;
  const TH = (OH + 3) >> 2, TW = (OW + 3) >> 2, T = N * TH * TW;
  const Ci = c4(C), K = 4 * Ci, G = og(K, OC), Go = c4(G);
  const RC = chunk(T, K, Go);
  const zero = scratch;
  const U = fl(zero, al(c4(max(C, OC))));
  const V = fl(U, al(NK * matrixStride(K, G)));
  const M = fl(V, al(NK * posStride(RC * K)));
  const ind = fl(M, al(NK * posStride(RC * Go)));
  const outp = fl(ind, al(RC));
  const ptr = fl(outp, al(RC));
  const tmp = fl(ptr, al(PTR));
  memory.fill(zero, 0, <usize>c4(max(C, OC)) << 2);
  const vk = <usize>posStride(RC * K) << 2, mk = <usize>posStride(RC * Go) << 2;
  rowTables(ind, V, K, outp, M, Go, RC);
  const rowB = <usize>OW * ldy << 2;
  for (let o0 = 0; o0 < OC; o0 += G) {
    const no = min(G, OC - o0);
    fwdWeights(U, w, C, Ci, OC, o0, no);
    for (let t0 = 0; t0 < T; t0 += RC) {
      const R = min(RC, T - t0);
      if (C > 0) {
        inputTransform(V, vk, Ci, x, ldx, zero, ptr, tmp, t0, R, H, W, TH, TW, C);
        for (let k = 0; k < NK; k++) {
          igemm_4x8(R, 1, K, ind, outp, <usize>k * mk, fl(U, k * matrixStride(K, no)), 32, <usize>K << 5, no, 0, 0, zero, <usize>k * vk);
        }
      } else {
        memory.fill(M, 0, <usize>NK * mk);
      }
      for (let r = 0; r < R; r++) {
        const t = t0 + r;
        const n = t / (TH * TW), q = t - n * TH * TW, ti = q / TW, tj = q - ti * TW;
        const oh = 4 * ti, ow = 4 * tj, nr = min(4, OH - oh), nq = min(4, OW - ow);
        const y0 = fl(y, ((n * OH + oh) * OW + ow) * ldy + o0);
        const mr = fl(M, r * Go);
        for (let c = 0; c < no; c += 4) {
          const cb = <usize>c << 2, nc = min(4, no - c);
          const bv = b != 0 ? loadN(b + (<usize>o0 << 2) + cb, nc) : f32x4.splat(0);
          outputs16(mr + cb, mk, tmp);
          for (let i = 0; i < nr; i++) for (let j = 0; j < nq; j++) {
            put(y0 + <usize>i * rowB + (<usize>(j * ldy) << 2) + cb, f32x4.add(v128.load(tmp + (<usize>(4 * i + j) << 4)), bv), nc, false);
          }
        }
      }
    }
  }
}

// U[k] panels (8-wide over oc, K = 4 Ci rows) of w's output channels oc0 .. oc0 + OC - 1 (w holds OCw): row ph Ci + c
// = (G g G^T)[k], g[a][b] = w[2a + pr][2b + pc][c][oc]; padding rows and columns zero. Panel by panel (its 25
// destinations advance 32 bytes per channel: winograd_s2.ts fwdWeights).
function fwdWeights(U: usize, w: usize, C: i32, Ci: i32, OCw: i32, oc0: i32, OC: i32): void {
  const K = 4 * Ci, NP = (OC + 7) >> 3;
  if (Ci != C || (OC & 7) != 0) memory.fill(U, 0, (<usize>NK * matrixStride(K, OC)) << 2);
  const tap = C * OCw, ks = <usize>matrixStride(K, OC) << 2;
  for (let j = 0; j < NP; j++) {
    const p0 = j << 3;
    for (let ph = 0; ph < 4; ph++) {
      const t00 = (ph >> 1) * 4 + (ph & 1);
      for (let c = 0; c < C; c++) {
        const db = fl(U, (j * K + ph * Ci + c) * 8);
        for (let h = 0; h < 2; h++) {
          const n = min(4, max(0, OC - p0 - 4 * h));
          if (n == 0) continue;
          const e = fl(w, c * OCw + oc0 + p0 + 4 * h);
          weights25(loadN(e + (<usize>(t00 * tap) << 2), n), loadN(e + (<usize>((t00 + 2) * tap) << 2), n),
            loadN(e + (<usize>((t00 + 8) * tap) << 2), n), loadN(e + (<usize>((t00 + 10) * tap) << 2), n), db + (<usize>h << 4), ks);
        }
      }
    }
  }
}

// ---- backward-input ----

// dx += conv4x4s2^T(dy, w): per phase its 25 matrices, then every 8x8 dx block's 4x4 pixels of the phase.
export function winograd_s2f4_backward_input(dx: usize, dy: usize, w: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldx: i32, ldy: i32): void {
  const OH = outDim(H), OW = outDim(W);
  if (N <= 0 || OH <= 0 || OW <= 0 || C <= 0 || OC <= 0) return;
  const TI = (H + 7) >> 3, TJ = (W + 7) >> 3, T = N * TI * TJ;
  const Ci = c4(C), Co = c4(OC), O4 = OC & ~3;
  const RC = chunk(T, Co, Ci);
  const zero = scratch;
  const U = fl(zero, al(c4(max(C, OC))));
  const V = fl(U, al(NK * matrixStride(OC, C)));
  const M = fl(V, al(NK * posStride(RC * Co)));
  const ind = fl(M, al(NK * posStride(RC * Ci)));
  const outp = fl(ind, al(RC));
  const ptr = fl(outp, al(RC));
  const tmp = fl(ptr, al(PTR));
  memory.fill(zero, 0, <usize>c4(max(C, OC)) << 2);
  const vk = <usize>posStride(RC * Co) << 2, mk = <usize>posStride(RC * Ci) << 2, us = matrixStride(OC, C);
  rowTables(ind, V, Co, outp, M, Ci, RC);
  const rowB = <usize>W * ldx << 2;
  for (let ph = 0; ph < 4; ph++) {
    const pr = ph >> 1, pc = ph & 1;
    bwdWeights(U, w, C, OC, pr, pc);
    for (let t0 = 0; t0 < T; t0 += RC) {
      const R = min(RC, T - t0);
      // V[k][r][oc] = (B^T d B)[k], d the 5x5 dy patch at rows 4ti - pr .., columns 4tj - pc ..
      for (let r = 0; r < R; r++) {
        const t = t0 + r;
        const n = t / (TI * TJ), q = t - n * TI * TJ, ti = q / TJ, tj = q - ti * TJ;
        for (let i = 0; i < 5; i++) {
          const oh = 4 * ti - pr + i;
          for (let j = 0; j < 5; j++) {
            const ow = 4 * tj - pc + j;
            store<u32>(ptr + (<usize>(i * 5 + j) << 2), <u32>(oh >= 0 && oh < OH && ow >= 0 && ow < OW ? fl(dy, ((n * OH + oh) * OW + ow) * ldy) : zero));
          }
        }
        const vr = fl(V, r * Co);
        for (let c = 0; c < O4; c += 4) inputs25(ptr, 5, 1, <usize>c << 2, tmp, vr + (<usize>c << 2), vk);
        if (O4 < OC) inputs25(tailPtrs(ptr, 25, O4, OC, tmp + 1600), 5, 1, 0, tmp, vr + (<usize>O4 << 2), vk);
      }
      for (let k = 0; k < NK; k++) {
        igemm_4x8(R, 1, OC, ind, outp, <usize>k * mk, fl(U, k * us), 32, <usize>OC << 5, C, 0, 0, zero, <usize>k * vk);
      }
      // dx += A^T M A at rows 8ti + 1 - pr + 2i, columns 8tj + 1 - pc + 2j
      for (let r = 0; r < R; r++) {
        const t = t0 + r;
        const n = t / (TI * TJ), q = t - n * TI * TJ, ti = q / TJ, tj = q - ti * TJ;
        const h0 = 8 * ti + 1 - pr, w0 = 8 * tj + 1 - pc;
        const nr = min(4, (H - h0 + 1) >> 1), nq = min(4, (W - w0 + 1) >> 1);
        if (nr <= 0 || nq <= 0) continue;
        const p0 = fl(dx, ((n * H + h0) * W + w0) * ldx);
        const mr = fl(M, r * Ci);
        for (let c = 0; c < C; c += 4) {
          const cb = <usize>c << 2, nc = min(4, C - c);
          outputs16(mr + cb, mk, tmp);
          for (let i = 0; i < nr; i++) for (let j = 0; j < nq; j++) {
            put(p0 + <usize>(2 * i) * rowB + (<usize>(2 * j * ldx) << 2) + cb, v128.load(tmp + (<usize>(4 * i + j) << 4)), nc, true);
          }
        }
      }
    }
  }
}

// U[k] of phase (pr, pc) for backward-input: panels 8-wide over c (c8(C) / 8 of them), OC rows:
// (G g' G^T)[k] with g'[a][b] = w[2(1 - a) + pr][2(1 - b) + pc][c][oc]; padding columns zero. Per 4 oc of one c the
// 25 values, then stored one float a lane into the 8-wide panels.
function bwdWeights(U: usize, w: usize, C: i32, OC: i32, pr: i32, pc: i32): void {
  const us = <usize>matrixStride(OC, C) << 2, tap = C * OC;
  if (C & 7) memory.fill(U, 0, <usize>NK * us);
  const t00 = (2 + pr) * 4 + 2 + pc; // g'[0][0]; g'[0][1] = t00 - 2, g'[1][0] = t00 - 8, g'[1][1] = t00 - 10
  for (let c = 0; c < C; c++) {
    const col = fl(U, (c >> 3) * OC * 8 + (c & 7));
    for (let o = 0; o < OC; o += 4) {
      const n = min(4, OC - o), e = fl(w, c * OC + o);
      const g00 = loadN(e + (<usize>(t00 * tap) << 2), n), g01 = loadN(e + (<usize>((t00 - 2) * tap) << 2), n);
      const g10 = loadN(e + (<usize>((t00 - 8) * tap) << 2), n), g11 = loadN(e + (<usize>((t00 - 10) * tap) << 2), n);
      for (let i = 0; i < 5; i++) {
        const h0 = g5(i, g00, g10), h1 = g5(i, g01, g11);
        for (let j = 0; j < 5; j++) {
          const v = g5(j, h0, h1), d = col + <usize>(5 * i + j) * us + (<usize>(o * 8) << 2);
          store<f32>(d, f32x4.extract_lane(v, 0));
          if (n > 1) store<f32>(d, f32x4.extract_lane(v, 1), 32);
          if (n > 2) store<f32>(d, f32x4.extract_lane(v, 2), 64);
          if (n > 3) store<f32>(d, f32x4.extract_lane(v, 3), 96);
        }
      }
    }
  }
}

// ---- backward-weight ----

// dw[kh][kw][c][oc] += sum over output pixels of x[tap pixel][c] dy[pixel][oc]; db[oc] += sum dy. By groups of output
// channels (og), each group's dU summed over all tiles before it goes into dw (a group redoes the input transform).
export function winograd_s2f4_backward_weight(dw: usize, db: usize, dy: usize, x: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  const OH = outDim(H), OW = outDim(W);
  if (N <= 0 || OH <= 0 || OW <= 0 || OC <= 0) return;
  if (db != 0) bias_backward(db, dy, N * OH * OW, OC, ldy);
  if (C <= 0) return;
  const TH = (OH + 3) >> 2, TW = (OW + 3) >> 2, T = N * TH * TW;
  const Ci = c4(C), K = 4 * Ci, G = og(K, OC), Go = c4(G);
  const RC = chunk(T, K, Go);
  const zero = scratch;
  const dU = fl(zero, al(c4(max(C, OC))));
  const V = fl(dU, al(NK * K * G));
  const Md = fl(V, al(NK * posStride(RC * K)));
  const aptr = fl(Md, al(NK * posStride(RC * Go)));
  const ap = fl(aptr, al(RC));
  const bp = fl(ap, al(NK * K * RC));
  const ptr = fl(bp, al(c8(G) * RC));
  const tmp = fl(ptr, al(PTR));
  memory.fill(zero, 0, <usize>c4(max(C, OC)) << 2);
  const vk = <usize>posStride(RC * K) << 2, mk = <usize>posStride(RC * Go) << 2, ak = (<usize>K * RC) << 2;
  for (let o0 = 0; o0 < OC; o0 += G) {
    const no = min(G, OC - o0), n4 = no & ~3;
    memory.fill(dU, 0, (<usize>NK * K * no) << 2);
    for (let t0 = 0; t0 < T; t0 += RC) {
      const R = min(RC, T - t0);
      inputTransform(V, vk, Ci, x, ldx, zero, ptr, tmp, t0, R, H, W, TH, TW, C);
      for (let k = 0; k < NK; k++) {
        for (let q = 0; q < R; q++) store<u32>(aptr + (<usize>q << 2), <u32>(V + <usize>k * vk + ((<usize>q * K) << 2)));
        pack_a4(ap + <usize>k * ak, aptr, R, K);
      }
      // Md[k][r] = (A dY A^T)[k], dY the tile's 4x4 dy (zero outside)
      for (let r = 0; r < R; r++) {
        patchPtrs(ptr, t0 + r, dy + (<usize>o0 << 2), ldy, zero, OH, OW, TH, TW, 4, 4, 0);
        const mr = fl(Md, r * Go);
        for (let c = 0; c < n4; c += 4) dyTile(ptr, <usize>c << 2, tmp, mr + (<usize>c << 2), mk);
        if (n4 < no) dyTile(tailPtrs(ptr, 16, n4, no, tmp + 1600), 0, tmp, mr + (<usize>n4 << 2), mk);
      }
      for (let k = 0; k < NK; k++) {
        pack_panels(bp, Md + <usize>k * mk, R, no, Go);
        gemm_ap_4x8(K, R, ap + <usize>k * ak, bp, no, fl(dU, k * K * no), no);
      }
    }
    dwFromDU(dw + (<usize>o0 << 2), dU, C, Ci, OC, no);
  }
}

// A d of the 4 values d0 .. d3 (A = (A^T)^T, 5x4): d0, d0 + d1 + d2 + d3, d0 - d1 + d2 - d3, d0 + 2 d1 + 4 d2 + 8 d3, d3;
// at o, o + step, ..
// @ts-ignore: decorator
@inline function a5(d0: v128, d1: v128, d2: v128, d3: v128, o: usize, step: usize): void {
  const e = f32x4.add(d0, d2), f = f32x4.add(d1, d3);
  v128.store(o, d0);
  v128.store(o + step, f32x4.add(e, f));
  v128.store(o + 2 * step, f32x4.sub(e, f));
  const d2x4 = f32x4.mul(d2, f32x4.splat(4)), d3x8 = f32x4.mul(d3, f32x4.splat(8));
  v128.store(o + 3 * step, f32x4.add(f32x4.add(d0, f32x4.add(d1, d1)), f32x4.add(d2x4, d3x8)));
  v128.store(o + 4 * step, d3);
}

// Md[k] (5x5) = A dY A^T for 4 channels, dY[i][j] at (u32 at ptr + (4i + j) 4) + cb: rows into tmp, then columns.
// @ts-ignore: decorator
@inline function dyTile(ptr: usize, cb: usize, tmp: usize, dst: usize, mk: usize): void {
  for (let i = 0; i < 4; i++) {
    const q = ptr + (<usize>(4 * i) << 2);
    a5(v128.load(<usize>load<u32>(q) + cb), v128.load(<usize>load<u32>(q, 4) + cb), v128.load(<usize>load<u32>(q, 8) + cb),
      v128.load(<usize>load<u32>(q, 12) + cb), tmp + <usize>(80 * i), 16);
  }
  for (let s = 0; s < 5; s++) {
    const t = tmp + (<usize>s << 4);
    a5(v128.load(t), v128.load(t, 80), v128.load(t, 160), v128.load(t, 240), dst + <usize>s * mk, 5 * mk);
  }
}

// dw[2a + pr][2b + pc][c][0 .. no) += (G^T dU G)[a][b] per phase (dw's rows OC floats apart, dU's no).
function dwFromDU(dw: usize, dU: usize, C: i32, Ci: i32, OC: i32, no: i32): void {
  const K = 4 * Ci, ks = <usize>(K * no) << 2, tap = C * OC;
  for (let ph = 0; ph < 4; ph++) {
    const t00 = (ph >> 1) * 4 + (ph & 1);
    for (let c = 0; c < C; c++) {
      const u = fl(dU, (ph * Ci + c) * no), d = fl(dw, c * OC);
      for (let o = 0; o < no; o += 4) {
        const ob = <usize>o << 2, n = min(4, no - o);
        // h[a][j] = sum_i G[i][a] dU[5i + j]; then dw[a][b] = sum_j G[j][b] h[a][j]
        let s00 = f32x4.splat(0), s01 = f32x4.splat(0), s10 = f32x4.splat(0), s11 = f32x4.splat(0);
        for (let j = 0; j < 5; j++) {
          const u0 = loadN(u + <usize>j * ks + ob, n), u1 = loadN(u + <usize>(5 + j) * ks + ob, n), u2 = loadN(u + <usize>(10 + j) * ks + ob, n);
          const u3 = loadN(u + <usize>(15 + j) * ks + ob, n), u4 = loadN(u + <usize>(20 + j) * ks + ob, n);
          const h0 = gT(0, u0, u1, u2, u3, u4), h1 = gT(1, u0, u1, u2, u3, u4);
          const f0 = gw(j, 0), f1 = gw(j, 1);
          s00 = f32x4.add(s00, f32x4.mul(h0, f32x4.splat(f0)));
          s01 = f32x4.add(s01, f32x4.mul(h0, f32x4.splat(f1)));
          s10 = f32x4.add(s10, f32x4.mul(h1, f32x4.splat(f0)));
          s11 = f32x4.add(s11, f32x4.mul(h1, f32x4.splat(f1)));
        }
        put(fl(d, t00 * tap) + ob, s00, n, true);
        put(fl(d, (t00 + 2) * tap) + ob, s01, n, true);
        put(fl(d, (t00 + 8) * tap) + ob, s10, n, true);
        put(fl(d, (t00 + 10) * tap) + ob, s11, n, true);
      }
    }
  }
}

// G[i][a]: rows [1/2 0; -1/2 -1/2; -1/6 1/6; 1/6 1/3; 0 1]
// @ts-ignore: decorator
@inline function gw(i: i32, a: i32): f32 {
  if (i == 0) return a == 0 ? 0.5 : 0;
  if (i == 1) return -0.5;
  if (i == 2) return a == 0 ? <f32>(-1.0 / 6.0) : <f32>(1.0 / 6.0);
  if (i == 3) return a == 0 ? <f32>(1.0 / 6.0) : <f32>(1.0 / 3.0);
  return a == 0 ? 0 : 1;
}

// sum_i G[i][a] u_i
// @ts-ignore: decorator
@inline function gT(a: i32, u0: v128, u1: v128, u2: v128, u3: v128, u4: v128): v128 {
  const s = f32x4.add(f32x4.add(f32x4.mul(u0, f32x4.splat(gw(0, a))), f32x4.mul(u1, f32x4.splat(gw(1, a)))),
    f32x4.add(f32x4.mul(u2, f32x4.splat(gw(2, a))), f32x4.mul(u3, f32x4.splat(gw(3, a)))));
  return a == 0 ? s : f32x4.add(s, u4);
}
