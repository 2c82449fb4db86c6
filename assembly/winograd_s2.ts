// The 4x4 stride-2 pad-1 conv (the PatchGAN discriminators' layers) as four stride-1 2x2 convs over the input's
// even/odd phases, each by Winograd F(2x2, 2x2): forward, backward-input and backward-weight.
// x (N, H, W, C) pixel stride ldx -> y (N, OH, OW, OC) pixel stride ldy, OH = (H - 2) / 2 + 1 (H, W >= 2);
// w HWIO [4][4][C][OC] (the direct conv's weight, conv2d.ts: the same function, different rounding); b [OC].
// Backward passes accumulate.
//
// Rows (columns alike): y[o] = x[2o-1] w0 + x[2o] w1 + x[2o+1] w2 + x[2o+2] w3 = e[o] w0 + e[o+1] w2 +
// f[o] w1 + f[o+1] w3 with e[m] = x[2m-1], f[m] = x[2m]: two 2-tap convs, phase p = 0 (e, taps 0, 2) and
// p = 1 (f, taps 1, 3). A 2x2 output tile (rows 2ti, 2ti+1) reads the 6x6 input patch at rows 4ti-1 .. 4ti+4;
// its rows p, p+2, p+4 are phase p's 3 inputs. F(2, 2): y0 = d0 g0 + d1 g1, y1 = d1 g0 + d2 g1 as
//   m = (G g) (.) (B^T d), y = A^T m,  B^T = [1 -1 0; 0 1 0; 0 -1 1], G = [1 0; 1 1; 0 1], A^T = [1 1 0; 0 1 1]
// (no fractions: the transforms are exact sums). In 2-D per tile: 9 positions k, and at each one GEMM over
// K = the 4 phases' channels (4 * c4(C)): 36 MACs per output tile and channel pair instead of 64 (1.78x fewer).
// backward-input: de[m] = dy[m-1] w2 + dy[m] w0, df[m] = dy[m-1] w3 + dy[m] w1, the same F(2, 2) with
// g' = (w[2 + p], w[p]) on 3 dy rows, each phase on tiles aligned to its own dx rows (winograd_blocks.ts): 36 MACs
// per 4x4 dx block and channel pair at each of the four phases' GEMMs [tiles x OC] x [OC x c4(C)].
// backward-weight: dU[k] = sum_tiles V[k]^T (A dY)[k] (M = 4 * c4(C) rows), dw += G^T dU G per phase.
// Tiles go in chunks of RC (see winograd.ts). Everything temporary lives in `scratch` (winograd_s2_scratch_size).
import { bias_backward } from './conv_bias';
import { gemm_ap_4x8, igemm_4x8, pack_a4, pack_panels } from './gemm';
import { blocks_scratch_size, blocks_weights_size, chunk, loadN, outTile, phase_blocks, tr3 } from './winograd_blocks';
import { matrixStride, patchPtrs, posStride, rowTables, storeTransposed4, tailPtrs } from './winograd_tiles';

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
// forward / backward-weight tiles: 2x2 output pixels each
// @ts-ignore: decorator
@inline function fwdTiles(N: i32, H: i32, W: i32): i32 { return N * ((outDim(H) + 1) >> 1) * ((outDim(W) + 1) >> 1); }

const PTR: i32 = 48; // u32 pointer table (36 used)
const TMP: i32 = 36 * 4 + 36 + 4 * 9 * 4; // tail vectors + their pointers; or 4 x 9 transformed weight vectors

// Output channels per group in the forward and backward-weight: a group's transformed weights (9 K og floats, or
// their gradients) stay within 4 MiB, so the scratch these passes touch does not grow with C OC (256 -> 512 channels
// would take 18.9 MiB at once, and batch-1 training on 2 workers is within 1% of its memory target).
const UQ: i32 = 1 << 20;
// @ts-ignore: decorator
@inline function og(K: i32, OC: i32): i32 { return 9 * K * c8(OC) <= UQ ? OC : max(8, (UQ / (9 * K)) & ~7); }

