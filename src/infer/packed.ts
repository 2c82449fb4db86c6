// Weights packed once at load for the weight-bound small layers (f32 files): conv2d_pack lays a layer's weights
// out as the GEMM's 8-wide panels, and every run is conv2d_forward_packed on them (assembly/conv2d.ts): one GEMM
// over all taps, nothing copied or packed per call. Which layers, by shape: see packAtLoad. A fused upsample +
// conv on a 1x1 image (the generator's up1) is four 1x1 convs, one per output pixel, each on the sum of the taps
// that see the pixel (upconvPhases1x1); packed the same way.
import { convKernels, splitF42, upconvForward } from '../core/conv-dispatch.js';
import { convOut } from '../nn/shapes.js';
import { CHUNK_FLOATS } from './weights.js';

/**
 * Whether an inference conv x (N, H, W, C) -> OC, k x k, runs on weights packed at load: the direct conv
 * (not Winograd) with at most 64 output pixels. There the GEMM reads each weight about once, so the per-call work
 * (the f32 copy into scratch, and packing or reading w in place) is as large as the GEMM itself. Measured, time
 * conv2d_forward / conv2d_forward_packed (relaxed build, 1 thread, CPU time, 9 interleaved pairs, batch 1 at
 * 128 px; shared 2-core machine): down4 P=64 1.14x, down5 P=16 1.24x, down6 P=4 2.59x, down7 P=1 1.21x (both on
 * the one-row GEMV tile; 1.02x in an earlier wall-clock run), the discriminators' conv4 P=64 / 16 / 4 1.12x /
 * 1.27x / 2.34x, the encoder's 8x8 layers P=64 1.06-1.11x, fc P=1 1.80x; above 64 pixels conv2d_forward packs the
 * whole w per call and that pass is small against the GEMM (final P=16384: 0.99x), while the packed copy would
 * cost its f32 size in memory. f32 files pack these layers once at load
 * (the panels replace the copy per run); f16 / int8 files keep their compressed weights (packing them at load would
 * add their f32 size: 36 MiB for the pytorch-gan generator at 128 px, 44 MiB with the encoder, against a 47 MiB
 * f16 file) and dequantise them per call straight into the panels where panelsPerCall says.
 */
export function packAtLoad(N: number, H: number, W: number, C: number, OC: number, k: number, stride: number, pad: number): boolean {
  const P = N * convOut(H, k, stride, pad, 'packAtLoad') * convOut(W, k, stride, pad, 'packAtLoad');
  return P <= 64 && convKernels(N, H, W, C, OC, k, stride, pad).fwd === 'direct';
}

/**
 * Whether an inference conv runs the 3x3 stride-2 conv with its taps split by parity on the 16 matrices transformed
 * once at load (f32 files; upconv_split_pack, 16/9 of w, or split4_pack, 4x w: splitTaps): convKernels(..., packed)
 * (conv-dispatch.ts splitS2Wins).
 * Checked before packAtLoad. f16 / int8 files take the per-call kernels.
 */
export function splitAtLoad(N: number, H: number, W: number, C: number, OC: number, k: number, stride: number, pad: number): boolean {
  return convKernels(N, H, W, C, OC, k, stride, pad, true).fwd === 'split_s2';
}

/**
 * f16 / int8 files: whether a packAtLoad layer chunk of `floats` weights (f32) is dequantised per call straight into
 * the panels (dequant_*_panels + conv2d_forward_packed) instead of into the conv layout (dequant_* + conv2d_forward):
 * at the converter's default chunk size or below. Measured per chunk (CPU time, relaxed build, 9 interleaved
 * pairs): f16 down4 (128 channels) 1.08x, down5 / down6 / down7 (64 channels) 1.18x / 1.46x / 1.14x; int8 1.02x,
 * 1.13x, 1.44x, 1.07x; a whole unchunked 512-channel layer 0.75x (down7: the panels take all 9 taps, the conv
 * skips the 5 that only see padding) to 1.17x.
 */
