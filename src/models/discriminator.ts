// The pytorch-gan multi-scale PatchGAN: 3 scales, each its own weights (models.disc_<s>.*): Conv4x4 s2 p1
// (bias) + LeakyReLU; three more with BN(eps 0.8); a final Conv3x3 p1 -> 1 channel. Between scales the input is
// downsampled by AvgPool2d(kernel 3, stride 2, padding 1, count_include_pad=False): the reference writes the
// kernel as the undefined `in_channels` (a NameError); 3 is the intended literal. The reference also pools
// after the last scale; that result is unused, so we skip it.
import { Graph, type Tensor } from '../nn/graph.js';
import type { SharedParams } from '../nn/params.js';
import { Conv2d } from '../nn/conv2d.js';
import { BatchNorm2d } from '../nn/batchnorm.js';
import { LeakyReLU } from '../nn/activation.js';
import { AvgPool2d } from '../nn/pool.js';
import type { Core } from '../core/loader.js';
import type { ModelConfig } from './config.js';

export const D_SCALES = 3;

export class MultiDiscriminator {
  readonly g: Graph;
  /** input image (N, S, S, C); needsGrad is set when the generator trains through this D */
  readonly image: Tensor;
  /** per-scale patch score maps (N, h_s, h_s, 1) */
  readonly outs: Tensor[] = [];

  constructor(core: Core, readonly cfg: ModelConfig, readonly batch: number, name: string, shared?: SharedParams) {
    const w = cfg.dBase;
    const g = (this.g = new Graph(core, name, shared));
    this.image = g.tensor(batch, cfg.imageSize, cfg.imageSize, cfg.channels, 'image');
    let x = this.image;
    for (let s = 0; s < D_SCALES; s++) {
      if (s > 0) x = new AvgPool2d(g, `downsample${s}`, x, 3, 2, 1, false).y;
      const p = `models.disc_${s}`;
      let h = x;
      const widths = [w, 2 * w, 4 * w, 8 * w];
      const convIdx = [0, 2, 5, 8];
      for (let b = 0; b < 4; b++) {
        const conv = new Conv2d(g, `${p}.${convIdx[b]}`, h, widths[b], { k: 4, stride: 2, pad: 1, bias: true });
        const pre = b > 0 ? new BatchNorm2d(g, `${p}.${convIdx[b] + 1}`, conv.y, cfg.bnEpsD).y : conv.y;
        h = new LeakyReLU(g, `${p}.${convIdx[b] + (b > 0 ? 2 : 1)}`, pre).y;
      }
      this.outs.push(new Conv2d(g, `${p}.11`, h, 1, { k: 3, stride: 1, pad: 1, bias: true }).y);
    }
    g.finalize();
  }
}
