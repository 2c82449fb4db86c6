// The fused nearest-upsample x2 + 3x3 stride-1 pad-1 conv (upconv.ts) with its 3x3 taps split by parity: forward,
// backward-input and backward-weight at 6.25 MACs per x pixel and channel pair, against the phases' GEMMs' 16 in the
// forward (9 with each phase by Winograd F(2x2, 2x2)) and the box sums' 9 in the backward passes.
// x (N, H, W, C) pixel stride ldx -> y (N, 2H, 2W, OC) pixel stride ldy; w HWIO [3][3][C][OC]; b [OC] (0 = none).
// The forward overwrites y; the backward passes accumulate.
//
// Why. Rows (columns alike): y[2i] = w0 x[i-1] + (w1 + w2) x[i], y[2i+1] = (w0 + w1) x[i] + w2 x[i+1] (upconv.ts).
// Keep the even taps {0, 2} apart from the odd tap 1:
//   E[m] = w0 x[m-1] + w2 x[m]  (m = 0 .. H, x zero outside),   P[i] = w1 x[i]  (i < H),
//   y[2i] = E[i] + P[i],  y[2i+1] = E[i+1] + P[i].
// E is a 2-tap conv, by F(2, 2) 3 products per 2 outputs; P one product per output: 2.5 per x row against the
// phases' 3 (each phase has its own summed taps, so each needs its own F(2, 2)). In 2-D the four parts EE, EP, PE,
// PP (the row part times the column part) make 2.5^2 = 6.25 per x pixel, and y[2i+a][2j+b] = EE[i+a][j+b] +
// EP[i+a][j] + PE[i][j+b] + PP[i][j].
//
// Tiles: tile (tm, tn), tm = 0 .. H/2 (floor; columns alike), owns E rows 2tm, 2tm+1 (those <= H) and P rows
// 2tm, 2tm+1 (those < H). Its E rows come from the x rows 2tm-1 .. 2tm+1 by
//   m = (G g) (.) (B^T d), E = A^T m,  B^T = [1 -1 0; 0 1 0; 0 -1 1], G = [1 0; 1 1; 0 1], A^T = [1 1 0; 0 1 1],
// g = (w0, w2) (no fractions: the transforms are exact sums). A last tile with 2tm = H owns E[H] = w0 x[H-1] alone:
// there d1 = d2 = 0, so only position 0 is computed. Per tile 25 GEMM slots (products m of one transform position and
// C-vector each):
//   EE (ki, kj) slot 3ki + kj (B^T d B of the 3x3 x patch),      EP (col j, ki) slot 9 + 3j + ki (B^T on the rows),
//   PE (row i, kj) slot 15 + 3i + kj (B on the columns),          PP (i, j) slot 21 + 2i + j (the x pixel itself),
// on 16 transformed weight matrices (sums of taps):
//   u = 3ki + kj: (G g G^T)[ki][kj] of g = w[{0, 2}][{0, 2}];  u = 9 + ki: (G g)[ki] of w[{0, 2}][1];
//   u = 12 + kj: (G g)[kj] of w[1][{0, 2}];  u = 15: w[1][1]
// (16/9 of w, as the phases' panels; F(2x2, 2x2) on the phases would need 4x w). Per u one GEMM [rows x C] x
// [C x OC] over the chunk's tiles (EP's two columns and PP's four pixels are rows of the same GEMM). The middle
// positions of EP, PE and PP read x in place. Each tile's slots then give a 5x5 block of y (rows 4tm-1 .. 4tm+3, columns alike):
//   rows from (E0, E1, P0, P1) = (m0 + m1, m1 + m2, P[2tm], P[2tm+1]):  E0, E0 + P0, E1 + P0, E1 + P1, P1,
// stored (with b) by the first tile that writes a pixel and added by the next, since neighbouring tiles share a
// row and a column of it.
import { boxSums } from './box';
import { bias_backward } from './conv_bias';
import { gemm_ap_4x8, igemm_4x8 } from './gemm';
import { startRows, storeT4 } from './simd';
import { loadN, put, tr3 } from './winograd_blocks';
import { matrixStride, patchPtrs, posStride, tailPtrs } from './winograd_tiles';

// @ts-ignore: decorator
@inline function al(n: i32): i32 { return (n + 15) & ~15; }
// @ts-ignore: decorator
@inline function c4(n: i32): i32 { return (n + 3) & ~3; }
// @ts-ignore: decorator
@inline function c8(n: i32): i32 { return (n + 7) & ~7; }
// @ts-ignore: decorator
@inline function fl(p: usize, n: i32): usize { return p + (<usize>n << 2); }

const NU: i32 = 16; // transformed weight matrices
const NV: i32 = 17; // stored transformed inputs per tile: EE 9, EP 2 x 2, PE 2 x 2 (the middle positions read x)
const NS: i32 = 25; // GEMM output slots per tile
const PTR: i32 = 16; // u32 pointer table of a tile's 3x3 x patch (9 used)
const TMP: i32 = 128; // tail vectors + their pointers (45 floats); the 5x5 block's column pass (100)

// Tiles per chunk: RC * (17 c4(C) + 25 c4(OC)) floats of V and M (about 9.4 MB), 16 .. 256.
const WQ: i32 = 2359296;
// @ts-ignore: decorator
@inline function rows(T: i32, Ci: i32, Co: i32): i32 {
  return min(min(256, max(16, (WQ / max(NV * Ci + NS * Co, 1)) & ~3)), max(T, 1));
}

// @ts-ignore: decorator
@inline function tiles(N: i32, H: i32, W: i32): i32 { return N * ((H >> 1) + 1) * ((W >> 1) + 1); }

// Floats of U for C -> OC.
export function upconv_split_packed_size(C: i32, OC: i32): i32 {
  return NU * matrixFloats(C, OC, false);
}

// Floats from one of U's 16 matrices (C x c8(OC)) to the next: none between them in upconv_split_pack's layout (the
// file format's); in U made in scratch per call each is padded (posStride): the pack writes all 16 at once, and
// unpadded they lie a power of two apart whenever C and OC are (per call 8x8x1024 -> 256 1.25-1.27x, 16x16x512 ->
// 128 1.09-1.10x).
// @ts-ignore: decorator
@inline export function matrixFloats(C: i32, OC: i32, perCall: bool): i32 { return perCall ? matrixStride(C, OC) : C * c8(OC); }

// Floats of scratch of upconv_split_forward_packed (U given).
export function upconv_split_packed_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 {
  const Ci = c4(C), Co = c4(OC), RC = rows(tiles(N, H, W), Ci, Co);
  return al(c4(max(C, OC))) + al(NV * posStride(RC * Ci)) + al(NS * posStride(RC * Co)) + 2 * al(NS * RC) + al(8 * RC) + al(RC) + al(PTR) + al(TMP);
}

