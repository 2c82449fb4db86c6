// Tile gathering shared by the Winograd kernels (winograd.ts: 4x4 patches at stride 2; winograd_split.ts: 3x3 at stride 2;
// winograd_s2.ts: 6x6 patches at stride 4; the backward-weight passes: a tile's 2x2 output-gradient pixels):
// pointer tables to a tile's pixels and to the GEMM's rows, zero-padded copies of a channel tail, and the 4x4 transpose that writes
// transformed weights into the 8-wide GEMM panels.
import { storeT4 } from './simd';

// Fills ptr[0..P*P) with the byte pointers of tile t's P x P patch (row-major; its top-left pixel at
// (step*ti - pad, step*tj - pad)), `zero` outside the image. x (N, H, W, C) pixel stride ldx; TH x TW tiles
// per image.
// @ts-ignore: decorator
@inline export function patchPtrs(ptr: usize, t: i32, x: usize, ldx: i32, zero: usize, H: i32, W: i32, TH: i32, TW: i32, P: i32, step: i32, pad: i32 = 1): void {
  const n = t / (TH * TW), q = t - n * TH * TW, ti = q / TW, tj = q - ti * TW;
  const ih0 = step * ti - pad, iw0 = step * tj - pad;
  for (let i = 0; i < P; i++) {
    const ih = ih0 + i;
    const rowOk = ih >= 0 && ih < H;
    for (let j = 0; j < P; j++) {
      const iw = iw0 + j;
      store<u32>(ptr + (<usize>(i * P + j) << 2), <u32>(rowOk && iw >= 0 && iw < W ? x + (<usize>(((n * H + ih) * W + iw) * ldx) << 2) : zero));
    }
  }
}

// The GEMM row tables of one chunk of R tiles: ind[r] = the tile's transformed-input row (V + r*ldv floats), outp[r]
// = its product row (M + r*ldm floats); igemm_4x8 adds each transform position's offset to both.
export function rowTables(ind: usize, V: usize, ldv: i32, outp: usize, M: usize, ldm: i32, R: i32): void {
  for (let r = 0; r < R; r++) {
    store<u32>(ind + (<usize>r << 2), <u32>(V + (<usize>(r * ldv) << 2)));
    store<u32>(outp + (<usize>r << 2), <u32>(M + (<usize>(r * ldm) << 2)));
  }
}

// For the channel tail [c0, C): copies the tail of each of the np pointers of `tab` into tmp, zero-padded to 4
// lanes, and returns a table of np pointers to those copies (at tmp + 16*np bytes), to read at offset 0.
export function tailPtrs(tab: usize, np: i32, c0: i32, C: i32, tmp: usize): usize {
  const t2 = tmp + (<usize>np << 4);
  for (let p = 0; p < np; p++) {
    const s = <usize>load<u32>(tab + (<usize>p << 2)) + (<usize>c0 << 2);
    const d = tmp + (<usize>p << 4);
    v128.store(d, f32x4.splat(0));
    for (let c = 0; c < C - c0; c++) store<f32>(d + (<usize>c << 2), load<f32>(s + (<usize>c << 2)));
    store<u32>(t2 + (<usize>p << 2), <u32>d);
  }
  return t2;
}

// Loads 4 vectors at q, q + stride, q + 2*stride, q + 3*stride (4 rows of a 4x4 block) and stores their
// transpose at d, d + 32, d + 64, d + 96 (consecutive rows of an 8-float panel: lanes 0-3 of each).
// @ts-ignore: decorator
@inline export function storeTransposed4(q: usize, stride: usize, d: usize): void {
  storeT4(d, 32, v128.load(q), v128.load(q + stride), v128.load(q + 2 * stride), v128.load(q + 3 * stride));
}

// Floats from one transform position's block of a chunk (R tiles x C channels: V, M) to the next: the block plus 16
// (64 bytes). A tile's 9 to 25 positions are written and read together; unpadded, their blocks lie a power of two
// apart whenever the chunk's tiles and the channels are (256 tiles x 256 channels: 256 KiB), so all of them map to
// the same L1 sets and evict each other. Measured (upconv split forward, 32x32x256 -> 64, batch 1 and 8): 1.11-1.12x.
// @ts-ignore: decorator
@inline export function posStride(n: i32): i32 { return n + 16; }

// Floats from one transformed weight matrix (K rows of 8-wide panels over n columns) to the next, padded apart
// (posStride) for the same reason: a weight transform writes all its matrices at once.
// @ts-ignore: decorator
@inline export function matrixStride(K: i32, n: i32): i32 { return posStride(K * ((n + 7) & ~7)); }
