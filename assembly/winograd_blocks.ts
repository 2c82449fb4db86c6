// The transposed 4x4 stride-2 pad-1 conv by Winograd F(2x2, 2x2), by 4x4 output blocks: the backward-input of
// the discriminators' 4x4 stride-2 convs (winograd_s2.ts). Also the transforms, chunking and stores the F(2x2, 2x2)
// kernels share (winograd_s2.ts, winograd_split.ts).
//
// out (N, H, W, C) pixel stride ldo (the 4x4 conv's input grid), inp (N, OH, OW, OC) pixel stride ldi, OH =
// (H - 2) / 2 + 1. Phase pr holds the out rows of parity 1 - pr; along each axis it is F(2, 2) of three inp rows,
//   m = (G g) (.) (B^T d), out = A^T m,  B^T = [1 -1 0; 0 1 0; 0 -1 1], G = [1 0; 1 1; 0 1], A^T = [1 1 0; 0 1 1]
// with a phase's 2-tap kernel g (the caller's weights, transformed into U). Each phase has its own tiles, aligned
// to its rows: block ti's phase pr gives out rows 4ti + 1 - pr and 4ti + 3 - pr from inp rows 2ti - pr .. 2ti - pr
// + 2, so the four phases tile the out block at rows 4ti .. 4ti + 3 (columns alike) and no tile overhangs the
// image by more than the last block's rows. (One inp patch per block for all four phases, blocks at 4ti - 1 ..
// 4ti + 2, needed (H / 4 + 1)^2 blocks: 25 on a 16x16 grid against 16, 1.56x the multiply-adds.) Per block and
// phase, at each of the 9 positions, one GEMM [tiles x OC] x [OC x c4(C)].
// U: 9 positions, each 4 phases of c8(C) / 8 panels 8 wide over C, OC rows:
// U[k][ph * c8(C) / 8 + (c >> 3)][row][c & 7] (blocks_weights_size floats; padding columns zero).
import { igemm_4x8 } from './gemm';
import { posStride, rowTables, tailPtrs } from './winograd_tiles';

// @ts-ignore: decorator
@inline function al(n: i32): i32 { return (n + 15) & ~15; }
// @ts-ignore: decorator
@inline function c4(n: i32): i32 { return (n + 3) & ~3; }
// @ts-ignore: decorator
@inline function c8(n: i32): i32 { return (n + 7) & ~7; }
// @ts-ignore: decorator
@inline function fl(p: usize, n: i32): usize { return p + (<usize>n << 2); }

// Tiles per chunk: 9 * RC * (K + M) floats of V and M (about 2.4 MB), 16 .. 256 tiles. Larger than winograd.ts's:
// the transformed weights are 36/16 of w and are read once per chunk (16384 measured 1.1-1.3x slower forward on
// the 128- and 256-channel layers at batch 4).
const WQ: i32 = 65536;
// @ts-ignore: decorator
@inline export function chunk(T: i32, K: i32, M: i32): i32 {
  return min(min(256, max(16, (WQ / max(K + M, 1)) & ~3)), max(T, 1));
}

const PTR: i32 = 48; // u32 pointer table (9 used)
const TMP: i32 = 36 * 4 + 36; // tail vectors + their pointers

// Blocks over the batch: 4x4 out blocks at rows 4ti .. 4ti + 3, ti < ceil(H / 4) (every out pixel in one).
// @ts-ignore: decorator
@inline function blocks(N: i32, H: i32, W: i32): i32 { return N * ((H + 3) >> 2) * ((W + 3) >> 2); }

// Floats of U for out channels C and inp channels OC.
export function blocks_weights_size(C: i32, OC: i32): i32 {
  return 9 * posStride(OC * 4 * c8(C));
}

// Floats of scratch phase_blocks needs (U not included).
export function blocks_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 {
  const RC = chunk(blocks(N, H, W), c4(OC), c4(C));
  return al(c4(max(C, OC))) + al(9 * posStride(RC * c4(OC))) + al(9 * posStride(RC * c4(C))) + 2 * al(RC) + al(PTR) + al(TMP);
}