// Output channels per call of the per-call forward's pack: U of a group is 16 C c8(group) floats, at most 2^20 (4 MiB)
// unless 8 channels need more. Training scratch then holds one group's U, not the layer's (up4 at 128 px: 16.8 -> 4.2
// MiB), and the input transforms run once per group (17 c4(C) floats a tile, against 6.25 C per output channel of
// GEMM). Measured on batch-1 training with 2 workers, peak RSS (the target is 0.8x PyTorch's 1,190 MiB): the whole
// layer's U 953 MiB, groups of 8 MiB 941, of 4 MiB 936; up4's per-call forward at batch 8 then takes 45.6 ms
// against 40.7 (8 MiB) and 41.3 (whole): 0.1% of the step.
// @ts-ignore: decorator
@inline export function splitGroup(C: i32, OC: i32): i32 {
  return 16 * C * c8(OC) <= 1048576 ? OC : max(8, (1048576 / max(16 * C, 1)) & ~7);
}

// Floats of scratch of upconv_split_forward (a group's U made into scratch).
export function upconv_split_forward_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 {
  const G = splitGroup(C, OC);
  return al(perCallSize(C, G)) + upconv_split_packed_scratch_size(N, H, W, C, G);
}

// U[u] = the 16 transformed weight matrices of w, 8-wide panels [c8(OCt) / 8][C][8] each, ks = C c8(OCt) floats
// apart. By 8 output channels (one panel), the oc loop outside (each U stream written in order, a line of w used
// whole over the two 4-channel halves): w holds OC output channels and
// they are U's channels c0 .. c0 + OC - 1 (c0 a multiple of 8; OC too unless c0 + OC == OCt), so a layer stored in
// chunks of output channels is packed chunk by chunk into ONE U. A tail panel writes zeros past OC.
export function upconv_split_pack(U: usize, w: usize, scratch: usize, C: i32, OC: i32, OCt: i32, c0: i32): void {
  packRange(U, <usize>matrixFloats(C, OCt, false) << 2, w, C, OC, 0, OC, OCt, c0);
}

// The 16 matrices' entries for up to 4 output channels (n lanes, zeros past them) of one input channel, from w's 9
// taps at src + k*tap: U[u] stored at d + u*step, or (flipped, the backward-input's order) at d + flip(u)*step with
// flip = 8 - u (EE), 20 - u (EP), 26 - u (PE), 15 (PP). G on the columns of rows 0, 2 (the even taps) and of row 1.
// @ts-ignore: decorator
@inline function pos(u: i32, flipped: bool): usize {
  const f: i32 = u < 9 ? 8 - u : u < 12 ? 20 - u : u < 15 ? 26 - u : 15;
  return <usize>(flipped ? f : u);
}
// @ts-ignore: decorator
@inline function tapSums(src: usize, tap: usize, n: i32, d: usize, step: usize, flipped: bool): void {
  const w00 = loadN(src, n), w01 = loadN(src + tap, n), w02 = loadN(src + 2 * tap, n);
  const w10 = loadN(src + 3 * tap, n), w11 = loadN(src + 4 * tap, n), w12 = loadN(src + 5 * tap, n);
  const w20 = loadN(src + 6 * tap, n), w21 = loadN(src + 7 * tap, n), w22 = loadN(src + 8 * tap, n);
  const a1 = f32x4.add(w00, w02), b1 = f32x4.add(w20, w22);
  v128.store(d + pos(0, flipped) * step, w00);
  v128.store(d + pos(1, flipped) * step, a1);
  v128.store(d + pos(2, flipped) * step, w02);
  v128.store(d + pos(3, flipped) * step, f32x4.add(w00, w20));
  v128.store(d + pos(4, flipped) * step, f32x4.add(a1, b1));
  v128.store(d + pos(5, flipped) * step, f32x4.add(w02, w22));
  v128.store(d + pos(6, flipped) * step, w20);
  v128.store(d + pos(7, flipped) * step, b1);
  v128.store(d + pos(8, flipped) * step, w22);
  v128.store(d + pos(9, flipped) * step, w01);
  v128.store(d + pos(10, flipped) * step, f32x4.add(w01, w21));
  v128.store(d + pos(11, flipped) * step, w21);
  v128.store(d + pos(12, flipped) * step, w10);
  v128.store(d + pos(13, flipped) * step, f32x4.add(w10, w12));
  v128.store(d + pos(14, flipped) * step, w12);
  v128.store(d + pos(15, flipped) * step, w11);
}

// upconv_split_pack of w's channels o0 .. o0 + OC - 1, w holding OCw channels, U's matrices ks bytes apart.
function packRange(U: usize, ks: usize, w: usize, C: i32, OCw: i32, o0: i32, OC: i32, OCt: i32, c0: i32): void {
  if (C <= 0 || OC <= 0) return;
  const tap = <usize>(C * OCw) << 2;
  for (let p0 = 0; p0 < OC; p0 += 8) {
    for (let c = 0; c < C; c++) {
      const d = fl(U, ((c0 + p0) >> 3) * C * 8 + c * 8);
      for (let h = 0; h < 2; h++) {
        const n = min(4, max(0, OC - p0 - 4 * h)), src = fl(w, c * OCw + o0 + p0 + 4 * h), dh = d + (<usize>h << 4);
        tapSums(src, tap, n, dh, ks, false);
      }
    }
  }
}

// A tile's patch of pointers (row-major, n per row) holds its E positions k = 0, 1, 2 at rows (columns) k*st and its
// P lines i = 0, 1 at 1 + i*st: the forward's 3x3 x patch (n = 3, st = 1: P are x rows 2tm, 2tm + 1, the middle
// and last E rows) and the backward-input's 5x5 box-sum patch (n = 5, st = 2: even rows dE, odd rows dP).
// The stored transforms for 4 channels at byte offset cb: EE's 9 (tr3) at V slots 0 .. 8, EP's d0 - d1, d2 - d1 of
// P column j at slots 9 + 2j, 10 + 2j, PE's of P row i at 13 + 2i, 14 + 2i; slot s of this tile at dst + s*vk.
// @ts-ignore: decorator
@inline function inputs(pb: usize, n: i32, st: i32, cb: usize, dst: usize, vk: usize): void {
  const rE = <usize>(st * n) << 2, cE = <usize>st << 2;
  tr3(pb, rE, cE, cb, dst, vk);
  for (let j = 0; j < 2; j++) {
    const q = pb + (<usize>(1 + j * st) << 2);
    const d0 = v128.load(<usize>load<u32>(q) + cb), d1 = v128.load(<usize>load<u32>(q + rE) + cb), d2 = v128.load(<usize>load<u32>(q + 2 * rE) + cb);
    v128.store(dst + <usize>(9 + 2 * j) * vk, f32x4.sub(d0, d1));
    v128.store(dst + <usize>(10 + 2 * j) * vk, f32x4.sub(d2, d1));
  }
  for (let i = 0; i < 2; i++) {
    const q = pb + (<usize>((1 + i * st) * n) << 2);
    const d0 = v128.load(<usize>load<u32>(q) + cb), d1 = v128.load(<usize>load<u32>(q + cE) + cb), d2 = v128.load(<usize>load<u32>(q + 2 * cE) + cb);
    v128.store(dst + <usize>(13 + 2 * i) * vk, f32x4.sub(d0, d1));
    v128.store(dst + <usize>(14 + 2 * i) * vk, f32x4.sub(d2, d1));
  }
}

