// The real conv layer shapes of the nets at 128x128, batch 1, named after their layers, for bench/kernels.bench.ts.
// Convs: the pytorch-gan preset (bicyclegan-reference.md §3): U-Net generator (3x3 s2 down convs, 3x3 s1 up convs
// at the upsampled size, final conv), the 3-scale PatchGAN (4x4 s2, final 3x3), the resnet18 encoder (7x7 s2,
// 3x3, 1x1 s2). Conv-transposes: the pytorch-gan nets have none (they upsample + conv), so the deconv rows are
// the official preset's unet_128 decoder (add_all, nz 8, ngf 64; §4.1): ConvTranspose 4x4 s2 p1.

export interface BenchConv {
  name: string;
  /** input H = W, input channels, output channels, kernel, stride, pad */
  H: number; C: number; OC: number; K: number; s: number; p: number;
  /** how many layers of the nets share this exact shape (for the weighted total) */
  count: number;
}

export interface BenchDeconv {
  name: string;
  /** deconv input H = W and channels -> output channels; output is (H-1)*s - 2p + K */
  H: number; C: number; OC: number; K: number; s: number; p: number;
  count: number;
}

const c = (name: string, H: number, C: number, OC: number, K: number, s: number, p: number, count = 1): BenchConv =>
  ({ name, H, C, OC, K, s, p, count });

export const CONV_SHAPES: BenchConv[] = [
  // Generator (U-Net, z-map concatenated as a 4th input channel)
  c('unet.down1', 128, 4, 64, 3, 2, 1),
  c('unet.down2', 64, 64, 128, 3, 2, 1),
  c('unet.down3', 32, 128, 256, 3, 2, 1),
  c('unet.down4', 16, 256, 512, 3, 2, 1),
  c('unet.down5', 8, 512, 512, 3, 2, 1),
  c('unet.down6', 4, 512, 512, 3, 2, 1),
  c('unet.down7', 2, 512, 512, 3, 2, 1),
  c('unet.up1', 2, 512, 512, 3, 1, 1),
  c('unet.up2', 4, 1024, 512, 3, 1, 1),
  c('unet.up3', 8, 1024, 512, 3, 1, 1),
  c('unet.up4', 16, 1024, 256, 3, 1, 1),
  c('unet.up5', 32, 512, 128, 3, 1, 1),
  c('unet.up6', 64, 256, 64, 3, 1, 1),
  c('unet.final', 128, 128, 3, 3, 1, 1),
  // PatchGAN discriminator, 3 scales (x2 instances: D_VAE and D_LR)
  c('patchgan.s0.conv1', 128, 3, 64, 4, 2, 1, 2),
  c('patchgan.s0.conv2', 64, 64, 128, 4, 2, 1, 2),
  c('patchgan.s0.conv3', 32, 128, 256, 4, 2, 1, 2),
  c('patchgan.s0.conv4', 16, 256, 512, 4, 2, 1, 2),
  c('patchgan.s0.conv5', 8, 512, 1, 3, 1, 1, 2),
  c('patchgan.s1.conv1', 64, 3, 64, 4, 2, 1, 2),
  c('patchgan.s1.conv2', 32, 64, 128, 4, 2, 1, 2),
  c('patchgan.s1.conv3', 16, 128, 256, 4, 2, 1, 2),
  c('patchgan.s1.conv4', 8, 256, 512, 4, 2, 1, 2),
  c('patchgan.s1.conv5', 4, 512, 1, 3, 1, 1, 2),
  c('patchgan.s2.conv1', 32, 3, 64, 4, 2, 1, 2),
  c('patchgan.s2.conv2', 16, 64, 128, 4, 2, 1, 2),
  c('patchgan.s2.conv3', 8, 128, 256, 4, 2, 1, 2),
  c('patchgan.s2.conv4', 4, 256, 512, 4, 2, 1, 2),
  c('patchgan.s2.conv5', 2, 512, 1, 3, 1, 1, 2),
  // resnet18 encoder (conv1, layer1..layer3)
  c('resnet.conv1', 128, 3, 64, 7, 2, 3),
  c('resnet.layer1.0.conv1', 32, 64, 64, 3, 1, 1, 4), // and layer1.0.conv2, layer1.1.conv1/2
  c('resnet.layer2.0.conv1', 32, 64, 128, 3, 2, 1),
  c('resnet.layer2.0.downsample', 32, 64, 128, 1, 2, 0),
  c('resnet.layer2.0.conv2', 16, 128, 128, 3, 1, 1, 3), // and layer2.1.conv1/2
  c('resnet.layer3.0.conv1', 16, 128, 256, 3, 2, 1),
  c('resnet.layer3.0.downsample', 16, 128, 256, 1, 2, 0),
  c('resnet.layer3.0.conv2', 8, 256, 256, 3, 1, 1, 3), // and layer3.1.conv1/2
];

