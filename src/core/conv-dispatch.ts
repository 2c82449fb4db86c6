// Which conv kernel each pass of a layer runs, by its shape: the training layers (src/nn/conv2d.ts) and the
// inference builder (src/infer/nets.ts) both ask here, so a layer computes the same function the same way in both.
// Decided by `npm run bench:kernels` (the wino.* rows: direct and Winograd timed interleaved on the nets' layers at
// batch 1 and 4; time direct / Winograd quoted below as forward / backward-input / backward-weight).

/** 'direct': conv2d_* (assembly/conv2d.ts); 'wino3': Winograd F(2x2, 3x3), winograd3_* (assembly/winograd.ts);
 * 'wino_s2': four phase 2x2 convs by Winograd F(2x2, 2x2), winograd_s2_* (assembly/winograd_s2.ts); 'wino_s2f4':
 * the same by F(4x4, 2x2), winograd_s2f4_* (assembly/winograd_s2f4.ts); 'split_s2': the 3x3 stride-2 conv with its
 * taps split by parity, conv3s2_split_* (assembly/conv3s2_split.ts). */
export type ConvKernel = 'direct' | 'wino3' | 'wino_s2' | 'wino_s2f4' | 'split_s2';
export interface ConvKernels { fwd: ConvKernel; bwdIn: ConvKernel; bwdW: ConvKernel }

/** Output tiles of 2x2 pixels over the batch. */
const tiles = (N: number, OH: number, OW: number) => N * Math.ceil(OH / 2) * Math.ceil(OW / 2);

/** Winograd F(2x2, 3x3) instead of the direct conv in all three passes: stride-1 pad-1 3x3 convs with at least
 * 32 channels on both sides and 16 output tiles. Measured: 1.1-2.1x in every pass on 32x32x64 and 16x16x128 at
 * batch 1 and 4 and on 8x8x256 at batch 4; at 16 tiles (8x8 at batch 1, since the transform positions' blocks are
 * padded apart: winograd_tiles.ts posStride) 1.29-1.55x with 32-256 channels, 0.96-1.03x with 512; at 8-9 tiles
 * 0.8-1.0x, at 4 tiles 0.36-0.7x (the 16/9 larger transformed weights dominate); with 16 channels 0.8-1.3x. */
export function winograd3Wins(N: number, H: number, W: number, C: number, OC: number, k: number, stride: number, pad: number): boolean {
  return k === 3 && stride === 1 && pad === 1 && Math.min(C, OC) >= 32 && tiles(N, H, W) >= 16;
}

/** The 4x4 stride-2 pad-1 conv by phases and F(2x2, 2x2), per pass: >= 32 channels each side, and >= 16 output
 * tiles (forward, backward-weight) or >= 32 (backward-input). The transformed weights (36 C OC floats) are written per
 * call, so the GEMMs must outweigh that pass. Measured direct / Winograd (relaxed build, one thread, Zen 5, 7
 * interleaved pairs) on the discriminators' layers, batch 1 to 8: from 32 tiles 1.13-1.68x in every pass (64 -> 128
 * to 512 -> 512 channels); at 16 tiles forward 1.04-1.39x, backward-weight 1.19-1.41x, backward-input 0.94-1.19x;
 * at 8 tiles forward 0.88-1.10x, backward-weight 0.89-0.94x, backward-input 0.66-0.87x; below 0.2-0.9x. */
export function winogradS2Wins(pass: 'fwd' | 'bwdIn' | 'bwdW', N: number, H: number, W: number, C: number, OC: number, k: number, stride: number, pad: number): boolean {
  if (k !== 4 || stride !== 2 || pad !== 1 || H < 2 || W < 2 || C < 32 || OC < 32) return false;
  const t = tiles(N, Math.floor((H - 2) / 2) + 1, Math.floor((W - 2) / 2) + 1);
  return t >= (pass === 'bwdIn' ? 32 : 16);
}