// The 8 pointers of a tile that aRow reads in place, from its patch pointers pb (see inputs): the EP middles (E row
// 1, P column j), the PE middles (P row i, E column 1), then PP (i, j); stored at rp.
// @ts-ignore: decorator
@inline function rawPtrs(rp: usize, pb: usize, n: i32, st: i32): void {
  for (let j = 0; j < 2; j++) store<u32>(rp + (<usize>j << 2), ptrAt(pb, n, st, 1 + j * st));
  for (let i = 0; i < 2; i++) store<u32>(rp + (<usize>(2 + i) << 2), ptrAt(pb, n, 1 + i * st, st));
  for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) store<u32>(rp + (<usize>(4 + 2 * i + j) << 2), ptrAt(pb, n, 1 + i * st, 1 + j * st));
}

// @ts-ignore: decorator
@inline function ptrAt(pb: usize, n: i32, r: i32, c: i32): u32 { return load<u32>(pb + (<usize>(r * n + c) << 2)); }

// Tile flags: bit 0 the tile's E rows are 2 (2tm + 1 <= H, all three row positions), bits 1, 2 its P rows 2tm,
// 2tm + 1 exist; bits 3, 4, 5 the same for columns.
// @ts-ignore: decorator
@inline function rowBits(t: i32, H: i32): i32 {
  return (2 * t + 1 <= H ? 1 : 0) | (2 * t < H ? 2 : 0) | (2 * t + 1 < H ? 4 : 0);
}

// Is slot s computed for a tile with flags f.
function slotOk(s: i32, f: i32): bool {
  const eR = (f & 1) != 0, eC = (f & 8) != 0;
  if (s < 9) { const ki = s / 3, kj = s - 3 * ki; return (ki == 0 || eR) && (kj == 0 || eC); }
  if (s < 15) { const j = (s - 9) / 3, ki = s - 9 - 3 * j; return (ki == 0 || eR) && (f & (16 << j)) != 0; }
  if (s < 21) { const i = (s - 15) / 3, kj = s - 15 - 3 * i; return (f & (2 << i)) != 0 && (kj == 0 || eC); }
  const i = (s - 21) >> 1, j = (s - 21) & 1;
  return (f & (2 << i)) != 0 && (f & (16 << j)) != 0;
}

// Bit s set: the tile with flags f has slot s.
function slotMask(f: i32): i32 {
  let m = 0;
  for (let s = 0; s < NS; s++) if (slotOk(s, f)) m |= 1 << s;
  return m;
}

// The GEMM's A row of slot s of tile r: a stored transform in V, or (the middle positions) a pixel read in place,
// from the tile's 8 pointers raw[r]: the EP middles j = 0, 1, the PE middles i = 0, 1, then PP (i, j) at 4 + 2i + j
// (the forward's are x pixels, four of them the PP ones again; the backward-input's the box sums D).
// @ts-ignore: decorator
@inline function aRow(s: i32, r: i32, V: usize, vk: usize, rowB: usize, raw: usize): usize {
  const rp = raw + (<usize>(8 * r) << 2);
  if (s < 9) return V + <usize>s * vk + <usize>r * rowB;
  if (s < 15) {
    const j = (s - 9) / 3, ki = s - 9 - 3 * j;
    return ki == 1 ? <usize>load<u32>(rp + (<usize>j << 2)) : V + <usize>(9 + 2 * j + (ki >> 1)) * vk + <usize>r * rowB;
  }
  if (s < 21) {
    const i = (s - 15) / 3, kj = s - 15 - 3 * i;
    return kj == 1 ? <usize>load<u32>(rp + (<usize>(2 + i) << 2)) : V + <usize>(13 + 2 * i + (kj >> 1)) * vk + <usize>r * rowB;
  }
  return <usize>load<u32>(rp + (<usize>(4 + s - 21) << 2));
}

// The slots whose products use weight matrix u: first slot, count, step.
// @ts-ignore: decorator
@inline function slot0(u: i32): i32 { return u < 12 ? u : u < 15 ? u + 3 : 21; }
// @ts-ignore: decorator
@inline function slotN(u: i32): i32 { return u < 9 ? 1 : u < 15 ? 2 : 4; }
// @ts-ignore: decorator
@inline function slotStep(u: i32): i32 { return u < 15 ? 3 : 1; }
// Table entries before matrix u's (its rows are at most slotN(u) * RC).
// @ts-ignore: decorator
@inline function listAt(u: i32, RC: i32): i32 { return (u < 9 ? u : u < 15 ? 9 + 2 * (u - 9) : 21) * RC; }

// m of slot s (4 channels at byte offset cb), zero when the tile (slot mask f) has no such slot.
// @ts-ignore: decorator
@inline function mv(M: usize, s: i32, mk: usize, f: i32, cb: usize): v128 {
  return (f >> s) & 1 ? v128.load(M + <usize>s * mk + cb) : f32x4.splat(0);
}

// The five y values along one axis from the E positions' m0, m1, m2 and the P values p0, p1 (see the header):
// stored at d, d + step, ..
// @ts-ignore: decorator
@inline function combine5(m0: v128, m1: v128, m2: v128, p0: v128, p1: v128, d: usize, step: usize): void {
  const e0 = f32x4.add(m0, m1), e1 = f32x4.add(m1, m2);
  v128.store(d, e0);
  v128.store(d + step, f32x4.add(e0, p0));
  v128.store(d + 2 * step, f32x4.add(e1, p0));
  v128.store(d + 3 * step, f32x4.add(e1, p1));
  v128.store(d + 4 * step, p1);
}

// Per weight matrix u, one igemm_4x8 [rows x K] x [K x NC] over the chunk's R tiles' slots of u: a slot s of tile r
// reads A row aRow and writes M + s*mk + r*rowM; B = Ub + u*kb (8-wide panels). masks: the tiles' slot masks (u32
// each), or 0: every slot of every tile.
function slotGemms(R: i32, RC: i32, masks: usize, V: usize, vk: usize, rowB: usize, raw: usize, M: usize, mk: usize, rowM: usize,
  ind: usize, outp: usize, Ub: usize, kb: usize, K: i32, NC: i32, zero: usize): void {
  for (let u = 0; u < NU; u++) {
    const s0 = slot0(u), ns = slotN(u), st = slotStep(u), at = <usize>listAt(u, RC) << 2;
    let n = 0;
    for (let r = 0; r < R; r++) {
      const f = masks != 0 ? load<i32>(masks + (<usize>r << 2)) : -1;
      for (let e = 0; e < ns; e++) {
        const s = s0 + e * st;
        if (((f >> s) & 1) == 0) continue;
        store<u32>(ind + at + (<usize>n << 2), <u32>aRow(s, r, V, vk, rowB, raw));
        store<u32>(outp + at + (<usize>n << 2), <u32>(M + <usize>s * mk + <usize>r * rowM));
        n++;
      }
    }
    igemm_4x8(n, 1, K, ind + at, outp + at, 0, Ub + <usize>u * kb, 32, <usize>K << 5, NC, 0, 0, zero, 0);
  }
}

// v + the bias for a pixel's first writer, v for a later one (which adds it).
// @ts-ignore: decorator
@inline function first(v: v128, bv: v128, acc: bool): v128 { return acc ? v : f32x4.add(v, bv); }

// y = b + upconv(x) with U = upconv_split_pack(w) given: per chunk of tiles the stored input
// transforms, 16 GEMMs (one per weight matrix, over the slots the chunk's tiles have), and each tile's 5x5 y block
// stored or added.
export function upconv_split_forward_packed(y: usize, x: usize, U: usize, b: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  upconvSplitTiles(y, x, U, <usize>matrixFloats(C, OC, false) << 2, b, scratch, N, H, W, C, OC, ldy, ldx);
}

