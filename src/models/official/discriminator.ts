// The official multi-scale discriminator (networks.py D_NLayersMulti; spec §4.2), described once for every
// builder. num_Ds scales; scale i reads the input average-pooled i times by AvgPool2d(3, s2, p1,
// count_include_pad=False) and has its own weights `model_i.*` (`model.*` when num_Ds = 1) with base width
// round(ndf / 2^i) (Python's round: half to even):
//   Conv4x4 s2 (-> ndf) + LReLU; n = 1 .. n_layers-1: Conv4x4 s2 (-> ndf * min(2^n, 8)), norm, LReLU;
//   Conv4x4 s1 (-> ndf * min(2^n_layers, 8)), norm, LReLU; Conv4x4 s1 (-> 1): the raw patch score map.
// Every conv has padding 1 and a bias. n_layers: basic_128_multi 2, basic_256_multi 3.
// D reads B (output_nc channels), or cat(A, B) with conditional_D.
import type { NetBuilder, Shape } from '../../nn/builder.js';
import type { ModelConfig } from '../config.js';
import { inputChannelsOf, officialOf } from '../config.js';
import type { DiscriminatorIO } from '../discriminator.js';
import { normModules, normTail } from './norm.js';

const LRELU = { leaky: 0.2 } as const;

/** Python 3's round() of a non-negative number: halves go to the even neighbour. */
export function pyRound(v: number): number {
  const f = Math.floor(v), d = v - f;
  return d > 0.5 || (d === 0.5 && f % 2 === 1) ? f + 1 : f;
}

/** Input channels of an official D: B, or A and B with conditional_D. */
export const officialDChannels = (cfg: ModelConfig): number => cfg.channels + (officialOf(cfg).conditionalD ? inputChannelsOf(cfg) : 0);

export function officialDiscriminator<T extends Shape>(b: NetBuilder<T>, cfg: ModelConfig, N: number): DiscriminatorIO<T> {
  const o = officialOf(cfg);
  const nLayers = o.netD === 'basic_128_multi' ? 2 : 3, nm = normModules(o.norm);
  if (!Number.isInteger(o.numDs) || o.numDs < 1) throw new Error(`discriminator: numDs must be a positive integer, got ${o.numDs}`);
  const image = b.input('image', N, cfg.imageSize, cfg.imageSize, officialDChannels(cfg));
  const outs: T[] = [];
  let x = image;
  for (let s = 0; s < o.numDs; s++) {
    if (s > 0) x = b.avgpool(`down${s}`, x, 3, 2, 1, false);
    const p = o.numDs === 1 ? 'model' : `model_${s}`;
    const ndf = pyRound(cfg.dBase / 2 ** s);
    if (ndf < 1) throw new Error(`discriminator: scale ${s} of dBase ${cfg.dBase} has no channels (round(${cfg.dBase} / ${2 ** s}) = 0)`);
    let h = b.conv(`${p}.0`, x, ndf, { k: 4, stride: 2, pad: 1, bias: true, act: LRELU });
    let idx = 2;
    for (let n = 1; n <= nLayers; n++) {
      const stride = n < nLayers ? 2 : 1;
      h = b.conv(`${p}.${idx}`, h, ndf * Math.min(2 ** n, 8), { k: 4, stride, pad: 1, bias: true, ...normTail(o.norm, `${p}.${idx + 1}`), act: LRELU });
      idx += 2 + nm;
    }
    outs.push(b.conv(`${p}.${idx}`, h, 1, { k: 4, stride: 1, pad: 1, bias: true }));
  }
  return { image, outs };
}