/** Where winogradS2Wins, F(4x4, 2x2) instead of F(2x2, 2x2) (6.25 multiply-adds per output pixel and channel pair
 * against 9, on 25 transformed matrices of 4 C rows written per call: 6.25x w against 2.25x): from 64 output tiles
 * of 4x4 pixels (8x8 dx blocks in backward-input, as many), where the GEMMs outweigh the larger transforms. Measured
 * F(2x2, 2x2) / F(4x4, 2x2) time, forward / backward-input / backward-weight (relaxed build, one thread, Zen 5,
 * medians of 5 alternated, .scratch timings): 64x64x64 -> 128 at batch 8 (512 tiles) 1.31 / 1.27 / 1.35x, at batch 1
 * (64) 1.22 / 1.22 / 1.13x; 32x32x128 -> 256 at batch 8 (128) 1.27 / 1.30 / 1.14x, at batch 1 (16) 0.96 / 0.92 /
 * 0.77x; 16x16x256 -> 512 at batch 8 (32) 1.04 / 1.05 / 0.81x, at batch 1 (4) 0.61 / 0.55 / 0.27x. Max |y -
 * direct| / max |direct| up to 1.0e-5 (F(2x2, 2x2): 2.5e-6). */
export function winogradS2F4Wins(pass: 'fwd' | 'bwdIn' | 'bwdW', N: number, H: number, W: number, C: number, OC: number, k: number, stride: number, pad: number): boolean {
  if (!winogradS2Wins(pass, N, H, W, C, OC, k, stride, pad)) return false;
  const OH = Math.floor((H - 2) / 2) + 1, OW = Math.floor((W - 2) / 2) + 1;
  return N * Math.ceil(OH / 4) * Math.ceil(OW / 4) >= 64;
}

/** The 3x3 stride-2 pad-1 conv with its taps split by parity (the generator's down2..down5, the encoder's strided
 * 3x3 convs), per pass: 6.25 multiply-adds per output pixel and channel pair against the direct conv's 9, on 16
 * transformed weight matrices (16/9 of w) written per call in training (`packed`: once at load, inference).
 * At least 64 channels each side, and output tiles of 2x2 pixels: forward per call >= 128 tiles (>= 64 at >= 128
 * input channels); packed >= 4 tiles and an output of at least 2x2; backward-weight >= 32 tiles at >= 128 input
 * channels. Measured direct / split (`npm run bench:kernels`, split rows, and 7 interleaved pairs in scratch runs;
 * relaxed build, one thread, Zen 5): forward per call 1.07-1.25x from 128 tiles (down2 64x64x64 -> 128 at batch 1
 * 1.08-1.15x) and 1.03-1.16x at 64 tiles with 128 input channels (32x32x64 -> 128: 0.99-1.01x), 0.76-0.88x at 16
 * tiles, 0.04-0.5x below (the pack per call); packed (against conv2d_forward_packed) 1.06-1.32x from 4 tiles (8x8x512
 * -> 512 at batch 1 1.06-1.24x), 0.57x at 1 tile, 0.14x on 1x1 outputs at batch 4; backward-weight 1.13-1.28x from 32
 * tiles at 128-512 input channels, 0.89-1.21x at 16, 0.97-1.08x with 64 input channels, 0.45x at 4 tiles; with 32
 * channels 0.8-1.07x, with 11 input channels 0.4-0.6x. Its backward-input stays direct. */
export function splitS2Wins(pass: 'fwd' | 'bwdW', N: number, H: number, W: number, C: number, OC: number, k: number, stride: number, pad: number, packed = false): boolean {
  if (k !== 3 || stride !== 2 || pad !== 1 || C < 64 || OC < 64) return false;
  const OH = Math.ceil(H / 2), OW = Math.ceil(W / 2), t = tiles(N, OH, OW);
  if (pass === 'bwdW') return t >= 32 && C >= 128;
  return packed ? t >= 4 && OH >= 2 && OW >= 2 : t >= 128 || (t >= 64 && C >= 128);
}