// 9 outputs of B^T d B for 4 channels: d[i][j] = v128 at (u32 at pb + i*rs + j*cs) + cb; output k = 3i + j at
// dst + k*vk. B^T rows: d0 - d1, d1, d2 - d1.
// @ts-ignore: decorator
@inline export function tr3(pb: usize, rs: usize, cs: usize, cb: usize, dst: usize, vk: usize): void {
  for (let i = 0; i < 3; i++) {
    let t0: v128, t1: v128, t2: v128;
    const r1 = pb + rs;
    const b0 = v128.load(<usize>load<u32>(r1) + cb), b1 = v128.load(<usize>load<u32>(r1 + cs) + cb), b2 = v128.load(<usize>load<u32>(r1 + 2 * cs) + cb);
    if (i == 1) { t0 = b0; t1 = b1; t2 = b2; }
    else {
      const ra = i == 0 ? pb : pb + 2 * rs;
      const a0 = v128.load(<usize>load<u32>(ra) + cb), a1 = v128.load(<usize>load<u32>(ra + cs) + cb), a2 = v128.load(<usize>load<u32>(ra + 2 * cs) + cb);
      // row 0: d0 - d1; row 2: d2 - d1
      t0 = f32x4.sub(a0, b0); t1 = f32x4.sub(a1, b1); t2 = f32x4.sub(a2, b2);
    }
    const o = dst + <usize>(3 * i) * vk;
    v128.store(o, f32x4.sub(t0, t1));
    v128.store(o + vk, t1);
    v128.store(o + 2 * vk, f32x4.sub(t2, t1));
  }
}

// @ts-ignore: decorator
@inline function setLane(v: v128, l: i32, f: f32): v128 {
  return l == 0 ? f32x4.replace_lane(v, 0, f) : l == 1 ? f32x4.replace_lane(v, 1, f) : l == 2 ? f32x4.replace_lane(v, 2, f) : f32x4.replace_lane(v, 3, f);
}

// The first n (1..4) floats at p as a vector, zeros past them (never reads past them).
// @ts-ignore: decorator
@inline export function loadN(p: usize, n: i32): v128 {
  if (n == 4) return v128.load(p);
  let v = f32x4.splat(0);
  for (let l = 0; l < n; l++) v = setLane(v, l, load<f32>(p + (<usize>l << 2)));
  return v;
}

// Stores (or adds) the first n (1..4) lanes of v at o; never touches memory past them.
// @ts-ignore: decorator
@inline export function put(o: usize, v: v128, n: i32, acc: bool): void {
  if (n == 4) {
    v128.store(o, acc ? f32x4.add(v, v128.load(o)) : v);
    return;
  }
  store<f32>(o, f32x4.extract_lane(v, 0) + (acc ? load<f32>(o) : 0));
  if (n > 1) store<f32>(o, f32x4.extract_lane(v, 1) + (acc ? load<f32>(o, 4) : 0), 4);
  if (n > 2) store<f32>(o, f32x4.extract_lane(v, 2) + (acc ? load<f32>(o, 8) : 0), 8);
}

// The 2x2 outputs A^T m A (+ bv) of one tile, m[k] at m + k*mk (3x3), stored (or added) at the four pixels.
// @ts-ignore: decorator
@inline export function outTile(m: usize, mk: usize, bv: v128, y00: usize, y01: usize, y10: usize, y11: usize,
  okR: bool, okC: bool, nc: i32, acc: bool): void {
  // s = A^T m: row 0 = m0 + m1, row 1 = m1 + m2 (rows of m)
  const m3 = v128.load(m + 3 * mk), m4 = v128.load(m + 4 * mk), m5 = v128.load(m + 5 * mk);
  const s00 = f32x4.add(v128.load(m), m3), s01 = f32x4.add(v128.load(m + mk), m4), s02 = f32x4.add(v128.load(m + 2 * mk), m5);
  put(y00, f32x4.add(f32x4.add(s00, s01), bv), nc, acc);
  if (okC) put(y01, f32x4.add(f32x4.add(s01, s02), bv), nc, acc);
  if (okR) {
    const s10 = f32x4.add(m3, v128.load(m + 6 * mk)), s11 = f32x4.add(m4, v128.load(m + 7 * mk)), s12 = f32x4.add(m5, v128.load(m + 8 * mk));
    put(y10, f32x4.add(f32x4.add(s10, s11), bv), nc, acc);
    if (okC) put(y11, f32x4.add(f32x4.add(s11, s12), bv), nc, acc);
  }
}

