// The official U-Net generator (networks.py G_Unet_add_all / G_Unet_add_input; spec §4.1), described once for
// every builder. D nested blocks (unet_128: 7, unet_256: 8), block i at resolution S / 2^i, outer -> inner:
//   down: [LeakyReLU 0.2] Conv4x4 s2 p1 [norm]      (no activation at the outermost, no norm at the innermost
//                                                    nor the outermost)
//   up:   ReLU, ConvTranspose4x4 s2 p1, norm [Dropout 0.5]   (outermost: ReLU, ConvT, Tanh; dropout only in the
//                                                    512-channel blocks i = 4 .. D-2 when asked, keyed by
//                                                    depth: mask seed dropoutLayerSeed(seed, i))
//   out:  cat(up, x): the decoder output first, then the block's input x (the skip, without z).
// where_add all: every block's down path reads cat(x, tile(z)); input: only the outermost's (image, z).
// Widths: block i has input = outer = ngf * min(2^(i-1), 8) (outermost: input_nc / output_nc) and
// inner = ngf * min(2^i, 8).
// Zero-copy concatenations: a block's down conv writes straight into the skip slot of its child's cat buffer
// [child's up output, child's input], and the child's up block into the first slot.
// Names are the official state_dict names: add_all nests `model.submodule.submodule...` with `down.k` / `up.k`
// inside; add_input nests `model.model.1.model.3.model...` (the submodule's index in each Sequential).
import type { NetBuilder, Shape } from '../../nn/builder.js';
import type { ModelConfig } from '../config.js';
import { officialOf } from '../config.js';
import type { GeneratorIO } from '../generator.js';
import { normModules, normTail } from './norm.js';

export const unetDepth = (netG: 'unet_128' | 'unet_256'): number => (netG === 'unet_128' ? 7 : 8);

export function officialGenerator<T extends Shape>(b: NetBuilder<T>, cfg: ModelConfig, N: number): GeneratorIO<T> {
  const o = officialOf(cfg);
  const S = cfg.imageSize, nz = cfg.latentDim, w = cfg.gBase, D = unetDepth(o.netG);
  if (!Number.isInteger(S) || S <= 0 || S % 2 ** D !== 0)
    throw new Error(`generator: image size ${S} is not a multiple of ${2 ** D} (${o.netG} halves it ${D} times and its transposed convs double it back)`);
  const all = o.whereAdd === 'all', nm = normModules(o.norm);
  const inner = (i: number) => w * Math.min(2 ** i, 8);
  const outer = (i: number) => (i === 0 ? cfg.channels : inner(i - 1));

  const image = b.input('image', N, S, S, o.inputChannels, false);
  const z = b.input('z', N, 1, 1, nz);

  /** Module names of block i: prefix, down conv, down norm, up ReLU, up ConvT, up norm/tanh, dropout, child prefix. */
  const names = (i: number, p: string) => {
    if (all) return { conv: `${p}.down.${i === 0 ? 0 : 1}`, dnorm: `${p}.down.2`, relu: `${p}.up.0`, convT: `${p}.up.1`, unorm: `${p}.up.2`, child: `${p}.submodule` };
    if (i === 0) return { conv: `${p}.0`, dnorm: '', relu: `${p}.2`, convT: `${p}.3`, unorm: `${p}.4`, child: `${p}.1.model` };
    const sub = 2 + nm; // lrelu 0, conv 1, [norm 2], submodule
    if (i === D - 1) return { conv: `${p}.1`, dnorm: '', relu: `${p}.2`, convT: `${p}.3`, unorm: `${p}.4`, child: '' };
    return { conv: `${p}.1`, dnorm: `${p}.2`, relu: `${p}.${sub + 1}`, convT: `${p}.${sub + 2}`, unorm: `${p}.${sub + 3}`, child: `${p}.${sub}.model` };
  };

  /** Block i on its input x (N, s, s, input_i); its up output goes into `out` (a slice of the parent's cat). */
  const block = (i: number, p: string, x: T, out?: T): T => {
    const n = names(i, p), s = x.H, innermost = i === D - 1, outermost = i === 0;
    let dIn = x;
    if (all || outermost) {
      dIn = b.tensor(`${p}.xz`, N, s, s, x.C + nz);
      b.copy(`${p}.xz.x`, x, b.slice(dIn, 0, x.C, `${p}.xz.x`));
      b.tile(`${p}.xz.z`, z, b.slice(dIn, x.C, nz, `${p}.xz.z`));
    }
    if (!outermost) dIn = b.activation(`${p}.down.lrelu`, dIn, { leaky: 0.2 });
    const C1 = inner(i);
    // the child's cat buffer [child's up output (outer_{i+1} = C1), child's input (C1)]; our down output is the latter
    const childCat = innermost ? undefined : b.tensor(`${n.child}.cat`, N, s / 2, s / 2, 2 * C1);
    const dnorm = !outermost && !innermost ? normTail(o.norm, n.dnorm) : {};
    const x1 = b.conv(n.conv, dIn, C1, { k: 4, stride: 2, pad: 1, bias: true, ...dnorm, out: childCat && b.slice(childCat, C1, C1, `${n.conv}.out`) });
    if (childCat) block(i + 1, n.child, x1, b.slice(childCat, 0, C1, `${n.child}.up.out`));
    const r = b.activation(n.relu, childCat ?? x1, 'relu');
    if (outermost) return b.convT(n.convT, r, outer(i), { k: 4, stride: 2, pad: 1, bias: true, act: 'tanh' });
    const dropout = o.dropout && i >= 4 && i <= D - 2 ? 0.5 : undefined;
    return b.convT(n.convT, r, outer(i), { k: 4, stride: 2, pad: 1, bias: true, ...normTail(o.norm, n.unorm), dropout, dropoutKey: i, out });
  };

  return { image, z, out: block(0, all ? 'model' : 'model.model', image) };
}