/** The fused upsample x2 + 3x3 conv's forward (the backward passes are upconv.ts's box sums, 9 MACs per x pixel):
 * 'phases' upconv_forward (four 2x2 phase GEMMs, 16 MACs per x pixel and channel pair; at most 8 x pixels the
 * upsampled image and the direct conv, reading w once) or 'split' (the taps split by parity, assembly/winograd_split.ts:
 * 6.25 per x pixel, on 16 transformed weight matrices, 16/9 of w as the phases' panels), per call 'parts' (below), on
 * packed weights at most TAPS_P x pixels 'taps' (below). `packed`: the weights are
 * transformed once beforehand (inference at load: upconv_split_forward_packed against upconv_forward_packed) rather
 * than per call (training: upconv_split_forward against upconv_forward). Measured phases / split (relaxed build,
 * one thread, Zen 5): on packed weights 1.3-2.1x on the generator's up2..up6 at batch 1 (2x2x1024 -> 512 1.95x,
 * 4x4x1024 -> 512 1.31x, 8x8 -> 256 1.77x, 16x16x512 -> 128 2.08x, 32x32x256 -> 64 1.83x), 1.3x on 64x64x128 -> 16,
 * 1.1x on 32x32x32 -> 32, 0.97x with 16 input or 8 output channels, 0.83x on 2x2x64 -> 64 at batch 4, 0.3x on 1x1
 * images (no tile has more than one E row); per call, before its matrices were padded apart (below), 1.25-2.0x
 * from 16 x pixels at 1024 input channels and from 64 at 24-32, 0.5-0.85x below (the pack of 16 C OC floats per
 * call: 2x2x1024 -> 512 at batch 1 0.52x, 4x4x64 -> 64 0.85x); with 3-4 output channels 0.4-0.5x (upconv.ts's
 * narrow dot-product kernels). Per call it is taken above PARTS_P x pixels (at most PARTS_P, with more than 4
 * output channels, 'parts' is taken): since its transformed matrices are padded apart (winograd_tiles.ts
 * posStride) it is ahead of the phases at any pixel count with 16+ channels (4x4x128 -> 64 at batch 3 0.185 vs
 * 0.257 ms, 2x2x64 -> 64 at batch 12 0.111 vs 0.147). */
export type UpconvKernel = 'phases' | 'split' | 'parts' | 'taps';
/** The kernels of the per-call forward (training, and inference on f16 / int8 weights): 'taps' runs packed only. */
export type UpconvCallKernel = Exclude<UpconvKernel, 'taps'>;
export function upconvForward(N: number, H: number, W: number, C: number, OC: number, packed?: false): UpconvCallKernel;
export function upconvForward(N: number, H: number, W: number, C: number, OC: number, packed: boolean): UpconvKernel;
export function upconvForward(N: number, H: number, W: number, C: number, OC: number, packed = false): UpconvKernel {
  const P = N * H * W;
  if (!packed && OC > 4 && P <= PARTS_P) return 'parts';
  if (H < 2 || W < 2 || C < 16 || OC < 16) return 'phases';
  return packed && P <= TAPS_P ? 'taps' : 'split';
}

/** x pixels (N H W) up to which the forward on weights packed once (inference, f32 files) runs 'taps'
 * (upconv_taps_forward_packed, assembly/upconv_taps.ts: one GEMM per tap over the x pixels, on w's nine taps packed
 * in panels, w's size) instead of the split taps (16 matrices, 16/9 of w, each a GEMM of 4 to 36 rows at these
 * sizes). Measured split / taps (`npm run bench:kernels`, taps rows: interleaved pairs, relaxed build, one thread;
 * three runs, two of them inside `npm run bench`): 2x2x512 -> 512 (up1 at 256 px) 1.80-1.90x, 2x2x1024 -> 512 (up2
 * at 128 px) 1.65-1.73x, at batch 2 1.22-1.35x, at batch 4 (16 pixels) 1.16-1.19x, 4x4x1024 -> 512 (up3 at 128 px,
 * up2 at 256) 1.03-1.10x; at 64 pixels 0.84x (8x8x1024 -> 256, .scratch timing). In the generator (profileGenerate, one thread): up2 at 128 px 2.14 -> 1.57 ms, up3 5.21 -> 4.62; at 256
 * px up1 0.95 -> 0.60, up2 4.68 -> 4.40. */