// Official unet_128 (add_all) decoder: ConvTranspose2d(k4, s2, p1), input spatial -> 2x.
export const DECONV_SHAPES: BenchDeconv[] = [
  { name: 'offunet128.b6.upconv', H: 1, C: 512, OC: 512, K: 4, s: 2, p: 1, count: 1 },
  { name: 'offunet128.b5.upconv', H: 2, C: 1024, OC: 512, K: 4, s: 2, p: 1, count: 1 },
  { name: 'offunet128.b4.upconv', H: 4, C: 1024, OC: 512, K: 4, s: 2, p: 1, count: 1 },
  { name: 'offunet128.b3.upconv', H: 8, C: 1024, OC: 256, K: 4, s: 2, p: 1, count: 1 },
  { name: 'offunet128.b2.upconv', H: 16, C: 512, OC: 128, K: 4, s: 2, p: 1, count: 1 },
  { name: 'offunet128.b1.upconv', H: 32, C: 256, OC: 64, K: 4, s: 2, p: 1, count: 1 },
  { name: 'offunet128.b0.upconv', H: 64, C: 128, OC: 3, K: 4, s: 2, p: 1, count: 1 },
];

/** Multiply-accumulates of one pass (forward, backward-input and backward-weight all have the same count). */
export function convMacs(sh: { H: number; C: number; OC: number; K: number; s: number; p: number }): number {
  const OH = Math.floor((sh.H + 2 * sh.p - sh.K) / sh.s) + 1;
  return OH * OH * sh.OC * sh.K * sh.K * sh.C;
}

/** A deconv's MACs = those of its dual conv: input pixels * C * OC * K*K / (no structural zeros counted). */
export function deconvMacs(sh: BenchDeconv): number {
  return sh.H * sh.H * sh.C * sh.OC * sh.K * sh.K;
}

/** The pytorch-gan generator's upsample x2 + 3x3 conv layers at 128x128 (UNetUp up1..up6 and the final block),
 * as the fused upconv op sees them: low-resolution input H = W, C -> OC at 2H x 2H. The direct conv of the same
 * layer is `unet.<name>` above (its H is the upsampled 2H). */
export interface BenchUpconv { name: string; H: number; C: number; OC: number; count: number }
export const UPCONV_SHAPES: BenchUpconv[] = CONV_SHAPES
  .filter((s) => /^unet\.(up\d|final)$/.test(s.name))
  .map((s) => ({ name: s.name.replace('unet.', 'upsconv.'), H: s.H / 2, C: s.C, OC: s.OC, count: s.count }));

/** MACs of the direct 3x3 conv on the upsampled image (the "effective" count the fused op is rated by). */
export const upconvDirectMacs = (sh: BenchUpconv): number => 4 * sh.H * sh.H * 9 * sh.C * sh.OC;

/** The Winograd rows: the stride-1 3x3 convs with more than 4 channels each side (the ResNet encoder's blocks;
 * F(2x2, 3x3), winograd3_*) and the 4x4 stride-2 ones (the discriminators' conv2..conv4; F(2x2, 2x2) over the
 * input's phases, winograd_s2_*), each against the same layer through conv2d_*. */
export const WINO_SHAPES: BenchConv[] = CONV_SHAPES.filter((s) => ((s.K === 3 && s.s === 1) || (s.K === 4 && s.s === 2)) && s.p === 1 &&
  s.C > 4 && s.OC > 4 && !s.name.startsWith('unet.'));
