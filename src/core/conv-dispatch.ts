// Which conv kernel a layer runs, by its shape: the training layers (src/nn/conv2d.ts) and the inference
// builder (src/infer/nets.ts) both ask here, so a layer computes the same function the same way in both.

/** Winograd F(2x2, 3x3) (assembly/winograd.ts) instead of the direct conv: stride-1 pad-1 3x3 convs with at least
 * 32 channels on both sides and 64 output tiles (N * ceil(H/2) * ceil(W/2)). Measured (npm run bench:kernels,
 * winograd rows; time direct / Winograd, forward, backward-input, backward-weight): 1.3-1.9x on 32x32x64 and
 * 16x16x128 at batch 1 and 4 and on 8x8x256 at batch 4; at 16 tiles (8x8x256 batch 1) 1.0-1.2x, at 4 tiles
 * 0.4-0.6x (the 16/9 larger transformed weights dominate), and with 16 channels 0.8-1.3x. */
export function winograd3Wins(N: number, H: number, W: number, C: number, OC: number, k: number, stride: number, pad: number): boolean {
  return k === 3 && stride === 1 && pad === 1 && Math.min(C, OC) >= 32 && N * Math.ceil(H / 2) * Math.ceil(W / 2) >= 64;
}
