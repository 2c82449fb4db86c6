// The pytorch-gan U-Net generator, described once for every builder (training graph, inference plan and run):
// z -> Linear(latent, H*W) -> one extra input channel; 7 down blocks (Conv3x3 s2 no bias, BN(eps 0.8) except
// the first and last, LeakyReLU 0.2); 6 up blocks (nearest x2, Conv3x3 no bias, BN, ReLU, then cat [up, skip]);
// final nearest x2, Conv3x3 (bias), Tanh.
// Concatenations are zero-copy: each down block writes its output straight into the second half of the
// concatenation that consumes it as a skip, each up block into the first half.
// Names are PyTorch-GAN's state_dict names (down2.model.1.running_mean, up1.model.1.weight, ...); the Upsample
// of an up block is its module 0, the conv module 1, so upconv `up{k}.model.1` keeps them.
import { Graph, type Placement, type Tensor } from '../nn/graph.js';
import type { NetBuilder, Shape } from '../nn/builder.js';
import { GraphBuilder } from '../nn/graph-builder.js';
import type { Core } from '../core/loader.js';
import type { ModelConfig } from './config.js';
import { officialGenerator } from './official/generator.js';

/** G(image, z): the condition image (N, S, S, C), the latent code (N, 1, 1, latent), the output in [-1, 1]. */
export interface GeneratorIO<T> {
  image: T;
  z: T;
  out: T;
}

export function generator<T extends Shape>(b: NetBuilder<T>, cfg: ModelConfig, N: number): GeneratorIO<T> {
  const S = cfg.imageSize, C = cfg.channels, w = cfg.gBase, eps = cfg.bnEpsG;
  if (!Number.isInteger(S) || S <= 0 || S % 128 !== 0)
    throw new Error(`generator: image size ${S} is not a multiple of 128 (7 stride-2 halvings must be undone exactly by 6 doublings + the final one)`);
  const image = b.input('image', N, S, S, C, false);
  const z = b.input('z', N, 1, 1, cfg.latentDim);

  const fc = b.linear('fc', z, S * S);
  const input = b.tensor('input', N, S, S, C + 1);
  b.copy('input.image', image, b.slice(input, 0, C, 'input.image'));
  b.copy('input.z', b.reshape(fc, N, S, S, 1, 'fc.map'), b.slice(input, C, 1, 'input.z'));

  // the concatenation buffers [up_k output, skip d_(7-k)], k = 1..6, at the skip's resolution
  const downC = [w, 2 * w, 4 * w, 8 * w, 8 * w, 8 * w, 8 * w];
  const upC = [8 * w, 8 * w, 8 * w, 4 * w, 2 * w, w];
  const sizes: number[] = [];
  for (let i = 0, s = S; i < 7; i++) sizes.push((s = Math.ceil(s / 2)));
  const cats: T[] = [];
  for (let k = 1; k <= 6; k++) cats[k] = b.tensor(`cat${k}`, N, sizes[6 - k], sizes[6 - k], 2 * upC[k - 1]);

  let x = input;
  for (let i = 1; i <= 7; i++) {
    const bn = i !== 1 && i !== 7 ? { name: `down${i}.model.1`, eps } : undefined;
    const out = i < 7 ? b.slice(cats[7 - i], upC[6 - i], downC[i - 1], `down${i}.out`) : undefined;
    x = b.conv(`down${i}.model.0`, x, downC[i - 1], { k: 3, stride: 2, pad: 1, bias: false, bn, act: { leaky: 0.2 }, out });
  }
  for (let k = 1; k <= 6; k++) {
    const out = b.slice(cats[k], 0, upC[k - 1], `up${k}.out`);
    b.upconv(`up${k}.model.1`, x, upC[k - 1], { bias: false, bn: { name: `up${k}.model.2`, eps }, act: 'relu', out });
    x = cats[k];
  }
  return { image, z, out: b.upconv('final.1', x, C, { bias: true, act: 'tanh' }) };
}

/** The generator description of a config's preset. */
export const describeGenerator = (cfg: ModelConfig) => (cfg.preset === 'official' ? officialGenerator : generator);

/** The generator as a training graph. */
export class Generator implements GeneratorIO<Tensor> {
  readonly g: Graph;
  readonly image: Tensor;
  readonly z: Tensor;
  readonly out: Tensor;

  constructor(core: Core, readonly cfg: ModelConfig, readonly batch: number, name = 'G', place?: Placement) {
    this.g = new Graph(core, name, place);
    ({ image: this.image, z: this.z, out: this.out } = describeGenerator(cfg)(new GraphBuilder(this.g), cfg, batch));
    this.g.finalize();
  }
}