// out += the transposed conv of inp by U, block by block and phase by phase.
export function phase_blocks(out: usize, inp: usize, U: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldo: i32, ldi: i32): void {
  const OH = (H - 2) / 2 + 1, OW = (W - 2) / 2 + 1;
  if (N <= 0 || OH <= 0 || OW <= 0 || C <= 0 || OC <= 0) return;
  const TI = (H + 3) >> 2, TJ = (W + 3) >> 2, T = N * TI * TJ;
  const Ci = c4(C), Co = c4(OC), NPc = (C + 7) >> 3;
  const RC = chunk(T, Co, Ci);
  const zero = scratch;
  const V = fl(zero, al(c4(max(C, OC))));
  const M = fl(V, al(9 * posStride(RC * Co)));
  const ind = fl(M, al(9 * posStride(RC * Ci)));
  const outp = fl(ind, al(RC));
  const ptr = fl(outp, al(RC));
  const tmp = fl(ptr, al(PTR));
  memory.fill(zero, 0, <usize>c4(max(C, OC)) << 2);
  const vk = <usize>posStride(RC * Co) << 2, mk = <usize>posStride(RC * Ci) << 2;
  const uk = <usize>posStride(4 * NPc * 8 * OC), uph = <usize>NPc * 8 * OC; // floats between positions, between phases
  rowTables(ind, V, Co, outp, M, Ci, RC);
  const O4 = OC & ~3, bv = f32x4.splat(0);
  for (let t0 = 0; t0 < T; t0 += RC) {
    const R = min(RC, T - t0);
    for (let ph = 0; ph < 4; ph++) {
      const pr = ph >> 1, pc = ph & 1;
      // V[k][r][oc] = (B^T d B)[k] of the phase's inp patch at rows 2ti - pr .., columns 2tj - pc ..
      for (let r = 0; r < R; r++) {
        const t = t0 + r;
        const n = t / (TI * TJ), q = t - n * TI * TJ, ti = q / TJ, tj = q - ti * TJ;
        for (let i = 0; i < 3; i++) {
          const oh = 2 * ti - pr + i;
          for (let j = 0; j < 3; j++) {
            const ow = 2 * tj - pc + j;
            store<u32>(ptr + (<usize>(i * 3 + j) << 2), <u32>(oh >= 0 && oh < OH && ow >= 0 && ow < OW ? fl(inp, ((n * OH + oh) * OW + ow) * ldi) : zero));
          }
        }
        const vr = fl(V, r * Co);
        for (let c = 0; c < O4; c += 4) tr3(ptr, 12, 4, <usize>c << 2, vr + (<usize>c << 2), vk);
        if (O4 < OC) tr3(tailPtrs(ptr, 9, O4, OC, tmp), 12, 4, 0, vr + (<usize>O4 << 2), vk);
      }
      const Up = U + (uph * ph << 2);
      for (let k = 0; k < 9; k++) {
        igemm_4x8(R, 1, OC, ind, outp, <usize>k * mk, Up + (uk * k << 2), 32, <usize>OC << 5, C, 0, 0, zero, <usize>k * vk);
      }
      // out += the phase's A^T M A at rows ih0, ih0 + 2, columns iw0, iw0 + 2
      for (let r = 0; r < R; r++) {
        const t = t0 + r;
        const n = t / (TI * TJ), q = t - n * TI * TJ, ti = q / TJ, tj = q - ti * TJ;
        const ih0 = 4 * ti + 1 - pr, iw0 = 4 * tj + 1 - pc;
        if (ih0 >= H || iw0 >= W) continue;
        const r1 = ih0 + 2 < H, q1 = iw0 + 2 < W;
        const p00 = fl(out, ((n * H + ih0) * W + iw0) * ldo);
        const p01 = fl(p00, 2 * ldo), p10 = fl(p00, 2 * W * ldo), p11 = fl(p10, 2 * ldo);
        const mr = fl(M, r * Ci);
        for (let c = 0; c < C; c += 4) {
          const cb = <usize>c << 2, nc = min(4, C - c);
          outTile(mr + cb, mk, bv, p00 + cb, p01 + cb, p10 + cb, p11 + cb, r1, q1, nc, true);
        }
      }
    }
  }
}
