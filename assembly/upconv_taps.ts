// The fused nearest-upsample x2 + 3x3 stride-1 pad-1 conv (upconv.ts) on tiny images by its nine taps, on weights
// packed once (inference at load: upconv_taps_pack, each tap's C x OC matrix in 8-wide panels, w's size):
//   Z_t = x . w_t   for every x pixel and tap t (one GEMM per tap, rows = the N H W x pixels),
//   y[p][q] = b + sum over the taps (r, s) of Z_rs at x pixel ((p + r - 1) >> 1, (q + s - 1) >> 1), where inside.
// 9 MACs per x pixel and channel pair, as the parity parts (upconv_parts.ts), but every GEMM row is a real pixel:
// the parts' rows are their grids' positions ((H+1) x (W+1) for EE: 9 on a 2x2 image, most of their taps on the
// padding), and a last row block of 1 of 4 rows does the madds of 4. Each weight is read once, every row block full
// where the pixels are a multiple of 4. For the generator's 1024-channel up2 / up3 at batch 1 (2x2 and 4x4 x pixels), where
// the split taps' 16 transformed matrices (16/9 of w) stream from memory for 4 to 36 GEMM rows each (conv-dispatch.ts
// upconvForward).
// x (N, H, W, C) pixel stride ldx -> y (N, 2H, 2W, OC) pixel stride ldy; b [OC] (0 = none). Overwrites y.
import { igemm_4x8, pack_panels } from './gemm';
import { loadN, put } from './winograd_blocks';

// @ts-ignore: decorator
@inline function al(n: i32): i32 { return (n + 15) & ~15; }
// @ts-ignore: decorator
@inline function c4(n: i32): i32 { return (n + 3) & ~3; }
// @ts-ignore: decorator
@inline function c8(n: i32): i32 { return (n + 7) & ~7; }
// @ts-ignore: decorator
@inline function fl(p: usize, n: i32): usize { return p + (<usize>n << 2); }

// Floats of the packed weights: per tap ceil(OC / 8) panels of C x 8.
export function upconv_taps_packed_size(C: i32, OC: i32): i32 { return 9 * C * c8(OC); }

// w HWIO [3][3][C][OC] -> per tap t its panels at wp + t C c8(OC) floats, one after another (a tap's GEMM streams
// one contiguous block: with the taps interleaved per panel, as conv2d_pack lays them, 0.75-0.95x).
export function upconv_taps_pack(wp: usize, w: usize, C: i32, OC: i32): void {
  for (let t = 0; t < 9; t++) pack_panels(fl(wp, t * C * c8(OC)), fl(w, t * C * OC), C, OC, OC);
}

// Floats of scratch: a zero vector, the nine Z_t (P x c4(OC) each), the GEMM's row tables, a y pixel's sources.
export function upconv_taps_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 {
  const P = N * H * W;
  return al(c4(C)) + al(9 * P * c4(OC)) + 2 * al(P) + 16;
}

export function upconv_taps_forward_packed(y: usize, x: usize, wp: usize, b: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  if (N <= 0 || H <= 0 || W <= 0 || OC <= 0) return;
  const P = N * H * W, ldz = c4(OC), YH = 2 * H, YW = 2 * W;
  const zero = scratch, Z = fl(zero, al(c4(C))), ind = fl(Z, al(9 * P * ldz)), outp = fl(ind, al(P)), src = fl(outp, al(P));
  if (C > 0) {
    memory.fill(zero, 0, <usize>c4(C) << 2);
    for (let p = 0; p < P; p++) store<u32>(ind + (<usize>p << 2), <u32>fl(x, p * ldx));
    const ps = <usize>C << 5; // bytes of a panel
    for (let t = 0; t < 9; t++) {
      for (let p = 0; p < P; p++) store<u32>(outp + (<usize>p << 2), <u32>fl(Z, (t * P + p) * ldz));
      igemm_4x8(P, 1, C, ind, outp, 0, fl(wp, t * C * c8(OC)), 32, ps, OC, 0, 0, zero, 0);
    }
  } else memory.fill(Z, 0, <usize>(9 * P * ldz) << 2);
  // y pixel (p, q) of image n: the bias, then the Z rows of the taps (r, s) that see a pixel of the image, in order
  // (a Z row's lanes past OC are never written by the GEMM and never stored: put keeps nc lanes)
  for (let n = 0; n < N; n++) {
    for (let p = 0; p < YH; p++) {
      for (let q = 0; q < YW; q++) {
        let m = 0;
        for (let r = 0; r < 3; r++) {
          const u = p + r - 1;
          if (u < 0 || u >= YH) continue;
          for (let s = 0; s < 3; s++) {
            const v = q + s - 1;
            if (v < 0 || v >= YW) continue;
            store<u32>(src + (<usize>m << 2), <u32>fl(Z, ((3 * r + s) * P + (n * H + (u >> 1)) * W + (v >> 1)) * ldz));
            m++;
          }
        }
        const o = fl(y, ((n * YH + p) * YW + q) * ldy);
        for (let c = 0; c < OC; c += 4) {
          const nc = min(4, OC - c), cb = <usize>c << 2;
          let acc = b != 0 ? loadN(b + cb, nc) : f32x4.splat(0);
          for (let i = 0; i < m; i++) acc = f32x4.add(acc, v128.load(<usize>load<u32>(src + (<usize>i << 2)) + cb));
          put(o + cb, acc, nc, false);
        }
      }
    }
  }
}