// upconv_split_forward_packed on U's matrices ks bytes apart.
function upconvSplitTiles(y: usize, x: usize, U: usize, ks: usize, b: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  if (N <= 0 || H <= 0 || W <= 0 || OC <= 0) return;
  const YH = 2 * H, YW = 2 * W;
  if (C <= 0) { startRows(y, N * YH * YW, ldy, OC, b); return; }
  const TR = (H >> 1) + 1, TC = (W >> 1) + 1, T = N * TR * TC;
  const Ci = c4(C), Co = c4(OC), C4 = C & ~3;
  const RC = rows(T, Ci, Co);
  const zero = scratch;
  const V = fl(zero, al(c4(max(C, OC))));
  const M = fl(V, al(NV * posStride(RC * Ci)));
  const ind = fl(M, al(NS * posStride(RC * Co)));
  const outp = fl(ind, al(NS * RC));
  const raw = fl(outp, al(NS * RC));
  const flags = fl(raw, al(8 * RC));
  const ptr = fl(flags, al(RC));
  const tmp = fl(ptr, al(PTR));
  memory.fill(zero, 0, <usize>c4(max(C, OC)) << 2);
  const vk = <usize>posStride(RC * Ci) << 2, mk = <usize>posStride(RC * Co) << 2;
  const rowB = <usize>Ci << 2, rowM = <usize>Co << 2;
  for (let t0 = 0; t0 < T; t0 += RC) {
    const R = min(RC, T - t0);
    // the stored transforms, the middle positions' pixel pointers and the slot mask of each tile
    for (let r = 0; r < R; r++) {
      const t = t0 + r, q = t % (TR * TC), tm = q / TC, tn = q - tm * TC;
      patchPtrs(ptr, t, x, ldx, zero, H, W, TR, TC, 3, 2); // x rows 2tm - 1 .. 2tm + 1
      store<i32>(flags + (<usize>r << 2), slotMask(rowBits(tm, H) | (rowBits(tn, W) << 3)));
      rawPtrs(raw + (<usize>(8 * r) << 2), ptr, 3, 1);
      const vr = V + <usize>r * rowB;
      for (let c = 0; c < C4; c += 4) inputs(ptr, 3, 1, <usize>c << 2, vr + (<usize>c << 2), vk);
      if (C4 < C) inputs(tailPtrs(ptr, 9, C4, C, tmp), 3, 1, 0, vr + (<usize>C4 << 2), vk);
    }
    slotGemms(R, RC, flags, V, vk, rowB, raw, M, mk, rowM, ind, outp, U, ks, C, OC, zero);
    // each tile's 5x5 block: the column pass per row source (E positions 0 .. 2, P rows 0, 1) into tmp, then the
    // row pass, added into y where the block is inside it
    for (let r = 0; r < R; r++) {
      const t = t0 + r, n = t / (TR * TC), q = t - n * TR * TC, tm = q / TC, tn = q - tm * TC;
      const f = load<i32>(flags + (<usize>r << 2));
      const mr = M + <usize>r * rowM;
      const h0 = 4 * tm - 1, w0 = 4 * tn - 1;
      for (let c = 0; c < OC; c += 4) {
        const cb = <usize>c << 2, nc = min(4, OC - c);
        for (let ki = 0; ki < 3; ki++) {
          combine5(mv(mr, 3 * ki, mk, f, cb), mv(mr, 3 * ki + 1, mk, f, cb), mv(mr, 3 * ki + 2, mk, f, cb),
            mv(mr, 9 + ki, mk, f, cb), mv(mr, 12 + ki, mk, f, cb), tmp + (<usize>ki << 4), 80);
        }
        for (let i = 0; i < 2; i++) {
          combine5(mv(mr, 15 + 3 * i, mk, f, cb), mv(mr, 16 + 3 * i, mk, f, cb), mv(mr, 17 + 3 * i, mk, f, cb),
            mv(mr, 21 + 2 * i, mk, f, cb), mv(mr, 22 + 2 * i, mk, f, cb), tmp + (<usize>(3 + i) << 4), 80);
        }
        // tmp[col q'][row source] (16 bytes each, 80 per column): the row pass per column inside y. A pixel's
        // first writer (tiles run in order; block row and column 0 are the previous tile's 4) stores its value plus
        // the bias, the later ones add: ((v + b) + v') is b + v + v' in the order y = b, then adds, gave.
        const bv = b != 0 ? loadN(b + cb, nc) : f32x4.splat(0);
        for (let qc = 0; qc < 5; qc++) {
          const yc = w0 + qc;
          if (yc < 0 || yc >= YW) continue;
          const s = tmp + <usize>qc * 80, acc = qc == 0 && tn > 0;
          const e0 = f32x4.add(v128.load(s), v128.load(s, 16)), e1 = f32x4.add(v128.load(s, 16), v128.load(s, 32));
          const p0 = v128.load(s, 48), p1 = v128.load(s, 64);
          const col = fl(y, ((n * YH) * YW + yc) * ldy) + cb, rs = <usize>(YW * ldy) << 2;
          if (h0 >= 0) put(col + <usize>h0 * rs, e0, nc, true); // tm > 0: the previous tile's row 4
          if (h0 + 1 < YH) put(col + <usize>(h0 + 1) * rs, first(f32x4.add(e0, p0), bv, acc), nc, acc);
          if (h0 + 2 < YH) put(col + <usize>(h0 + 2) * rs, first(f32x4.add(e1, p0), bv, acc), nc, acc);
          if (h0 + 3 < YH) put(col + <usize>(h0 + 3) * rs, first(f32x4.add(e1, p1), bv, acc), nc, acc);
          if (h0 + 4 < YH) put(col + <usize>(h0 + 4) * rs, first(p1, bv, acc), nc, acc);
        }
      }
    }
  }
}

// A forward on the split taps' U, its matrices ks bytes apart (upconvSplitTiles, conv3s2_split.ts's).
export type SplitForward = (y: usize, x: usize, U: usize, ks: usize, b: usize, scratch: usize, N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32) => void;

// Floats of the per-call forwards' U of C -> OC (its matrices padded apart: matrixFloats).
export function perCallSize(C: i32, OC: i32): i32 { return NU * matrixFloats(C, OC, true); }

// `packed` with U made from w into scratch first, by groups of output channels (splitGroup()): the per-call forwards.
export function splitPerCall(packed: SplitForward, y: usize, x: usize, w: usize, b: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  const G = splitGroup(C, OC);
  const sc = fl(scratch, al(perCallSize(C, G)));
  for (let o0 = 0; o0 < OC; o0 += G) {
    const n = min(G, OC - o0), ks = <usize>matrixFloats(C, n, true) << 2;
    packRange(scratch, ks, w, C, OC, o0, n, n, 0);
    packed(fl(y, o0), x, scratch, ks, b != 0 ? fl(b, o0) : 0, sc, N, H, W, C, n, ldy, ldx);
  }
}

