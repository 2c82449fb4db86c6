// The fused nearest-upsample x2 + 3x3 stride-1 pad-1 conv (upconv.ts) forward by Winograd F(2x2, 2x2) on each
// of its four output phases. x (N, H, W, C) pixel stride ldx -> y (N, 2H, 2W, OC) pixel stride ldy; w HWIO
// [3][3][C][OC]; b [OC] (0 = none). The forward overwrites y. The backward passes stay upconv.ts's (9 MACs per x
// pixel on box sums already).
//
// Phase (pr, pc): pr = 0 holds the odd y rows 2i + 1, which read x rows i, i + 1 with the 3x3 rows {0, 1} and {2};
// pr = 1 the even rows 2i, x rows i - 1, i with {0} and {1, 2} (upconv.ts; columns alike). So each phase is a
// 2x2 stride-1 conv of x whose taps are sums of 3x3 taps, g = (w0 + w1, w2) for pr = 0, (w0, w1 + w2) for pr = 1,
// and F(2, 2) gives a 2x2 tile of the phase (rows 2ti, 2ti + 1 of i) from the 3x3 x patch at rows 2ti - pr ..
// 2ti - pr + 2:  m = (G g) (.) (B^T d), out = A^T m,  B^T = [1 -1 0; 0 1 0; 0 -1 1], G = [1 0; 1 1; 0 1],
// A^T = [1 1 0; 0 1 1]. In 2-D, per tile and phase 9 GEMM positions over C: 9 MACs per 4 output pixels and
// channel pair, 2.25 per pixel against the phase GEMMs' 4 (exactly, at any size: each phase has its own tiles,
// no border blocks). G g = (g0, g0 + g1, g1) sums the 3x3 rows S(pr, i):  S(0, .) = {0, 1}, {0, 1, 2}, {2};
// S(1, .) = {0}, {0, 1, 2}, {1, 2} (columns alike), so the transformed weights are sums of taps, no fractions:
//   U[ph = 2pr + pc][k = 3i + j] = 8-wide panels [c8(OC) / 8][C][8]: sum_{kh in S(pr, i), kw in S(pc, j)} w[kh][kw][c][oc]
// (36 C c8(OC) floats, 4x w), made per call in training, once (upconv_wino_pack) by a caller that keeps them.
import { loadN, outTile, tr3 } from './winograd_blocks';
import { igemm_4x8 } from './gemm';
import { patchPtrs, rowTables, tailPtrs } from './winograd_tiles';

// @ts-ignore: decorator
@inline function al(n: i32): i32 { return (n + 15) & ~15; }
// @ts-ignore: decorator
@inline function c4(n: i32): i32 { return (n + 3) & ~3; }
// @ts-ignore: decorator
@inline function c8(n: i32): i32 { return (n + 7) & ~7; }
// @ts-ignore: decorator
@inline function fl(p: usize, n: i32): usize { return p + (<usize>n << 2); }

const PTR: i32 = 16; // u32 pointer table of a tile's 4x4 x patch
const TMP: i32 = 16 * 4 + 16 + 120; // tail vectors + their pointers; the pack's column sums

// Tiles per chunk: 9 * RC * (C + OC) floats of V and M (about 9.4 MB); U (36 C OC floats) is read once per chunk.
const WQ_UP: i32 = 262144;
// @ts-ignore: decorator
@inline function rows(T: i32, Ci: i32, Co: i32): i32 {
  return min(min(256, max(16, (WQ_UP / max(Ci + Co, 1)) & ~3)), max(T, 1));
}

// Floats of U for C -> OC.
export function upconv_wino_packed_size(C: i32, OC: i32): i32 {
  return 36 * C * c8(OC);
}

// tiles per phase over the batch: 2x2 tiles of the phase's H x W grid
// @ts-ignore: decorator
@inline function tiles(N: i32, H: i32, W: i32): i32 { return N * ((H + 1) >> 1) * ((W + 1) >> 1); }

// Floats of scratch of upconv_wino_forward_packed (U given).
export function upconv_wino_packed_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 {
  const Ci = c4(C), Co = c4(OC), RC = rows(tiles(N, H, W), Ci, Co);
  return al(c4(max(C, OC))) + al(c8(OC)) + al(9 * RC * Ci) + al(9 * RC * Co) + 2 * al(RC) + al(PTR) + al(TMP);
}

// Floats of scratch of upconv_wino_forward (U made into scratch).
export function upconv_wino_forward_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 {
  return al(upconv_wino_packed_size(C, OC)) + upconv_wino_packed_scratch_size(N, H, W, C, OC);
}

