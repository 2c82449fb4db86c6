// The official encoders (networks.py E_ResNet and E_NLayers with vaeLike; spec §4.3), described once for every
// builder. E reads B (output_nc channels) and returns (mu, logvar) from two Linear heads `fc.0` / `fcVar.0`.
// E_ResNet (resnet_128: 4 blocks, resnet_256: 5): conv.0 = Conv4x4 s2 p1 (-> nef); conv.n = BasicBlock
// (nef * min(4, n) -> nef * min(4, n + 1)): main path norm, LReLU, Conv3x3, norm, LReLU, Conv3x3 + AvgPool2d(2)
// (convMeanpool, `conv.5.0`), shortcut AvgPool2d(2) + Conv1x1 (meanpoolConv, `shortcut.1`), summed; then LReLU,
// AvgPool2d(8). E_NLayers (conv_128: 4 layers, conv_256: 5): Conv4x4 s2 p1 + LReLU, then Conv4x4 s2 p1, norm,
// LReLU per layer (widths nef * min(2^n, 4)), AvgPool2d(8). All convs have a bias; LReLU slope 0.2.
// The heads are Linear(4 * nef): the pooled map must be 1x1 (128-class or 256-class inputs, spec §4.3 Q8).
import type { NetBuilder, Shape } from '../../nn/builder.js';
import type { ModelConfig } from '../config.js';
import { officialOf } from '../config.js';
import type { EncoderIO } from '../encoder.js';
import { normModules, normTail } from './norm.js';

const LRELU = { leaky: 0.2 } as const;

export function officialEncoder<T extends Shape>(b: NetBuilder<T>, cfg: ModelConfig, N: number): EncoderIO<T> {
  const o = officialOf(cfg);
  const S = cfg.imageSize, w = cfg.eBase, nm = normModules(o.norm);
  const resnet = o.netE.startsWith('resnet'), depth = o.netE.endsWith('128') ? 4 : 5;
  const pooled = Math.floor(S / 2 ** depth / 8);
  if (pooled !== 1)
    throw new Error(`encoder: ${o.netE} needs an image side whose /${2 ** depth} map is 8..15 px (AvgPool2d(8) into a Linear(${4 * w})): ${S} px gives ${Math.floor(S / 2 ** depth)}`);
  const image = b.input('image', N, S, S, cfg.channels);
  let x = b.conv('conv.0', image, w, { k: 4, stride: 2, pad: 1, bias: true, act: resnet ? undefined : LRELU });
  let idx: number;
  if (resnet) {
    for (let n = 1; n < depth; n++) x = basicBlock(b, `conv.${n}`, x, w * Math.min(4, n + 1), o.norm, nm);
    x = b.activation(`conv.${depth}`, x, LRELU);
    idx = depth + 1;
  } else {
    idx = 2;
    for (let n = 1; n < depth; n++) {
      const C = w * Math.min(2 ** n, 4);
      x = b.conv(`conv.${idx}`, x, C, { k: 4, stride: 2, pad: 1, bias: true, ...normTail(o.norm, `conv.${idx + 1}`), act: LRELU });
      idx += 2 + nm;
    }
  }
  const pool = b.avgpool(`conv.${idx}`, x, 8, 8, 0, true);
  return { image, mu: b.linear('fc.0', pool, cfg.latentDim), logvar: b.linear('fcVar.0', pool, cfg.latentDim) };
}

/** BasicBlock(C -> OC): norm, LReLU, conv3x3(C -> C), norm, LReLU, [conv3x3(C -> OC), AvgPool2d(2)] plus the
 * shortcut [AvgPool2d(2), conv1x1(C -> OC)]. Sequential indices shift by one per absent norm. */
function basicBlock<T extends Shape>(b: NetBuilder<T>, p: string, x: T, OC: number, norm: 'instance' | 'batch' | 'none', nm: number): T {
  const C = x.C;
  const a = norm === 'none' ? b.activation(`${p}.conv.0`, x, LRELU) : b.norm(`${p}.conv.0`, x, { ...normTail(norm, `${p}.conv.0`), act: LRELU });
  const c1 = 1 + nm; // norm?, lrelu, conv3x3
  const h = b.conv(`${p}.conv.${c1}`, a, C, { k: 3, stride: 1, pad: 1, bias: true, ...normTail(norm, `${p}.conv.${c1 + 1}`), act: LRELU });
  const c2 = c1 + 2 + nm; // conv3x3, norm?, lrelu, convMeanpool
  const main = b.avgpool(`${p}.conv.${c2}.1`, b.conv(`${p}.conv.${c2}.0`, h, OC, { k: 3, stride: 1, pad: 1, bias: true }), 2, 2, 0, true);
  const short = b.conv(`${p}.shortcut.1`, b.avgpool(`${p}.shortcut.0`, x, 2, 2, 0, true), OC, { k: 1, stride: 1, pad: 0, bias: true });
  return b.add(`${p}.add`, main, short);
}