// y = b + upconv(x), U made from w per call.
export function upconv_split_forward(y: usize, x: usize, w: usize, b: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  splitPerCall(upconvSplitTiles, y, x, w, b, scratch, N, H, W, C, OC, ldy, ldx);
}

// ---- backward-input: dx += upconv^T(dy) ----
// From the forward's parts: dE[m] = D[2m] and dP[i] = D[2i + 1] per axis, D = the box sums of dy (box.ts: D[r] =
// dy[r-1] + dy[r], rows 0 .. 2H), and dx[i] = w2 dE[i] + w0 dE[i+1] + w1 dP[i]. The E part is F(2, 2) again, on d =
// dE[2t .. 2t+2] with g = (w2, w0); so tile (tm, tn) (a 2x2 block of dx) reads the 5x5 patch of D at rows 4tm ..
// 4tm + 4 (even rows: dE, odd: dP; columns alike) and has the forward's 25 slots, on the forward's matrices
// transposed and flipped: U'[u] = U[flip(u)]^T, flip = 8 - u (EE), 20 - u (EP), 26 - u (PE), 15 (PP). Per tile the
// slots give dx rows a = 0, 1 as (m0 + m1, m1 + m2) + (P0, P1) along each axis; no tile shares a dx pixel.

// Ut[u] = U[flip(u)]^T, packed straight from w: 8-wide panels over C, [c8(C) / 8][OC][8] per matrix (zeros past C),
// kt = OC c8(C) floats apart. By 4 input channels (half a panel) outer and 4 output channels inner, so each of w's
// 36 rows (9 taps x 4 channels) and each of Ut's 16 streams is walked in order: the 16 sums of one input channel
// for 4 output channels go to tmp (16 vectors), then four channels' tmp are written transposed (storeT4).
function packIn(Ut: usize, w: usize, tmp: usize, C: i32, OC: i32): void {
  const tap = <usize>(C * OC) << 2, kt = (<usize>OC * c8(C)) << 2;
  if (C & 7) memory.fill(Ut, 0, <usize>NU * kt);
  for (let c0 = 0; c0 < C; c0 += 4) {
    const nc = min(4, C - c0);
    for (let o = 0; o < OC; o += 4) {
      const no = min(4, OC - o);
      for (let i = 0; i < 4; i++) {
        const t = tmp + (<usize>(i * NU) << 4);
        if (i >= nc) { memory.fill(t, 0, <usize>NU << 4); continue; }
        tapSums(fl(w, (c0 + i) * OC + o), tap, no, t, 16, true);
      }
      for (let u = 0; u < NU; u++) {
        const dp = Ut + <usize>u * kt + (<usize>((c0 >> 3) * OC * 8 + o * 8 + (c0 & 7)) << 2);
        const q = tmp + (<usize>u << 4), r = <usize>NU << 4;
        if (no == 4) { storeT4(dp, 32, v128.load(q), v128.load(q + r), v128.load(q + 2 * r), v128.load(q + 3 * r)); continue; }
        for (let oo = 0; oo < no; oo++) for (let i = 0; i < nc; i++) {
          store<f32>(dp + (<usize>(oo * 8 + i) << 2), load<f32>(q + <usize>i * r + (<usize>oo << 2)));
        }
      }
    }
  }
}

const PTR5: i32 = 32; // u32 pointer table of a tile's 5x5 D patch (25 used)
const TMP5: i32 = 256; // tail vectors + their pointers (125 floats); packIn's 4 x 16 vectors (256)

// @ts-ignore: decorator
@inline function tilesIn(N: i32, H: i32, W: i32): i32 { return N * ((H + 1) >> 1) * ((W + 1) >> 1); }