function fwdSize(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 {
  const K = 4 * c4(C), G = og(K, OC), RC = chunk(fwdTiles(N, H, W), K, c4(G));
  return al(c4(max(C, OC))) + al(9 * matrixStride(K, G)) + al(9 * posStride(RC * K)) + al(9 * posStride(RC * c4(G))) + 2 * al(RC) + al(PTR) + al(TMP);
}
function bwdInSize(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 {
  return al(blocks_weights_size(C, OC)) + blocks_scratch_size(N, H, W, C, OC);
}
// backward-weight: groups (og) only where all tiles fit one chunk, which then transforms and packs x once for all
// groups and sums each group's dU whole before the next; over several chunks each group would redo them (0.8x
// at 32 tiles of 8x8x512 -> 512), so dU is whole there.
// @ts-ignore: decorator
@inline function bwdWGroup(T: i32, K: i32, OC: i32): i32 { return T <= chunk(T, K, c4(og(K, OC))) ? og(K, OC) : OC; }
function bwdWSize(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 {
  const T = fwdTiles(N, H, W), K = 4 * c4(C), G = bwdWGroup(T, K, OC), RC = chunk(T, K, c4(G));
  return al(c4(max(C, OC))) + al(9 * K * G) + al(9 * posStride(RC * K)) + al(9 * posStride(RC * c4(G))) + al(RC) + al(9 * K * RC) + al(c8(G) * RC) + al(PTR) + al(TMP);
}

// Floats of scratch the forward alone needs (inference).
export function winograd_s2_forward_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 {
  return fwdSize(N, H, W, C, OC);
}

// Floats of scratch each backward pass alone needs (a layer asks only for the passes it runs Winograd in).
export function winograd_s2_backward_input_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 {
  return bwdInSize(N, H, W, C, OC);
}
export function winograd_s2_backward_weight_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 {
  return bwdWSize(N, H, W, C, OC);
}

// Floats of scratch any of the three passes needs for this shape.
export function winograd_s2_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 {
  return max(fwdSize(N, H, W, C, OC), max(bwdInSize(N, H, W, C, OC), bwdWSize(N, H, W, C, OC)));
}

// ---- transforms shared by the passes ----

// V[k][r][ph*Ci + c] = (B^T d_ph B)[k] for forward tiles t0 + r, phase ph = 2pr + pc: d_ph[i][j] = patch[pr + 2i][pc + 2j].
function inputTransform(V: usize, vk: usize, Ci: i32, x: usize, ldx: i32, zero: usize, ptr: usize, tmp: usize,
  t0: i32, R: i32, H: i32, W: i32, TH: i32, TW: i32, C: i32): void {
  const C4 = C & ~3;
  for (let r = 0; r < R; r++) {
    patchPtrs(ptr, t0 + r, x, ldx, zero, H, W, TH, TW, 6, 4); // rows 4ti-1 .. 4ti+4
    const vr = fl(V, r * 4 * Ci);
    for (let ph = 0; ph < 4; ph++) {
      const pb = ptr + (<usize>((ph >> 1) * 6 + (ph & 1)) << 2);
      const vp = fl(vr, ph * Ci);
      for (let c = 0; c < C4; c += 4) tr3(pb, 48, 8, <usize>c << 2, vp + (<usize>c << 2), vk);
    }
    if (C4 < C) {
      const t2 = tailPtrs(ptr, 36, C4, C, tmp);
      for (let ph = 0; ph < 4; ph++) {
        tr3(t2 + (<usize>((ph >> 1) * 6 + (ph & 1)) << 2), 48, 8, 0, fl(vr, ph * Ci + C4), vk);
      }
    }
  }
}

// ---- forward ----

// y = conv4x4s2(x, w) + b, overwriting y's slice; by groups of output channels (og), each on its own U.
export function winograd_s2_forward(y: usize, x: usize, w: usize, b: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  const OH = outDim(H), OW = outDim(W);
  if (N <= 0 || OH <= 0 || OW <= 0 || OC <= 0) return;
  const TH = (OH + 1) >> 1, TW = (OW + 1) >> 1, T = N * TH * TW;
  const Ci = c4(C), K = 4 * Ci, G = og(K, OC), Go = c4(G);
  const RC = chunk(T, K, Go);
  const zero = scratch;
  const U = fl(zero, al(c4(max(C, OC))));
  const V = fl(U, al(9 * matrixStride(K, G)));
  const M = fl(V, al(9 * posStride(RC * K)));
  const ind = fl(M, al(9 * posStride(RC * Go)));
  const outp = fl(ind, al(RC));
  const ptr = fl(outp, al(RC));
  const tmp = fl(ptr, al(PTR));
  memory.fill(zero, 0, <usize>c4(max(C, OC)) << 2);
  const vk = <usize>posStride(RC * K) << 2, mk = <usize>posStride(RC * Go) << 2;
  rowTables(ind, V, K, outp, M, Go, RC);
  for (let o0 = 0; o0 < OC; o0 += G) {
    const no = min(G, OC - o0);
    fwdWeights(U, w, C, Ci, OC, o0, no);
    for (let t0 = 0; t0 < T; t0 += RC) {
      const R = min(RC, T - t0);
      if (C > 0) {
        inputTransform(V, vk, Ci, x, ldx, zero, ptr, tmp, t0, R, H, W, TH, TW, C);
        for (let k = 0; k < 9; k++) {
          igemm_4x8(R, 1, K, ind, outp, <usize>k * mk, fl(U, k * matrixStride(K, no)), 32, <usize>K << 5, no, 0, 0, zero, <usize>k * vk);
        }
      } else {
        memory.fill(M, 0, <usize>9 * mk);
      }
      // y = A^T M A (+ b), 4 channels at a time
      for (let r = 0; r < R; r++) {
        const t = t0 + r;
        const n = t / (TH * TW), q = t - n * TH * TW, ti = q / TW, tj = q - ti * TW;
        const oh = 2 * ti, ow = 2 * tj;
        const okR = oh + 1 < OH, okC = ow + 1 < OW;
        const y00 = fl(y, ((n * OH + oh) * OW + ow) * ldy + o0);
        const y01 = fl(y00, ldy), y10 = fl(y00, OW * ldy), y11 = fl(y10, ldy);
        const mr = fl(M, r * Go);
        for (let c = 0; c < no; c += 4) {
          const cb = <usize>c << 2, nc = min(4, no - c);
          const bv = b != 0 ? loadN(b + (<usize>o0 << 2) + cb, nc) : f32x4.splat(0);
          outTile(mr + cb, mk, bv, y00 + cb, y01 + cb, y10 + cb, y11 + cb, okR, okC, nc, false);
        }
      }
    }
  }
}

// U[k] panels (8-wide over oc, K = 4*Ci rows) of w's output channels oc0 .. oc0 + OC - 1 (w holds OCw): row ph*Ci
// + c = (G g G^T)[k], g[a][b] = w[2a + pr][2b + pc][c][oc];
// rows of the channel padding and columns past OC stay zero. Panel by panel: the 9 destinations then advance 32
// bytes per channel (9 sequential write streams); c outermost scattered each channel's stores over 9 * OC / 8
// lines 32 KiB apart: 18.8 ms for 256 -> 512 channels, about 2 ms now (TLB and write-allocate misses).
function fwdWeights(U: usize, w: usize, C: i32, Ci: i32, OCw: i32, oc0: i32, OC: i32): void {
  const K = 4 * Ci, NP = (OC + 7) >> 3;
  if (Ci != C || (OC & 7) != 0) memory.fill(U, 0, (<usize>9 * matrixStride(K, OC)) << 2);
  const tap = C * OCw, ks = <usize>matrixStride(K, OC) << 2;
  for (let j = 0; j < NP; j++) {
    const o0 = j << 3, n = min(8, OC - o0);
    for (let ph = 0; ph < 4; ph++) {
      const pr = ph >> 1, pc = ph & 1;
      const t00 = pr * 4 + pc, t01 = t00 + 2, t10 = t00 + 8, t11 = t00 + 10;
      for (let c = 0; c < C; c++) {
        const rowK = ph * Ci + c;
        const db = fl(U, (j * K + rowK) * 8);
        let o = 0;
        for (; o + 4 <= n; o += 4) {
          const e = c * OCw + oc0 + o0 + o;
          const g00 = v128.load(fl(w, t00 * tap + e)), g01 = v128.load(fl(w, t01 * tap + e));
          const g10 = v128.load(fl(w, t10 * tap + e)), g11 = v128.load(fl(w, t11 * tap + e));
          const d = db + (<usize>o << 2);
          // h = G g: rows g0, g0 + g1, g1; then the same on columns
          const h10 = f32x4.add(g00, g10), h11 = f32x4.add(g01, g11);
          v128.store(d, g00); v128.store(d + ks, f32x4.add(g00, g01)); v128.store(d + 2 * ks, g01);
          v128.store(d + 3 * ks, h10); v128.store(d + 4 * ks, f32x4.add(h10, h11)); v128.store(d + 5 * ks, h11);
          v128.store(d + 6 * ks, g10); v128.store(d + 7 * ks, f32x4.add(g10, g11)); v128.store(d + 8 * ks, g11);
        }
        for (; o < n; o++) {
          const e = c * OCw + oc0 + o0 + o;
          const g00 = load<f32>(fl(w, t00 * tap + e)), g01 = load<f32>(fl(w, t01 * tap + e));
          const g10 = load<f32>(fl(w, t10 * tap + e)), g11 = load<f32>(fl(w, t11 * tap + e));
          const d = db + (<usize>o << 2);
          const h10 = g00 + g10, h11 = g01 + g11;
          store<f32>(d, g00); store<f32>(d + ks, g00 + g01); store<f32>(d + 2 * ks, g01);
          store<f32>(d + 3 * ks, h10); store<f32>(d + 4 * ks, h10 + h11); store<f32>(d + 5 * ks, h11);
          store<f32>(d + 6 * ks, g10); store<f32>(d + 7 * ks, g10 + g11); store<f32>(d + 8 * ks, g11);
        }
      }
    }
  }
}

// ---- backward-input ----

// dx += conv4x4s2^T(dy, w), by 4x4 dx blocks (winograd_blocks.ts) on the transformed weights U.
export function winograd_s2_backward_input(dx: usize, dy: usize, w: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldx: i32, ldy: i32): void {
  if (N <= 0 || outDim(H) <= 0 || outDim(W) <= 0 || C <= 0 || OC <= 0) return;
  const U = scratch, tmp = fl(U, al(blocks_weights_size(C, OC)));
  bwdWeights(U, w, C, OC, tmp);
  phase_blocks(dx, dy, U, tmp, N, H, W, C, OC, ldx, ldy);
}

// U[k] panels for backward-input (per phase ph, c8(C) / 8 panels 8-wide over c, OC rows; winograd_blocks.ts):
// (G g' G^T)[k] with g'[a][b] = w[2(1-a) + pr][2(1-b) + pc][c][oc]; padding columns zero. 4 x 4 blocks (4 oc per
// vector, 4 c transposed in registers: each panel row one store), oc inner so the 9 destinations advance in
// order; tails one pair at a time.
function bwdWeights(U: usize, w: usize, C: i32, OC: i32, tmp: usize): void {
  const NPc = (C + 7) >> 3;
  if (C & 7) memory.fill(U, 0, (<usize>9 * posStride(4 * NPc * 8 * OC)) << 2);
  const tap = C * OC, ks = <usize>posStride(4 * NPc * 8 * OC) << 2;
  const C4 = C & ~3, O4 = OC & ~3;
  for (let ph = 0; ph < 4; ph++) {
    const pr = ph >> 1, pc = ph & 1;
    // g'[0][0] = w[2 + pr][2 + pc], g'[0][1] = w[2 + pr][pc], g'[1][0] = w[pr][2 + pc], g'[1][1] = w[pr][pc]
    const t00 = (2 + pr) * 4 + 2 + pc, t01 = t00 - 2, t10 = t00 - 8, t11 = t00 - 10;
    for (let c = 0; c < C4; c += 4) {
      for (let o = 0; o < O4; o += 4) {
        for (let l = 0; l < 4; l++) {
          const e = (c + l) * OC + o;
          const g00 = v128.load(fl(w, t00 * tap + e)), g01 = v128.load(fl(w, t01 * tap + e));
          const g10 = v128.load(fl(w, t10 * tap + e)), g11 = v128.load(fl(w, t11 * tap + e));
          const d = tmp + (<usize>(l * 9) << 4);
          const h10 = f32x4.add(g00, g10), h11 = f32x4.add(g01, g11);
          v128.store(d, g00); v128.store(d, f32x4.add(g00, g01), 16); v128.store(d, g01, 32);
          v128.store(d, h10, 48); v128.store(d, f32x4.add(h10, h11), 64); v128.store(d, h11, 80);
          v128.store(d, g10, 96); v128.store(d, f32x4.add(g10, g11), 112); v128.store(d, g11, 128);
        }
        const base = fl(U, ((ph * NPc + (c >> 3)) * OC + o) * 8 + (c & 7));
        for (let k = 0; k < 9; k++) storeTransposed4(tmp + (<usize>k << 4), 144, base + <usize>k * ks);
      }
    }
    for (let c = 0; c < C; c++) for (let o = c < C4 ? O4 : 0; o < OC; o++) {
      const e = c * OC + o;
      const g00 = load<f32>(fl(w, t00 * tap + e)), g01 = load<f32>(fl(w, t01 * tap + e));
      const g10 = load<f32>(fl(w, t10 * tap + e)), g11 = load<f32>(fl(w, t11 * tap + e));
      const d = fl(U, ((ph * NPc + (c >> 3)) * OC + o) * 8 + (c & 7));
      const h10 = g00 + g10, h11 = g01 + g11;
      store<f32>(d, g00); store<f32>(d + ks, g00 + g01); store<f32>(d + 2 * ks, g01);
      store<f32>(d + 3 * ks, h10); store<f32>(d + 4 * ks, h10 + h11); store<f32>(d + 5 * ks, h11);
      store<f32>(d + 6 * ks, g10); store<f32>(d + 7 * ks, g10 + g11); store<f32>(d + 8 * ks, g11);
    }
  }
}

// ---- backward-weight ----

// dw[kh][kw][c][oc] += sum over output pixels of x[tap pixel][c] * dy[pixel][oc]; db[oc] += sum dy. In groups of
// output channels where all tiles fit one chunk (bwdWGroup): each group's dU is whole before it goes into dw.
export function winograd_s2_backward_weight(dw: usize, db: usize, dy: usize, x: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  const OH = outDim(H), OW = outDim(W);
  if (N <= 0 || OH <= 0 || OW <= 0 || OC <= 0) return;
  if (db != 0) bias_backward(db, dy, N * OH * OW, OC, ldy);
  if (C <= 0) return;
  const TH = (OH + 1) >> 1, TW = (OW + 1) >> 1, T = N * TH * TW;
  const Ci = c4(C), K = 4 * Ci, G = bwdWGroup(T, K, OC), Go = c4(G);
  const RC = chunk(T, K, Go);
  const zero = scratch;
  const dU = fl(zero, al(c4(max(C, OC))));
  const V = fl(dU, al(9 * K * G));
  const Md = fl(V, al(9 * posStride(RC * K)));
  const aptr = fl(Md, al(9 * posStride(RC * Go)));
  const ap = fl(aptr, al(RC));
  const bp = fl(ap, al(9 * K * RC));
  const ptr = fl(bp, al(c8(G) * RC));
  const tmp = fl(ptr, al(PTR));
  memory.fill(zero, 0, <usize>c4(max(C, OC)) << 2);
  const vk = <usize>posStride(RC * K) << 2, mk = <usize>posStride(RC * Go) << 2, ak = (<usize>K * RC) << 2;
  if (G == OC) memory.fill(dU, 0, (<usize>9 * K * OC) << 2);
  for (let t0 = 0; t0 < T; t0 += RC) {
    const R = min(RC, T - t0);
    inputTransform(V, vk, Ci, x, ldx, zero, ptr, tmp, t0, R, H, W, TH, TW, C);
    for (let k = 0; k < 9; k++) {
      for (let q = 0; q < R; q++) store<u32>(aptr + (<usize>q << 2), <u32>(V + <usize>k * vk + ((<usize>q * K) << 2)));
      pack_a4(ap + <usize>k * ak, aptr, R, K);
    }
    for (let o0 = 0; o0 < OC; o0 += G) {
      const no = min(G, OC - o0), n4 = no & ~3;
      if (G < OC) memory.fill(dU, 0, (<usize>9 * K * no) << 2);
      // Md[k][r] = (A dY A^T)[k], dY the tile's 2x2 dy (zero outside), A = [1 0; 1 1; 0 1]
      for (let r = 0; r < R; r++) {
        patchPtrs(ptr, t0 + r, dy + (<usize>o0 << 2), ldy, zero, OH, OW, TH, TW, 2, 2, 0); // the tile's 2x2 dy pixels
        const mr = fl(Md, r * Go);
        for (let c = 0; c < n4; c += 4) dyTile(ptr, <usize>c << 2, mr + (<usize>c << 2), mk);
        if (n4 < no) dyTile(tailPtrs(ptr, 4, n4, no, tmp), 0, mr + (<usize>n4 << 2), mk);
      }
      for (let k = 0; k < 9; k++) {
        pack_panels(bp, Md + <usize>k * mk, R, no, Go);
        gemm_ap_4x8(K, R, ap + <usize>k * ak, bp, no, fl(dU, k * K * no), no);
      }
      if (G < OC) dwFromDU(dw + (<usize>o0 << 2), dU, C, Ci, OC, no);
    }
  }
  if (G == OC) dwFromDU(dw, dU, C, Ci, OC, OC);
}

// dw[.][.][c][0 .. no) += G^T dU G per phase (dw's rows OC floats apart, dU's no): rows h0 = u0 + u1, h1 = u1 + u2
// (rows of the 3x3 u), then the same on columns.
function dwFromDU(dw: usize, dU: usize, C: i32, Ci: i32, OC: i32, no: i32): void {
  const K = 4 * Ci, ks = <usize>(K * no) << 2, tap = C * OC;
  for (let ph = 0; ph < 4; ph++) {
    const pr = ph >> 1, pc = ph & 1;
    const t00 = pr * 4 + pc;
    for (let c = 0; c < C; c++) {
      const u = fl(dU, (ph * Ci + c) * no);
      const d = fl(dw, c * OC);
      let o = 0;
      for (; o + 4 <= no; o += 4) {
        const ob = <usize>o << 2;
        const u0 = v128.load(u + ob), u1 = v128.load(u + ks + ob), u2 = v128.load(u + 2 * ks + ob);
        const u3 = v128.load(u + 3 * ks + ob), u4 = v128.load(u + 4 * ks + ob), u5 = v128.load(u + 5 * ks + ob);
        const u6 = v128.load(u + 6 * ks + ob), u7 = v128.load(u + 7 * ks + ob), u8 = v128.load(u + 8 * ks + ob);
        const h00 = f32x4.add(u0, u3), h01 = f32x4.add(u1, u4), h02 = f32x4.add(u2, u5);
        const h10 = f32x4.add(u3, u6), h11 = f32x4.add(u4, u7), h12 = f32x4.add(u5, u8);
        addv(fl(d, t00 * tap) + ob, f32x4.add(h00, h01));
        addv(fl(d, (t00 + 2) * tap) + ob, f32x4.add(h01, h02));
        addv(fl(d, (t00 + 8) * tap) + ob, f32x4.add(h10, h11));
        addv(fl(d, (t00 + 10) * tap) + ob, f32x4.add(h11, h12));
      }
      for (; o < no; o++) {
        const ob = <usize>o << 2;
        const u0 = load<f32>(u + ob), u1 = load<f32>(u + ks + ob), u2 = load<f32>(u + 2 * ks + ob);
        const u3 = load<f32>(u + 3 * ks + ob), u4 = load<f32>(u + 4 * ks + ob), u5 = load<f32>(u + 5 * ks + ob);
        const u6 = load<f32>(u + 6 * ks + ob), u7 = load<f32>(u + 7 * ks + ob), u8 = load<f32>(u + 8 * ks + ob);
        const h00 = u0 + u3, h01 = u1 + u4, h02 = u2 + u5, h10 = u3 + u6, h11 = u4 + u7, h12 = u5 + u8;
        adds(fl(d, t00 * tap) + ob, h00 + h01);
        adds(fl(d, (t00 + 2) * tap) + ob, h01 + h02);
        adds(fl(d, (t00 + 8) * tap) + ob, h10 + h11);
        adds(fl(d, (t00 + 10) * tap) + ob, h11 + h12);
      }
    }
  }
}

// @ts-ignore: decorator
@inline function addv(p: usize, v: v128): void { v128.store(p, f32x4.add(v128.load(p), v)); }
// @ts-ignore: decorator
@inline function adds(p: usize, v: f32): void { store<f32>(p, load<f32>(p) + v); }

// Md[k] (3x3) = A dY A^T for 4 channels, dY = [a b; c d] from ptr[0..4) + cb: rows (p, p + q, q) of rows, then columns.
// @ts-ignore: decorator
@inline function dyTile(ptr: usize, cb: usize, dst: usize, mk: usize): void {
  const a = v128.load(<usize>load<u32>(ptr) + cb), b = v128.load(<usize>load<u32>(ptr, 4) + cb);
  const c = v128.load(<usize>load<u32>(ptr, 8) + cb), d = v128.load(<usize>load<u32>(ptr, 12) + cb);
  dyRow(dst, mk, 0, a, b);
  dyRow(dst, mk, 3, f32x4.add(a, c), f32x4.add(b, d));
  dyRow(dst, mk, 6, c, d);
}

// @ts-ignore: decorator
@inline function dyRow(dst: usize, mk: usize, k0: i32, p: v128, q: v128): void {
  const o = dst + <usize>k0 * mk;
  v128.store(o, p);
  v128.store(o + mk, f32x4.add(p, q));
  v128.store(o + 2 * mk, q);
}