export function panelsPerCall(floats: number): boolean {
  return floats <= CHUNK_FLOATS;
}

/** The exports of the split taps on weights transformed once, for a layer x (N, H, W, C) -> OC: 'upconv' the fused
 * upsample + conv, 's2' the 3x3 stride-2 conv; F(4, 2) where conv-dispatch.ts splitF42 says, else F(2, 2). The
 * pack writes a chunk of output channels into one U (size: its floats for n channels); run(y, x, U, b, scratch, N, H,
 * W, C, n, ldy, ldx). */
export function splitTaps(op: 'upconv' | 's2', N: number, H: number, W: number, C: number, OC: number) {
  const f42 = splitF42(op, N, H, W, C, OC), up = op === 'upconv';
  return {
    size: f42 ? 'split4_packed_size' : 'upconv_split_packed_size',
    pack: f42 ? 'split4_pack' : 'upconv_split_pack',
    scratch: up ? (f42 ? 'upconv_split4_packed_scratch_size' : 'upconv_split_packed_scratch_size') : f42 ? 'conv3s2_split4_packed_scratch_size' : 'conv3s2_split_packed_scratch_size',
    run: up ? (f42 ? 'upconv_split4_forward_packed' : 'upconv_split_forward_packed') : f42 ? 'conv3s2_split4_forward_packed' : 'conv3s2_split_forward_packed',
  } as const;
}

/** A fused upsample + conv on a 1x1 image, OC > 4 (up1 of the pytorch-gan generator): packed as 4 1x1 convs. */
export function upconvPacks1x1(H: number, W: number, OC: number): boolean {
  return H === 1 && W === 1 && OC > 4;
}

/**
 * Whether a fused upsample + conv (OC > 4, f32 file) runs on weights transformed once at load. By
 * upconvForward(..., packed): the split taps' matrices (splitTaps: 16/9 of w, or 4x w by F(4, 2)) wherever they win,
 * w's nine taps in panels on tiny images ('taps': upconv_taps_pack, w's size), or else
 * the four phases' panels (upconv_pack, 16/9 of w) at every size those serve without w (more than 8 input pixels;
 * at most 8 the phases upsample and run the direct conv on w itself). 1x1 images take upconvPacks1x1. Measured per
 * layer against the per-call kernels: see conv-dispatch.ts and the README.
 */
export function upconvPacks(N: number, H: number, W: number, C: number, OC: number): boolean {
  if (OC <= 4 || (H === 1 && W === 1)) return false;
  return N * H * W > 8 || upconvForward(N, H, W, C, OC, true) !== 'phases';
}

/** 3x3 taps (rows, or columns) that see the one pixel of a 1x1 image from upsampled output row (column) a: the
 * output row a of up2(x) (2x2) reads upsampled rows a - 1 .. a + 1 (kh 0..2); rows 0 and 1 are the pixel. */
const LIVE: readonly (readonly number[])[] = [[1, 2], [0, 1]];

/**
 * The four output pixels' weights of conv3x3(up2(x)) for a 1x1 image x: phase ph = 2a + b (output pixel (a, b))
 * gets sum over kh in LIVE[a], kw in LIVE[b] of w[kh][kw], a [C][n] matrix; w is [3][3][C][n] (HWIO, n channels).
 */
export function upconvPhases1x1(w: Float32Array, C: number, n: number): Float32Array[] {
  const tap = C * n;
  return [0, 1, 2, 3].map((ph) => {
    const out = new Float32Array(tap);
    for (const kh of LIVE[ph >> 1])
      for (const kw of LIVE[ph & 1]) {
        const src = w.subarray((kh * 3 + kw) * tap, (kh * 3 + kw + 1) * tap);
        for (let i = 0; i < tap; i++) out[i] += src[i];
      }
    return out;
  });
}

/** Work done once after the networks are built: `run` gets a wasm region of `floats` floats to stage weights in. */
export interface PackJob {
  floats: number;
  run(tmp: number): void;
}
