// The fused nearest-upsample x2 + 3x3 stride-1 pad-1 conv (upconv.ts) forward by Winograd F(2x2, 2x2): the
// layer is a transposed 4x4 stride-2 conv of x (upconv.ts derives it), run by 4x4 output blocks in
// winograd_blocks.ts. Per 4x4 block of y: 9 positions x C x 4*OC MACs = 2.25 per output pixel and channel pair,
// against 4 for upconv.ts's phase GEMMs and 9 for upsample + conv (plus one block row and column of border).
// x (N, H, W, C) pixel stride ldx -> y (N, 2H, 2W, OC) pixel stride ldy; w HWIO [3][3][C][OC]; b [OC] (0 = none).
// The forward overwrites y. The backward passes stay upconv.ts's (9 MACs per x pixel on box sums already).
//
// The transformed weights U (winograd_blocks.ts's layout, rows c, columns ph*c4(OC) + oc): block phase pr = 0
// holds y rows 4ti-1 and 4ti+1 (odd: y row 2i+1 reads x rows i, i+1 with the 3x3 rows {0, 1} and {2}), pr = 1
// rows 4ti and 4ti+2 (even: x rows i-1, i with {0} and {1, 2}). So the phase's 2-tap kernel is g = (w0 + w1, w2)
// for pr = 0 and (w0, w1 + w2) for pr = 1 (sums of 3x3 rows), and G g = (g0, g0 + g1, g1) at positions i = 0, 1, 2
// sums the 3x3 rows S(pr, i):  S(0, .) = {0, 1}, {0, 1, 2}, {2};  S(1, .) = {0}, {0, 1, 2}, {1, 2}  (columns
// alike): U[3i + j][ph*c4(OC) + oc][c] = sum_{kh in S(pr, i), kw in S(pc, j)} w[kh][kw][c][oc]. No fractions: the
// same sums in any order differ by rounding only.
import { blocks_scratch_size, blocks_weights_size, loadN, phase_blocks } from './winograd_blocks';

// @ts-ignore: decorator
@inline function al(n: i32): i32 { return (n + 15) & ~15; }
// @ts-ignore: decorator
@inline function c4(n: i32): i32 { return (n + 3) & ~3; }
// @ts-ignore: decorator
@inline function fl(p: usize, n: i32): usize { return p + (<usize>n << 2); }

// Floats of U for C -> OC.
export function upconv_wino_packed_size(C: i32, OC: i32): i32 {
  return blocks_weights_size(OC, C);
}

// Floats of scratch of upconv_wino_forward_packed (U given).
export function upconv_wino_packed_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 {
  return blocks_scratch_size(N, 2 * H, 2 * W, OC, C);
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

// U = the transformed weights of w (scratch: 120 floats). By 8 output channels, the oc loop outside: each of
// U's 36 (position, phase) streams is then written in order, a 32-byte panel row (two 4-lane pieces: the
// columns ph*c4(OC) + oc may straddle two panels when c4(OC) is not a multiple of 8) per c, and each read line of
// w is used whole over two c-loops; a tail group of OC % 4 reads only its channels and writes zeros in the
// padding columns. (Per 4 channels instead wrote each 64-byte line of U in four visits: measured ~2x slower.)
export function upconv_wino_pack(U: usize, w: usize, scratch: usize, C: i32, OC: i32): void {
  if (C <= 0 || OC <= 0) return;
  const Ci = c4(OC), NPk = (4 * Ci + 7) >> 3;
  const tap = <usize>(C * OC) << 2, ks = (<usize>NPk * 8 * C) << 2;
  for (let o0 = 0; o0 < Ci; o0 += 8) {
    const halves = min(2, (Ci - o0) >> 2);
    for (let c = 0; c < C; c++) {
      for (let h = 0; h < halves; h++) {
        const o = o0 + 4 * h, n = min(4, OC - o);
        const t = scratch + <usize>h * 240; // 3 rows x 5 column sums
        const src = fl(w, c * OC + o);
        for (let r = 0; r < 3; r++) colSums(t + <usize>r * 80, src + <usize>(3 * r) * tap, tap, n);
      }
      for (let ph = 0; ph < 4; ph++) {
        const pr = ph >> 1, pc = ph & 1;
        for (let h = 0; h < halves; h++) {
          const col = ph * Ci + o0 + 4 * h;
          const d = fl(U, ((col >> 3) * C + c) * 8 + (col & 7));
          const t = scratch + <usize>h * 240;
          for (let i = 0; i < 3; i++) {
            // S(pr, i) as a set index: pr = 0: 0, 1, 2; pr = 1: 3, 1, 4
            const rs = i == 1 ? 1 : pr == 0 ? i : (i == 0 ? 3 : 4);
            for (let j = 0; j < 3; j++) {
              const cs = j == 1 ? 1 : pc == 0 ? j : (j == 0 ? 3 : 4);
              v128.store(d + <usize>(3 * i + j) * ks, rowSum(t, rs, cs));
            }
          }
        }
      }
    }
  }
}

// y = b + upconv(x) with U = upconv_wino_pack(w) given.
export function upconv_wino_forward_packed(y: usize, x: usize, U: usize, b: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  if (N <= 0 || H <= 0 || W <= 0 || OC <= 0) return;
  if (C <= 0) {
    for (let p = 0; p < N * 4 * H * W; p++) {
      if (b != 0) memory.copy(fl(y, p * ldy), b, <usize>OC << 2);
      else memory.fill(fl(y, p * ldy), 0, <usize>OC << 2);
    }
    return;
  }
  phase_blocks(y, x, U, b, false, scratch, N, 2 * H, 2 * W, OC, C, ldy, ldx);
}

// y = b + upconv(x), U made from w into scratch first.
export function upconv_wino_forward(y: usize, x: usize, w: usize, b: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  const sc = fl(scratch, al(upconv_wino_packed_size(C, OC)));
  upconv_wino_pack(scratch, w, sc, C, OC);
  upconv_wino_forward_packed(y, x, scratch, b, sc, N, H, W, C, OC, ldy, ldx);
}
