// The pytorch-gan U-Net generator: z -> Linear(latent, H*W) -> one extra input channel; 7 down blocks
// (Conv3x3 s2 no bias, BN(eps 0.8) except the first and last, LeakyReLU 0.2); 6 up blocks (nearest x2,
// Conv3x3 no bias, BN, ReLU, then cat [up, skip]); final nearest x2, Conv3x3 (bias), Tanh.
// Concatenations are zero-copy: each down block's LeakyReLU writes its output straight into the second half
// of the concatenation that consumes it as a skip, each up block's ReLU into the first half.
// Tensor names are PyTorch-GAN's state_dict names (down2.model.1.running_mean, up1.model.1.weight, ...).
import { Graph, type Tensor } from '../nn/graph.js';
import type { SharedParams } from '../nn/params.js';
import { Conv2d, Linear } from '../nn/conv2d.js';
import { BatchNorm2d } from '../nn/batchnorm.js';
import { LeakyReLU, ReLU, Tanh } from '../nn/activation.js';
import { Upsample2x } from '../nn/pool.js';
import { Copy } from '../nn/combine.js';
import type { Core } from '../core/loader.js';
import type { ModelConfig } from './config.js';

export class Generator {
  readonly g: Graph;
  /** inputs: the condition image (N, S, S, C) and the latent code (N, 1, 1, latent) */
  readonly image: Tensor;
  readonly z: Tensor;
  /** output in [-1, 1]: (N, S, S, C) */
  readonly out: Tensor;

  constructor(core: Core, readonly cfg: ModelConfig, readonly batch: number, name = 'G', shared?: SharedParams) {
    const S = cfg.imageSize, C = cfg.channels, w = cfg.gBase, N = batch;
    if (!Number.isInteger(S) || S <= 0 || S % 128 !== 0)
      throw new Error(`generator: image size ${S} is not a multiple of 128 (7 stride-2 halvings must be undone exactly by 6 doublings + the final one)`);
    const g = (this.g = new Graph(core, name, shared));
    this.image = g.tensor(N, S, S, C, 'image', false);
    this.z = g.tensor(N, 1, 1, cfg.latentDim, 'z');

    const fc = new Linear(g, 'fc', this.z, S * S);
    const input = g.tensor(N, S, S, C + 1, 'input');
    new Copy(g, 'input.image', this.image, g.slice(input, 0, C, 'input.image'));
    new Copy(g, 'input.z', g.reshape(fc.y, N, S, S, 1, 'fc.map'), g.slice(input, C, 1, 'input.z'));

    // the concatenation buffers [up_k output, skip d_(7-k)], k = 1..6, at the skip's resolution
    const downC = [w, 2 * w, 4 * w, 8 * w, 8 * w, 8 * w, 8 * w];
    const upC = [8 * w, 8 * w, 8 * w, 4 * w, 2 * w, w];
    const cats: Tensor[] = [];
    let size = S;
    const sizes: number[] = [];
    for (let i = 0; i < 7; i++) sizes.push((size = Math.ceil(size / 2)));
    for (let k = 1; k <= 6; k++) {
      const s = sizes[6 - k];
      cats[k] = g.tensor(N, s, s, 2 * upC[k - 1], `cat${k}`);
    }

    let x: Tensor = input;
    for (let i = 1; i <= 7; i++) {
      const norm = i !== 1 && i !== 7;
      const conv = new Conv2d(g, `down${i}.model.0`, x, downC[i - 1], { k: 3, stride: 2, pad: 1, bias: false });
      const pre = norm ? new BatchNorm2d(g, `down${i}.model.1`, conv.y, cfg.bnEpsG).y : conv.y;
      const out = i < 7 ? g.slice(cats[7 - i], upC[6 - i], downC[i - 1], `down${i}.out`) : undefined;
      x = new LeakyReLU(g, `down${i}.act`, pre, out).y;
    }
    for (let k = 1; k <= 6; k++) {
      const up = new Upsample2x(g, `up${k}.model.0`, x);
      const conv = new Conv2d(g, `up${k}.model.1`, up.y, upC[k - 1], { k: 3, stride: 1, pad: 1, bias: false });
      const bn = new BatchNorm2d(g, `up${k}.model.2`, conv.y, cfg.bnEpsG);
      new ReLU(g, `up${k}.act`, bn.y, g.slice(cats[k], 0, upC[k - 1], `up${k}.out`));
      x = cats[k];
    }
    const up = new Upsample2x(g, 'final.0', x);
    const conv = new Conv2d(g, 'final.1', up.y, C, { k: 3, stride: 1, pad: 1, bias: true });
    this.out = new Tanh(g, 'final.2', conv.y).y;
    g.finalize();
  }
}
