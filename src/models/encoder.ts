// The pytorch-gan encoder, described once for every builder: torchvision ResNet-18 trunk (conv1, bn1, relu,
// maxpool, layer1..layer3; BN eps 1e-5), AvgPool2d(8), and two Linear heads (mu, logvar). Names are
// `feature_extractor.<index>...` as in nn.Sequential(*list(resnet18().children())[:-3]), plus fc_mu.* and fc_logvar.*.
// The heads' input size is computed from the image size (the reference hard-codes 256 = one 1x1 pooled map,
// which only fits 113..240 px); any size whose layer3 map is at least 8x8 (>= 113 px) works here.
import { Graph, type Placement, type Tensor } from '../nn/graph.js';
import type { NetBuilder, Shape } from '../nn/builder.js';
import { GraphBuilder } from '../nn/graph-builder.js';
import { convOut } from '../nn/shapes.js';
import type { Core } from '../core/loader.js';
import type { ModelConfig } from './config.js';
import { officialEncoder } from './official/encoder.js';

/** The side of the encoder's layer3 map for an image side S (five stride-2 stages). */
export function encoderMapSize(S: number): number {
  let s = convOut(S, 7, 2, 3, 'encoder.conv1');
  s = convOut(s, 3, 2, 1, 'encoder.maxpool');
  s = convOut(s, 3, 2, 1, 'encoder.layer2');
  return convOut(s, 3, 2, 1, 'encoder.layer3');
}

/** E(image) -> (mu, logvar): the image (N, S, S, C), mu and logvar (N, 1, 1, latent). */
export interface EncoderIO<T> {
  image: T;
  mu: T;
  logvar: T;
}

export function encoder<T extends Shape>(b: NetBuilder<T>, cfg: ModelConfig, N: number): EncoderIO<T> {
  const S = cfg.imageSize, w = cfg.eBase, eps = cfg.bnEpsE;
  const m = encoderMapSize(S);
  if (m < 8) throw new Error(`encoder: image size ${S} gives a ${m}x${m} layer3 map, smaller than the 8x8 AvgPool window; use at least 113 px`);
  const image = b.input('image', N, S, S, cfg.channels);
  const stem = b.conv('feature_extractor.0', image, w, { k: 7, stride: 2, pad: 3, bias: false, bn: { name: 'feature_extractor.1', eps }, act: 'relu' });
  let x = b.maxpool('feature_extractor.3', stem, 3, 2, 1);
  const widths = [w, 2 * w, 4 * w];
  for (let L = 0; L < 3; L++)
    for (let i = 0; i < 2; i++) x = basicBlock(b, `feature_extractor.${4 + L}.${i}`, x, widths[L], L > 0 && i === 0 ? 2 : 1, eps);
  const pool = b.avgpool('avgpool', x, 8, 8, 0, true);
  return { image, mu: b.linear('fc_mu', pool, cfg.latentDim), logvar: b.linear('fc_logvar', pool, cfg.latentDim) };
}

/** torchvision BasicBlock: conv3x3(stride) BN ReLU conv3x3 BN (+ identity or conv1x1(stride)+BN) ReLU. */
function basicBlock<T extends Shape>(b: NetBuilder<T>, name: string, x: T, C: number, stride: number, eps: number): T {
  const r1 = b.conv(`${name}.conv1`, x, C, { k: 3, stride, pad: 1, bias: false, bn: { name: `${name}.bn1`, eps }, act: 'relu' });
  const b2 = b.conv(`${name}.conv2`, r1, C, { k: 3, stride: 1, pad: 1, bias: false, bn: { name: `${name}.bn2`, eps } });
  const shortcut = stride !== 1 || x.C !== C
    ? b.conv(`${name}.downsample.0`, x, C, { k: 1, stride, pad: 0, bias: false, bn: { name: `${name}.downsample.1`, eps } })
    : x;
  return b.add(`${name}.add`, b2, shortcut, 'relu');
}

/** The encoder description of a config's preset. */
export const describeEncoder = (cfg: ModelConfig) => (cfg.preset === 'official' ? officialEncoder : encoder);

/** The encoder as a training graph; its input's gradient is computed only when image.needsGrad is set (cLR branch). */
export class Encoder implements EncoderIO<Tensor> {
  readonly g: Graph;
  readonly image: Tensor;
  readonly mu: Tensor;
  readonly logvar: Tensor;

  constructor(core: Core, readonly cfg: ModelConfig, readonly batch: number, name = 'E', place?: Placement) {
    this.g = new Graph(core, name, place);
    ({ image: this.image, mu: this.mu, logvar: this.logvar } = describeEncoder(cfg)(new GraphBuilder(this.g), cfg, batch));
    this.image.needsGrad = false;
    this.g.finalize();
  }
}