function bwdInSize(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 {
  return al(c4(max(C, OC))) + al(N * (2 * H + 1) * (2 * W + 1) * OC) + al(NU * OC * c8(C)) + strideTwoSize(tilesIn(N, H, W), OC, C);
}

// dx += upconv^T(dy) (the forward of dy through the transposed, flipped matrices), accumulated: the stride-2
// correlation of strideTwoTiles on D, g = (w2, w1, w0) per axis.
export function upconv_split_backward_input(dx: usize, dy: usize, w: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldx: i32, ldy: i32): void {
  if (N <= 0 || H <= 0 || W <= 0 || C <= 0 || OC <= 0) return;
  const zero = scratch;
  const D = fl(zero, al(c4(max(C, OC))));
  const Ut = fl(D, al(N * (2 * H + 1) * (2 * W + 1) * OC));
  const work = fl(Ut, al(NU * OC * c8(C)));
  boxSums(D, dy, N, H, W, OC, ldy);
  packIn(Ut, w, work, C, OC); // its 256 floats of tmp: the work area, unused until the tiles
  strideTwoTiles(dx, ldx, H, W, D, OC, 2 * H + 1, 2 * W + 1, 0, Ut, (<usize>OC * c8(C)) << 2, OC, C, N, 0, true, zero, work);
}

// Floats of strideTwoTiles' work area for T tiles, K -> NC channels.
export function strideTwoSize(T: i32, K: i32, NC: i32): i32 {
  const RC = rows(T, c4(K), c4(NC));
  return al(NV * posStride(RC * c4(K))) + al(NS * posStride(RC * c4(NC))) + 2 * al(NS * RC) + al(8 * RC) + al(PTR5) + al(TMP5);
}

// The stride-2 3-tap correlation per axis, out[o] = g0 s[2o - pad] + g1 s[2o + 1 - pad] + g2 s[2o + 2 - pad], in
// 2-D over the 3x3 taps g (the 16 matrices of the split taps, Ub, kb bytes apart, 8-wide panels over NC; K rows
// each): the conv3x3 stride-2 forward on x (conv3s2_split.ts: pad 1, U = upconv_split_pack(w)) and the backward-input
// above (D, pad 0, the flipped transposed U'). Along each axis the E part is F(2, 2) of (g0, g2) on the even
// samples, the P part g1 on the odd ones: tile (tm, tn) reads the 5x5 patch of s at rows 4tm - pad .. 4tm + 4 - pad
// (E positions at patch rows 0, 2, 4; P lines at 1, 3), has the forward's 25 slots, and gives out rows 2tm, 2tm + 1
// as (m0 + m1, m1 + m2) + (P0, P1), columns alike; no tile shares an out pixel. s (N, SH, SW, K) pixel stride lds;
// out (N, OH, OW, NC) pixel stride ldo, accumulated (acc) or set to b + the sum (b == 0: none). zero: c4(max(K, NC))
// floats, zeroed here (the pixels outside s); work: strideTwoSize(T, K, NC) floats.
export function strideTwoTiles(out: usize, ldo: i32, OH: i32, OW: i32, s: usize, lds: i32, SH: i32, SW: i32, pad: i32,
  Ub: usize, kb: usize, K: i32, NC: i32, N: i32, b: usize, acc: bool, zero: usize, work: usize): void {
  const TR = (OH + 1) >> 1, TC = (OW + 1) >> 1, T = N * TR * TC;
  const Ck = c4(K), Cn = c4(NC), K4 = K & ~3;
  const RC = rows(T, Ck, Cn);
  const V = work;
  const M = fl(V, al(NV * posStride(RC * Ck)));
  const ind = fl(M, al(NS * posStride(RC * Cn)));
  const outp = fl(ind, al(NS * RC));
  const raw = fl(outp, al(NS * RC));
  const ptr = fl(raw, al(8 * RC));
  const tmp = fl(ptr, al(PTR5));
  memory.fill(zero, 0, <usize>c4(max(K, NC)) << 2);
  const vk = <usize>posStride(RC * Ck) << 2, mk = <usize>posStride(RC * Cn) << 2;
  const rowB = <usize>Ck << 2, rowM = <usize>Cn << 2;
  for (let t0 = 0; t0 < T; t0 += RC) {
    const R = min(RC, T - t0);
    for (let r = 0; r < R; r++) {
      patchPtrs(ptr, t0 + r, s, lds, zero, SH, SW, TR, TC, 5, 4, pad); // s rows 4tm - pad .. 4tm + 4 - pad
      rawPtrs(raw + (<usize>(8 * r) << 2), ptr, 5, 2);
      const vr = V + <usize>r * rowB;
      for (let c = 0; c < K4; c += 4) inputs(ptr, 5, 2, <usize>c << 2, vr + (<usize>c << 2), vk);
      if (K4 < K) inputs(tailPtrs(ptr, 25, K4, K, tmp), 5, 2, 0, vr + (<usize>K4 << 2), vk);
    }
    slotGemms(R, RC, 0, V, vk, rowB, raw, M, mk, rowM, ind, outp, Ub, kb, K, NC, zero);
    // out rows 2tm + a, columns 2tn + b: per row source (E positions, P rows) the two column values, then the rows
    for (let r = 0; r < R; r++) {
      const t = t0 + r, n = t / (TR * TC), q = t - n * TR * TC, tm = q / TC, tn = q - tm * TC;
      const mr = M + <usize>r * rowM;
      const okR = 2 * tm + 1 < OH, okC = 2 * tn + 1 < OW;
      const o00 = fl(out, ((n * OH + 2 * tm) * OW + 2 * tn) * ldo), o01 = fl(o00, ldo), o10 = fl(o00, OW * ldo), o11 = fl(o10, ldo);
      for (let c = 0; c < NC; c += 4) {
        const cb = <usize>c << 2, nc = min(4, NC - c);
        // column pass: c[ρ][b] for ρ = E positions 0 .. 2, P rows 0, 1
        let e00 = f32x4.splat(0), e01 = e00, e10 = e00, e11 = e00, e20 = e00, e21 = e00, p00 = e00, p01 = e00, p10 = e00, p11 = e00;
        for (let k = 0; k < 5; k++) {
          let m0: v128, m1: v128, m2: v128, q0: v128, q1: v128;
          if (k < 3) {
            m0 = v128.load(mr + <usize>(3 * k) * mk + cb); m1 = v128.load(mr + <usize>(3 * k + 1) * mk + cb); m2 = v128.load(mr + <usize>(3 * k + 2) * mk + cb);
            q0 = v128.load(mr + <usize>(9 + k) * mk + cb); q1 = v128.load(mr + <usize>(12 + k) * mk + cb);
          } else {
            const i = k - 3;
            m0 = v128.load(mr + <usize>(15 + 3 * i) * mk + cb); m1 = v128.load(mr + <usize>(16 + 3 * i) * mk + cb); m2 = v128.load(mr + <usize>(17 + 3 * i) * mk + cb);
            q0 = v128.load(mr + <usize>(21 + 2 * i) * mk + cb); q1 = v128.load(mr + <usize>(22 + 2 * i) * mk + cb);
          }
          const c0 = f32x4.add(f32x4.add(m0, m1), q0), c1 = f32x4.add(f32x4.add(m1, m2), q1);
          if (k == 0) { e00 = c0; e01 = c1; } else if (k == 1) { e10 = c0; e11 = c1; } else if (k == 2) { e20 = c0; e21 = c1; }
          else if (k == 3) { p00 = c0; p01 = c1; } else { p10 = c0; p11 = c1; }
        }
        const bv = b != 0 ? loadN(b + cb, nc) : f32x4.splat(0);
        put(o00 + cb, f32x4.add(f32x4.add(f32x4.add(e00, e10), p00), bv), nc, acc);
        if (okC) put(o01 + cb, f32x4.add(f32x4.add(f32x4.add(e01, e11), p01), bv), nc, acc);
        if (okR) {
          put(o10 + cb, f32x4.add(f32x4.add(f32x4.add(e10, e20), p10), bv), nc, acc);
          if (okC) put(o11 + cb, f32x4.add(f32x4.add(f32x4.add(e11, e21), p11), bv), nc, acc);
        }
      }
    }
  }
}

// ---- backward-weight: dw += d(upconv)/dw . dy, db += sum dy ----
// The forward's tiles and slots again: slot s of tile (tm, tn) made m_s = V_s . U_u(s), so dU_u += sum over the
// tiles' slots of u V_s^T dM_s, with V_s the forward's transformed inputs (the same masks: a slot the forward does
// not compute is not summed) and dM_s the forward's output combination transposed, which the box sums D of dy
// give directly: along each axis dm = (D[4t], D[4t] + D[4t+2], D[4t+2]) for the E positions and dP = (D[4t+1],
// D[4t+3]); the D block of tile (tm, tn) is rows 4tm .. 4tm + 3, columns alike (tiles do not overlap). Per u one
// GEMM [C x rows] x [rows x OC] (gemm_ap_4x8 on the rows packed), then dw from the 16 dU by the pack's sums:
//   dw00 = dU0 + dU1 + dU3 + dU4, dw02 = dU1 + dU2 + dU4 + dU5, dw20 = dU3 + dU4 + dU6 + dU7,
//   dw22 = dU4 + dU5 + dU7 + dU8, dw01 = dU9 + dU10, dw21 = dU10 + dU11, dw10 = dU12 + dU13, dw12 = dU13 + dU14,
//   dw11 = dU15.

// dM of slot s (4 channels at byte offset cb) from the tile's 4x4 D pointers pd (row-major), stored at dst.
// @ts-ignore: decorator
@inline function dmRow(s: i32, pd: usize, cb: usize, dst: usize): void {
  // along an axis: E position k reads D offsets {0} (k = 0), {0, 2} (k = 1), {2} (k = 2); P row i reads 1 + 2i
  let r0 = 0, r1 = 0, c0 = 0, c1 = 0; // first and last D row (column) offsets, equal when one
  if (s < 9) { const ki = s / 3, kj = s - 3 * ki; r0 = ki == 2 ? 2 : 0; r1 = ki == 0 ? 0 : 2; c0 = kj == 2 ? 2 : 0; c1 = kj == 0 ? 0 : 2; }
  else if (s < 15) { const j = (s - 9) / 3, ki = s - 9 - 3 * j; r0 = ki == 2 ? 2 : 0; r1 = ki == 0 ? 0 : 2; c0 = 1 + 2 * j; c1 = c0; }
  else if (s < 21) { const i = (s - 15) / 3, kj = s - 15 - 3 * i; r0 = 1 + 2 * i; r1 = r0; c0 = kj == 2 ? 2 : 0; c1 = kj == 0 ? 0 : 2; }
  else { const i = (s - 21) >> 1, j = (s - 21) & 1; r0 = 1 + 2 * i; r1 = r0; c0 = 1 + 2 * j; c1 = c0; }
  let v = v128.load(<usize>load<u32>(pd + (<usize>(4 * r0 + c0) << 2)) + cb);
  if (c1 != c0) v = f32x4.add(v, v128.load(<usize>load<u32>(pd + (<usize>(4 * r0 + c1) << 2)) + cb));
  if (r1 != r0) {
    v = f32x4.add(v, v128.load(<usize>load<u32>(pd + (<usize>(4 * r1 + c0) << 2)) + cb));
    if (c1 != c0) v = f32x4.add(v, v128.load(<usize>load<u32>(pd + (<usize>(4 * r1 + c1) << 2)) + cb));
  }
  v128.store(dst, v);
}

function bwdWSize(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 {
  return al(c4(max(C, OC))) + al(N * (2 * H + 1) * (2 * W + 1) * OC) + weightGradsSize(tiles(N, H, W), 3, C, OC);
}

// Floats of weightGrads' work area: dU, the pointer tables, the packed rows.
export function weightGradsSize(T: i32, P: i32, C: i32, OC: i32): i32 {
  const RC = rows(T, c4(C), c4(OC));
  return al(NU * C * OC) + al(P * P * RC) + al(16 * RC) + al(RC) + al(c4(C) * 4 * RC) + al(c8(OC) * 4 * RC) + al(TMP);
}

// The forward's transformed input of slot s (4 channels at byte offset cb) from the tile's x patch pointers pt (n
// per row; E positions k at rows and columns k*st, P lines i at 1 + i*st: the upconv's 3x3 patch n = 3, st = 1, the
// stride-2 conv's 5x5 n = 5, st = 2): along each axis an E position k reads d_k minus the middle one unless k = 1
// (B^T), a P line reads its own.
// @ts-ignore: decorator
@inline function xv(pt: usize, n: i32, i: i32, j: i32, cb: usize): v128 { return v128.load(<usize>load<u32>(pt + (<usize>(n * i + j) << 2)) + cb); }
// @ts-ignore: decorator
@inline function vRow(s: i32, pt: usize, n: i32, st: i32, cb: usize, dst: usize): void {
  let rp = 0, cp = 0, rs = false, cs = false;
  if (s < 9) { const ki = s / 3, kj = s - 3 * ki; rp = ki * st; rs = ki != 1; cp = kj * st; cs = kj != 1; }
  else if (s < 15) { const j = (s - 9) / 3, ki = s - 9 - 3 * j; rp = ki * st; rs = ki != 1; cp = 1 + j * st; }
  else if (s < 21) { const i = (s - 15) / 3, kj = s - 15 - 3 * i; rp = 1 + i * st; cp = kj * st; cs = kj != 1; }
  else { rp = 1 + ((s - 21) >> 1) * st; cp = 1 + ((s - 21) & 1) * st; }
  let v = xv(pt, n, rp, cp, cb);
  if (cs) v = f32x4.sub(v, xv(pt, n, rp, st, cb));
  if (rs) {
    let m = xv(pt, n, st, cp, cb);
    if (cs) m = f32x4.sub(m, xv(pt, n, st, st, cb));
    v = f32x4.sub(v, m);
  }
  v128.store(dst, v);
}

// @ts-ignore: decorator
@inline function du(p: usize, k: usize, i: i32): f32 { return load<f32>(p + <usize>i * k); }

// dw[kh][kw] += sum of dU over the matrices that hold tap (kh, kw) (see above), for the C*OC entries of each tap.
function dUToW(dw: usize, dU: usize, n: i32): void {
  const k = <usize>n << 2, n4 = n & ~3;
  for (let e = 0; e < n; e += 4) {
    const o = <usize>e << 2;
    if (e < n4) {
      const u0 = v128.load(dU + o), u1 = v128.load(dU + k + o), u2 = v128.load(dU + 2 * k + o), u3 = v128.load(dU + 3 * k + o);
      const u4 = v128.load(dU + 4 * k + o), u5 = v128.load(dU + 5 * k + o), u6 = v128.load(dU + 6 * k + o), u7 = v128.load(dU + 7 * k + o);
      const u8 = v128.load(dU + 8 * k + o), u9 = v128.load(dU + 9 * k + o), u10 = v128.load(dU + 10 * k + o), u11 = v128.load(dU + 11 * k + o);
      const u12 = v128.load(dU + 12 * k + o), u13 = v128.load(dU + 13 * k + o), u14 = v128.load(dU + 14 * k + o), u15 = v128.load(dU + 15 * k + o);
      const t00 = f32x4.add(f32x4.add(u0, u1), f32x4.add(u3, u4)), t02 = f32x4.add(f32x4.add(u1, u2), f32x4.add(u4, u5));
      const t20 = f32x4.add(f32x4.add(u3, u4), f32x4.add(u6, u7)), t22 = f32x4.add(f32x4.add(u4, u5), f32x4.add(u7, u8));
      const d = dw + o;
      v128.store(d, f32x4.add(v128.load(d), t00));
      v128.store(d + k, f32x4.add(v128.load(d + k), f32x4.add(u9, u10)));
      v128.store(d + 2 * k, f32x4.add(v128.load(d + 2 * k), t02));
      v128.store(d + 3 * k, f32x4.add(v128.load(d + 3 * k), f32x4.add(u12, u13)));
      v128.store(d + 4 * k, f32x4.add(v128.load(d + 4 * k), u15));
      v128.store(d + 5 * k, f32x4.add(v128.load(d + 5 * k), f32x4.add(u13, u14)));
      v128.store(d + 6 * k, f32x4.add(v128.load(d + 6 * k), t20));
      v128.store(d + 7 * k, f32x4.add(v128.load(d + 7 * k), f32x4.add(u10, u11)));
      v128.store(d + 8 * k, f32x4.add(v128.load(d + 8 * k), t22));
      continue;
    }
    for (let q = e; q < n; q++) {
      const p = dU + (<usize>q << 2), d = dw + (<usize>q << 2);
      store<f32>(d, load<f32>(d) + ((du(p, k, 0) + du(p, k, 1)) + (du(p, k, 3) + du(p, k, 4))));
      store<f32>(d + k, load<f32>(d + k) + (du(p, k, 9) + du(p, k, 10)));
      store<f32>(d + 2 * k, load<f32>(d + 2 * k) + ((du(p, k, 1) + du(p, k, 2)) + (du(p, k, 4) + du(p, k, 5))));
      store<f32>(d + 3 * k, load<f32>(d + 3 * k) + (du(p, k, 12) + du(p, k, 13)));
      store<f32>(d + 4 * k, load<f32>(d + 4 * k) + du(p, k, 15));
      store<f32>(d + 5 * k, load<f32>(d + 5 * k) + (du(p, k, 13) + du(p, k, 14)));
      store<f32>(d + 6 * k, load<f32>(d + 6 * k) + ((du(p, k, 3) + du(p, k, 4)) + (du(p, k, 6) + du(p, k, 7))));
      store<f32>(d + 7 * k, load<f32>(d + 7 * k) + (du(p, k, 10) + du(p, k, 11)));
      store<f32>(d + 8 * k, load<f32>(d + 8 * k) + ((du(p, k, 4) + du(p, k, 5)) + (du(p, k, 7) + du(p, k, 8))));
    }
  }
}

// dw += the weight gradient, db += sum dy (db == 0: no bias); accumulated: weightGrads on D.
export function upconv_split_backward_weight(dw: usize, db: usize, dy: usize, x: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  if (N <= 0 || H <= 0 || W <= 0 || OC <= 0) return;
  if (db != 0) bias_backward(db, dy, N * 4 * H * W, OC, ldy);
  if (C <= 0) return;
  const zero = scratch;
  const D = fl(zero, al(c4(max(C, OC))));
  boxSums(D, dy, N, H, W, OC, ldy);
  weightGrads(dw, x, ldx, H, W, N, (H >> 1) + 1, (W >> 1) + 1, 3, D, OC, 2 * H + 1, 2 * W + 1, C, OC, zero, fl(D, al(N * (2 * H + 1) * (2 * W + 1) * OC)));
}

// dw += the weight gradient of the split taps' forward, over N x TR x TC tiles. The forward made m_s = V_s . U_u(s)
// per slot s of each tile, so dU_u += sum over the tiles' slots of u of V_s^T dM_s: V_s the forward's transformed
// input (vRow) of the tile's P x P x patch (P = 3: the upconv's x rows 2tm - 1 .. 2tm + 1, only the slots its
// forward computes; P = 5: the stride-2 conv's x rows 4tm - 1 .. 4tm + 3, every slot), dM_s from a 4x4 table of
// pointers (dmRow: the upconv's D rows 4tm .. 4tm + 3 of the box sums src (SH x SW, pixel stride lds); the stride-2
// conv's 2x2 dy block at rows 2tm, 2tm + 1 of src = dy (SH x SW = its output size), each pointer twice along each
// axis, so that dmRow's (0, 0 + 2, 2) and (1, 3) read (dy0, dy0 + dy1, dy1) and (dy0, dy1): the transpose of
// strideTwoTiles' (m0 + m1, m1 + m2) + (P0, P1)). Per chunk of tiles and per u, the rows (a tile's slot of u) are
// written straight into gemm_ap_4x8's packed A (the transformed x, [c4(C) / 4][rows][4]) and packed B (dM,
// [c8(OC) / 8][rows][8]): no intermediate copy of either. Then dw from the 16 dU by the pack's sums (dUToW).
// zero: c4(max(C, OC)) floats, zeroed here (the pixels outside x and src); work: weightGradsSize(N TR TC, P, C, OC)
// floats.
export function weightGrads(dw: usize, x: usize, ldx: i32, H: i32, W: i32, N: i32, TR: i32, TC: i32, P: i32,
  src: usize, lds: i32, SH: i32, SW: i32, C: i32, OC: i32, zero: usize, work: usize): void {
  const T = N * TR * TC, down = P == 5, st = P >> 1, PP = P * P;
  const Ci = c4(C), Co = c4(OC), C4 = C & ~3, O4 = OC & ~3;
  const RC = rows(T, Ci, Co);
  const dU = work;
  const xtab = fl(dU, al(NU * C * OC));
  const dtab = fl(xtab, al(PP * RC));
  const flags = fl(dtab, al(16 * RC));
  const ap = fl(flags, al(RC));
  const bp = fl(ap, al(Ci * 4 * RC));
  const tmp = fl(bp, al(c8(OC) * 4 * RC));
  memory.fill(zero, 0, <usize>c4(max(C, OC)) << 2);
  let written = 0; // bit u: dU_u holds a sum (the first GEMM into it overwrites: no pass zeroing 16 C OC floats)
  for (let t0 = 0; t0 < T; t0 += RC) {
    const R = min(RC, T - t0);
    // per tile: the x pointers, the 4x4 dM pointers, the slot mask
    for (let r = 0; r < R; r++) {
      const t = t0 + r, q = t % (TR * TC), tm = q / TC, tn = q - tm * TC;
      const pd = dtab + (<usize>(16 * r) << 2);
      if (down) {
        patchPtrs(xtab + (<usize>(PP * r) << 2), t, x, ldx, zero, H, W, TR, TC, 5, 4);
        patchPtrs(pd, t, src, lds, zero, SH, SW, TR, TC, 2, 2, 0);
        const p00 = load<u32>(pd), p01 = load<u32>(pd, 4), p10 = load<u32>(pd, 8), p11 = load<u32>(pd, 12);
        for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) {
          store<u32>(pd + (<usize>(4 * i + j) << 2), i < 2 ? (j < 2 ? p00 : p01) : j < 2 ? p10 : p11);
        }
        store<i32>(flags + (<usize>r << 2), (1 << NS) - 1);
      } else {
        patchPtrs(xtab + (<usize>(PP * r) << 2), t, x, ldx, zero, H, W, TR, TC, 3, 2);
        patchPtrs(pd, t, src, lds, zero, SH, SW, TR, TC, 4, 4, 0);
        store<i32>(flags + (<usize>r << 2), slotMask(rowBits(tm, H) | (rowBits(tn, W) << 3)));
      }
    }
    for (let u = 0; u < NU; u++) {
      const s0 = slot0(u), ns = slotN(u), ss = slotStep(u);
      let n = 0;
      for (let r = 0; r < R; r++) {
        const f = load<i32>(flags + (<usize>r << 2));
        for (let e = 0; e < ns; e++) if (((f >> (s0 + e * ss)) & 1) != 0) n++;
      }
      if (n == 0) continue;
      let q = 0;
      for (let r = 0; r < R; r++) {
        const f = load<i32>(flags + (<usize>r << 2));
        const pt = xtab + (<usize>(PP * r) << 2), pd = dtab + (<usize>(16 * r) << 2);
        for (let e = 0; e < ns; e++) {
          const s = s0 + e * ss;
          if (((f >> s) & 1) == 0) continue;
          // A row q: [c / 4][q][4]; B row q: [oc / 8][q][8]
          const aq = ap + (<usize>q << 4), bq = bp + (<usize>q << 5), ab = <usize>n << 4, bb = <usize>n << 5;
          for (let c = 0; c < C4; c += 4) vRow(s, pt, P, st, <usize>c << 2, aq + <usize>(c >> 2) * ab);
          if (C4 < C) vRow(s, tailPtrs(pt, PP, C4, C, tmp), P, st, 0, aq + <usize>(C4 >> 2) * ab);
          for (let o = 0; o < O4; o += 4) dmRow(s, pd, <usize>o << 2, bq + <usize>(o >> 3) * bb + (<usize>(o & 4) << 2));
          if (O4 < OC) dmRow(s, tailPtrs(pd, 16, O4, OC, tmp), 0, bq + <usize>(O4 >> 3) * bb + (<usize>(O4 & 4) << 2));
          q++;
        }
      }
      gemm_ap_4x8(C, n, ap, bp, OC, fl(dU, u * C * OC), OC, 0, (written >> u) & 1);
      written |= 1 << u;
    }
  }
  for (let u = 0; u < NU; u++) if (((written >> u) & 1) == 0) memory.fill(fl(dU, u * C * OC), 0, <usize>(C * OC) << 2);
  dUToW(dw, dU, C * OC);
}

// Floats of scratch any pass of the split kernels needs for this shape (training).
export function upconv_split_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 {
  return max(upconv_split_forward_scratch_size(N, H, W, C, OC), max(bwdInSize(N, H, W, C, OC), bwdWSize(N, H, W, C, OC)));
}
