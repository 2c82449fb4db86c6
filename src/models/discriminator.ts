// The pytorch-gan multi-scale PatchGAN, described once for every builder: 3 scales, each its own weights
// (models.disc_<s>.*): Conv4x4 s2 p1 (bias) + LeakyReLU; three more with BN(eps 0.8); a final Conv3x3 p1 ->
// 1 channel. Between scales the input is downsampled by AvgPool2d(kernel 3, stride 2, padding 1,
// count_include_pad=False): the reference writes the kernel as the undefined `in_channels` (a NameError); 3 is
// the intended literal. The reference also pools after the last scale; that result is unused, so we skip it.
import { Graph, type Placement, type Tensor } from '../nn/graph.js';
import type { NetBuilder, Shape } from '../nn/builder.js';
import { GraphBuilder } from '../nn/graph-builder.js';
import type { Core } from '../core/loader.js';
import type { ModelConfig } from './config.js';
import { officialDiscriminator } from './official/discriminator.js';

export const D_SCALES = 3;

/** D(image): the image (N, S, S, C) and the per-scale patch score maps (N, h_s, h_s, 1). */
export interface DiscriminatorIO<T> {
  image: T;
  outs: T[];
}

export function discriminator<T extends Shape>(b: NetBuilder<T>, cfg: ModelConfig, N: number): DiscriminatorIO<T> {
  const w = cfg.dBase, eps = cfg.bnEpsD;
  const image = b.input('image', N, cfg.imageSize, cfg.imageSize, cfg.channels);
  const outs: T[] = [];
  const widths = [w, 2 * w, 4 * w, 8 * w], convIdx = [0, 2, 5, 8]; // Sequential indices of the convs
  let x = image;
  for (let s = 0; s < D_SCALES; s++) {
    if (s > 0) x = b.avgpool(`downsample${s}`, x, 3, 2, 1, false);
    const p = `models.disc_${s}`;
    let h = x;
    for (let i = 0; i < 4; i++) {
      const bn = i > 0 ? { name: `${p}.${convIdx[i] + 1}`, eps } : undefined;
      h = b.conv(`${p}.${convIdx[i]}`, h, widths[i], { k: 4, stride: 2, pad: 1, bias: true, bn, act: { leaky: 0.2 } });
    }
    outs.push(b.conv(`${p}.11`, h, 1, { k: 3, stride: 1, pad: 1, bias: true }));
  }
  return { image, outs };
}

/** The discriminator description of a config's preset. */
export const describeDiscriminator = (cfg: ModelConfig) => (cfg.preset === 'official' ? officialDiscriminator : discriminator);

/** The discriminator as a training graph; image.needsGrad is set when the generator trains through this D. */
export class MultiDiscriminator implements DiscriminatorIO<Tensor> {
  readonly g: Graph;
  readonly image: Tensor;
  readonly outs: Tensor[];

  constructor(core: Core, readonly cfg: ModelConfig, readonly batch: number, name: string, place?: Placement) {
    this.g = new Graph(core, name, place);
    ({ image: this.image, outs: this.outs } = describeDiscriminator(cfg)(new GraphBuilder(this.g), cfg, batch));
    this.g.finalize();
  }
}