export const TAPS_P = 16;

/** x pixels (N H W) up to which the per-call forward (training; inference on f16 / int8 weights) runs 'parts'
 * (upconv_parts_forward, assembly/upconv_parts.ts: the same parity parts as the split, on w's own nine taps read in
 * place, 9 MACs per x pixel and nothing transformed): there the split's per-call transform of 16 matrices costs more
 * than its 6.25 MACs save. Measured (relaxed build, one thread, Zen 5, 9 interleaved runs) per call, parts against
 * the split: 4x4x1024 -> 512 at batch 1 (16 pixels) 4.7 vs 7.3 ms, 2x2x1024 -> 512 2.1 vs 5.3, 4x4x256 -> 128 0.24
 * vs 0.30, 1x1x512 -> 512 0.69 vs 1.85 (the upsampled direct conv, before the split); at 32 pixels even (4x4x1024
 * -> 512 at batch 2 9.0 vs 9.8, 2x2x1024 -> 512 at batch 8 11.6 vs 11.4, 4x4x512 -> 256 at batch 2 2.08 vs 2.03);
 * from 64 the split is ahead since its transformed matrices are padded apart (winograd_tiles.ts posStride):
 * 8x8x1024 -> 256 at batch 1 7.3 vs 6.8-7.3, batch 2 14.7 vs 13.1, 4x4x1024 -> 512 at batch 4 17.4 vs 15.8, at
 * batch 8 34.1 vs 29.8, 8x8x128 -> 64 at batch 4 0.87 vs 0.73. On weights packed at load the split stays:
 * 2x2x1024 -> 512 2.06 vs 2.08 ms, 4x4x1024 -> 512 4.3 vs 4.7. */
export const PARTS_P = 32;

/** On weights transformed once (inference, f32 files), whether the split taps run F(4, 2) on their E parts
 * (assembly/winograd_split4.ts: 5.06 multiply-adds per pixel and channel pair on 36 transformed matrices, 4x w)
 * instead of F(2, 2) (6.25 on 16, 16/9 of w): 'upconv' the fused upsample + conv of x (N, H, W, C) -> OC, 's2' the
 * 3x3 stride-2 conv. Its tiles cover 4 E rows, so an upconv's image needs 16+ rows and columns (at 8x8 three tiles
 * a side, one of them a lone E row: up4 at 128 px 0.96-0.98x at batch 1, 0.96x at batch 4) and 256+ input channels
 * (16x16x64 -> 64 0.88x, 64x64x128 -> 16 1.01x); a stride-2 conv 64+ output pixels of 4x4+ (8x8x512 -> 512 at
 * batch 1, one tile: 0.72x; batch 2 1.02x, batch 4 1.17x). Measured F(2, 2) / F(4, 2) time (relaxed build, one
 * thread, Zen 5, 7 alternated pairs, batch 1): up5 16x16x512 -> 128 1.03-1.07x, up6 32x32x256 -> 64 1.07-1.13x,
 * at 256 px up4..up6 1.08-1.13x; down2..down4 at 128 px 1.10-1.21x, at 256 px down2..down5 1.12-1.20x. */
export function splitF42(op: 'upconv' | 's2', N: number, H: number, W: number, C: number, OC: number): boolean {
  if (op === 'upconv') return H >= 16 && W >= 16 && C >= 256 && OC >= 16;
  const OH = Math.ceil(H / 2), OW = Math.ceil(W / 2);
  return OH >= 4 && OW >= 4 && N * OH * OW >= 64 && C >= 64 && OC >= 64;
}

