// Parameter initialisation as the pytorch-gan reference (spec §8.3), from our seeded RNG:
// - G and both Ds: PyTorch-GAN's weights_init_normal: Conv weights N(0, 0.02); BN gamma N(1, 0.02), beta 0.
//   Conv biases and Linear layers keep PyTorch's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias.
// - E: torchvision's ResNet init: conv weights kaiming_normal(fan_out, relu) = N(0, sqrt(2 / fan_out));
//   BN gamma 1, beta 0; Linear heads PyTorch default.
// - official preset (all four networks): networks.py init_weights('xavier', gain 0.02): Conv, ConvTranspose and
//   Linear weights xavier_normal, std = 0.02 * sqrt(2 / (fan_in + fan_out)); their biases 0; BN gamma N(1, 0.02),
//   beta 0.
// BN running stats start at mean 0, var 1.
import type { Rng } from '../core/rng.js';
import type { ParamStore, ParamEntry } from '../nn/params.js';

const isBnName = (e: ParamEntry, stores: ParamStore) => {
  const base = e.name.replace(/\.(weight|bias|running_mean|running_var|num_batches_tracked)$/, '');
  return stores.find(`${base}.running_mean`) !== undefined;
};

/** fan_in of a weight in PyTorch terms: shape[1] * kernel area (conv), or IN (linear). */
function fanIn(e: ParamEntry): number {
  return e.shape.slice(1).reduce((a, b) => a * b, 1);
}

export type InitScheme = 'ptg-normal' | 'torchvision-resnet' | 'xavier';

export function initNetwork(store: ParamStore, rng: Rng, scheme: InitScheme): void {
  for (const e of store.entries) {
    const v = store.view(e);
    if (e.kind === 'buffer') {
      v.fill(e.name.endsWith('running_var') ? 1 : 0);
      continue;
    }
    if (isBnName(e, store)) {
      if (e.name.endsWith('.bias')) v.fill(0);
      else if (scheme !== 'torchvision-resnet') rng.fillNormal(v, 1, 0.02);
      else v.fill(1);
      continue;
    }
    if (scheme === 'xavier') {
      if (e.name.endsWith('.bias')) v.fill(0);
      else rng.fillNormal(v, 0, 0.02 * Math.sqrt(2 / ((e.shape[0] + e.shape[1]) * e.shape.slice(2).reduce((a, b) => a * b, 1))));
      continue;
    }
    if (e.layout === 'linear' || e.layout === 'linearNCHW') {
      const bound = 1 / Math.sqrt(fanIn(e));
      rng.fillUniform(v, -bound, bound);
      const bias = store.find(e.name.replace(/\.weight$/, '.bias'));
      if (bias) rng.fillUniform(store.view(bias), -bound, bound);
      continue;
    }
    if (e.layout === 'conv' && e.name.endsWith('.weight')) {
      if (scheme === 'ptg-normal') rng.fillNormal(v, 0, 0.02);
      else rng.fillNormal(v, 0, Math.sqrt(2 / (e.shape[0] * e.shape[2] * e.shape[3])));
      const bias = store.find(e.name.replace(/\.weight$/, '.bias'));
      if (bias) {
        const bound = 1 / Math.sqrt(fanIn(e));
        rng.fillUniform(store.view(bias), -bound, bound);
      }
    }
  }
}