// The 5 column sums of one 3x3 row for 4 oc (row r at w + r*3*tap): {0, 1}, {0, 1, 2}, {2}, {0}, {1, 2}.
// @ts-ignore: decorator
@inline function colSums(t: usize, p: usize, tap: usize, n: i32): void {
  const a = loadN(p, n), b = loadN(p + tap, n), c = loadN(p + 2 * tap, n);
  const ab = f32x4.add(a, b);
  v128.store(t, ab);
  v128.store(t, f32x4.add(ab, c), 16);
  v128.store(t, c, 32);
  v128.store(t, a, 48);
  v128.store(t, f32x4.add(b, c), 64);
}

// Row sums over S of the column set cs, from the 3 rows' column sums at t (80 bytes per row).
// @ts-ignore: decorator
@inline function rowSum(t: usize, rs: i32, cs: i32): v128 {
  const o = <usize>cs << 4;
  const r0 = v128.load(t + o), r1 = v128.load(t + 80 + o), r2 = v128.load(t + 160 + o);
  // rs: 0 = {0, 1}, 1 = {0, 1, 2}, 2 = {2}, 3 = {0}, 4 = {1, 2}
  return rs == 0 ? f32x4.add(r0, r1) : rs == 1 ? f32x4.add(f32x4.add(r0, r1), r2) : rs == 2 ? r2 : rs == 3 ? r0 : f32x4.add(r1, r2);
}

// U = the transformed weights of w (scratch: 120 floats). By 8 output channels (one panel), the oc loop
// outside: each of U's 36 (phase, position) streams is then written in order, one 32-byte panel row per c,
// and each line of w read is used whole over two c-loops (per 4 channels instead wrote each 64-byte line of U
// in four visits: ~2x slower); a tail panel reads only its channels and writes zeros past OC.
// w holds OC output channels ([3][3][C][OC]); U is the layout of OCt >= OC channels, and they are its channels
// c0 .. c0 + OC - 1 (c0 a multiple of 8; OC too unless c0 + OC == OCt): so a layer stored in chunks of output
// channels is packed chunk by chunk into ONE U, which the forward then runs in one call (the input transform once,
// not once per chunk: up4 of the 128 px generator 10.3 -> 8.7 ms). Whole: OCt = OC, c0 = 0.
export function upconv_wino_pack(U: usize, w: usize, scratch: usize, C: i32, OC: i32, OCt: i32, c0: i32): void {
  if (C <= 0 || OC <= 0) return;
  const tap = <usize>(C * OC) << 2, ks = (<usize>C * c8(OCt)) << 2;
  for (let o0 = 0; o0 < OC; o0 += 8) {
    const n0 = min(4, OC - o0), n1 = min(4, max(0, OC - o0 - 4));
    for (let c = 0; c < C; c++) {
      const src = fl(w, c * OC + o0);
      // 3 rows x 5 column sums, for channels o0 .. o0 + 3 at scratch and o0 + 4 .. o0 + 7 at + 240 bytes
      for (let r = 0; r < 3; r++) colSums(scratch + <usize>r * 80, src + <usize>(3 * r) * tap, tap, n0);
      for (let r = 0; r < 3; r++) colSums(scratch + 240 + <usize>r * 80, src + 16 + <usize>(3 * r) * tap, tap, n1);
      const d = fl(U, ((c0 + o0) >> 3) * C * 8 + c * 8);
      for (let ph = 0; ph < 4; ph++) {
        const pr = ph >> 1, pc = ph & 1;
        for (let i = 0; i < 3; i++) {
          // S(pr, i) as a set index: pr = 0: 0, 1, 2; pr = 1: 3, 1, 4
          const rs = i == 1 ? 1 : pr == 0 ? i : (i == 0 ? 3 : 4);
          for (let j = 0; j < 3; j++) {
            const cs = j == 1 ? 1 : pc == 0 ? j : (j == 0 ? 3 : 4);
            const q = d + <usize>(ph * 9 + 3 * i + j) * ks;
            v128.store(q, rowSum(scratch, rs, cs));
            v128.store(q, rowSum(scratch + 240, rs, cs), 16);
          }
        }
      }
    }
  }
}