/** The exports of each per-call upconv forward and of its scratch size. */
export const UPCONV_FORWARD = {
  phases: { run: 'upconv_forward', scratch: 'upconv_forward_scratch_size' },
  split: { run: 'upconv_split_forward', scratch: 'upconv_split_forward_scratch_size' },
  parts: { run: 'upconv_parts_forward', scratch: 'upconv_parts_forward_scratch_size' },
} as const;

/** The fused upsample x2 + 3x3 conv's backward-input: 'box' upconv_backward_input (the box sums D of dy, then 9 MACs
 * per x pixel on w as it is) or 'split' upconv_split_backward_input (the same D, then the taps split by parity: 6.25
 * per x pixel, on 16 matrices packed from w per call, 16 OC C floats). Measured box / split (relaxed build, one
 * thread, Zen 5): 1.21-1.25x on up5 and up6 at 128 px batch 1 (256 and 1024 x pixels), 1.14-1.29x on up3..up6 at
 * batch 8; 0.89x on up4 at batch 1 (64 x pixels: the pack costs more than it saves), 0.4-0.6x on up2, up3 at batch 1,
 * 0.94-0.96x with 32-64 input channels. */
export type UpconvBackwardKernel = 'box' | 'split';
export function upconvBackwardInput(N: number, H: number, W: number, C: number, OC: number): UpconvBackwardKernel {
  return H >= 2 && W >= 2 && N * H * W >= 128 && C >= 128 && OC >= 16 ? 'split' : 'box';
}

/** Its backward-weight: 'box' upconv_backward_weight (D, then 9 MACs per x pixel) or 'split'
 * upconv_split_backward_weight (D, then the forward's 25 slots per tile: 6.25 per x pixel, 16 GEMMs on rows packed
 * straight from x and D, then dw from the 16 matrix gradients). Measured box / split (relaxed build, one thread,
 * Zen 5): 1.16x on up5 at batch 1, 1.14-1.18x on up4, up5 at batch 8, 1.05-1.08x on up6 (256 input channels);
 * 0.98-1.02x on up3 at batch 8 and up4 at batch 1, 0.4-0.6x on up2, up3 at batch 1 (the 16 C OC matrix gradients
 * are written and summed whatever the image size), 0.87-0.89x with 32-64 input channels. */
export function upconvBackwardWeight(N: number, H: number, W: number, C: number, OC: number): UpconvBackwardKernel {
  return H >= 2 && W >= 2 && N * H * W >= 256 && C >= 256 && OC >= 16 ? 'split' : 'box';
}

/** The kernel of each pass of a conv layer x (N, H, W, C) -> OC, k x k, stride, pad; `packed`: its forward runs on
 * weights transformed once at load (inference). */
export function convKernels(N: number, H: number, W: number, C: number, OC: number, k: number, stride: number, pad: number, packed = false): ConvKernels {
  if (winograd3Wins(N, H, W, C, OC, k, stride, pad)) return { fwd: 'wino3', bwdIn: 'wino3', bwdW: 'wino3' };
  if (k === 3 && stride === 2) {
    const split = (pass: 'fwd' | 'bwdW'): ConvKernel => (splitS2Wins(pass, N, H, W, C, OC, k, stride, pad, packed) ? 'split_s2' : 'direct');
    return { fwd: split('fwd'), bwdIn: 'direct', bwdW: split('bwdW') };
  }
  const s2 = (pass: 'fwd' | 'bwdIn' | 'bwdW'): ConvKernel => (winogradS2F4Wins(pass, N, H, W, C, OC, k, stride, pad) ? 'wino_s2f4'
    : winogradS2Wins(pass, N, H, W, C, OC, k, stride, pad) ? 'wino_s2' : 'direct');
  return { fwd: s2('fwd'), bwdIn: s2('bwdIn'), bwdW: s2('bwdW') };
}