// y = b + upconv(x) with U = upconv_wino_pack(w) given: per chunk of tiles, per phase, the input transforms of
// the tiles' 3x3 patches (inside one 4x4 patch at rows 2ti - 1 .. 2ti + 2: phase pr's rows start at 1 - pr), 9
// GEMMs [tiles x C] x [C x OC], and A^T M A + b into the phase's pixels of y.
export function upconv_wino_forward_packed(y: usize, x: usize, U: usize, b: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  if (N <= 0 || H <= 0 || W <= 0 || OC <= 0) return;
  const UW = 2 * W;
  if (C <= 0) {
    for (let p = 0; p < N * 4 * H * W; p++) {
      if (b != 0) memory.copy(fl(y, p * ldy), b, <usize>OC << 2);
      else memory.fill(fl(y, p * ldy), 0, <usize>OC << 2);
    }
    return;
  }
  const TH = (H + 1) >> 1, TW = (W + 1) >> 1, T = N * TH * TW;
  const Ci = c4(C), Co = c4(OC), NP = (OC + 7) >> 3, C4 = C & ~3;
  const RC = rows(T, Ci, Co);
  const zero = scratch;
  const bias = fl(zero, al(c4(max(C, OC))));
  const V = fl(bias, al(c8(OC)));
  const M = fl(V, al(9 * RC * Ci));
  const ind = fl(M, al(9 * RC * Co));
  const outp = fl(ind, al(RC));
  const ptr = fl(outp, al(RC));
  const tmp = fl(ptr, al(PTR));
  memory.fill(zero, 0, <usize>c4(max(C, OC)) << 2);
  memory.fill(bias, 0, <usize>c8(OC) << 2);
  if (b != 0) memory.copy(bias, b, <usize>OC << 2);
  const vk = (<usize>RC * Ci) << 2, mk = (<usize>RC * Co) << 2, ks = (<usize>C * c8(OC)) << 2;
  rowTables(ind, V, Ci, outp, M, Co, RC);
  for (let t0 = 0; t0 < T; t0 += RC) {
    const R = min(RC, T - t0);
    for (let ph = 0; ph < 4; ph++) {
      const pr = ph >> 1, pc = ph & 1;
      // V[k][r][c] = (B^T d B)[k] of tile t0 + r's 3x3 patch of phase ph
      for (let r = 0; r < R; r++) {
        patchPtrs(ptr, t0 + r, x, ldx, zero, H, W, TH, TW, 4, 2); // x rows 2ti - 1 .. 2ti + 2
        const pb = ptr + (<usize>((1 - pr) * 4 + 1 - pc) << 2);
        const vr = fl(V, r * Ci);
        for (let c = 0; c < C4; c += 4) tr3(pb, 16, 4, <usize>c << 2, vr + (<usize>c << 2), vk);
        if (C4 < C) {
          const t2 = tailPtrs(ptr, 16, C4, C, tmp);
          tr3(t2 + (<usize>((1 - pr) * 4 + 1 - pc) << 2), 16, 4, 0, vr + (<usize>C4 << 2), vk);
        }
      }
      for (let k = 0; k < 9; k++) {
        igemm_4x8(R, 1, C, ind, outp, <usize>k * mk, U + <usize>(ph * 9 + k) * ks, 32, <usize>C << 5, OC, 0, 0, zero, <usize>k * vk);
      }
      // y = A^T M A + b at rows 2(2ti + i') + 1 - pr, columns alike
      for (let r = 0; r < R; r++) {
        const t = t0 + r;
        const n = t / (TH * TW), q = t - n * TH * TW, ti = q / TW, tj = q - ti * TW;
        const okR = 2 * ti + 1 < H, okC = 2 * tj + 1 < W;
        const y00 = fl(y, ((n * 2 * H + 4 * ti + 1 - pr) * UW + 4 * tj + 1 - pc) * ldy);
        const y01 = fl(y00, 2 * ldy), y10 = fl(y00, 2 * UW * ldy), y11 = fl(y10, 2 * ldy);
        const mr = fl(M, r * Co);
        for (let c = 0; c < OC; c += 4) {
          const cb = <usize>c << 2;
          outTile(mr + cb, mk, v128.load(bias + cb), y00 + cb, y01 + cb, y10 + cb, y11 + cb, okR, okC, min(4, OC - c), false);
        }
      }
    }
  }
}

// y = b + upconv(x), U made from w into scratch first.
export function upconv_wino_forward(y: usize, x: usize, w: usize, b: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  const sc = fl(scratch, al(upconv_wino_packed_size(C, OC)));
  upconv_wino_pack(scratch, w, sc, C, OC, OC, 0);
  upconv_wino_forward_packed(y, x, scratch, b, sc, N, H, W, C, OC, ldy, ldx);
}
