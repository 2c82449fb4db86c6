// The pytorch-gan encoder: torchvision ResNet-18 trunk (conv1, bn1, relu, maxpool, layer1..layer3; BN eps 1e-5),
// AvgPool2d(8), and two Linear heads (mu, logvar). Tensor names are `feature_extractor.<index>...` as in
// nn.Sequential(*list(resnet18().children())[:-3]), plus fc_mu.* and fc_logvar.*.
// The heads' input size is computed from the image size (the reference hard-codes 256 = one 1x1 pooled map,
// which only fits 113..240 px); any size whose layer3 map is at least 8x8 (>= 113 px) works here.
import { Graph, type Tensor } from '../nn/graph.js';
import type { SharedParams } from '../nn/params.js';
import { Conv2d, Linear } from '../nn/conv2d.js';
import { BatchNorm2d } from '../nn/batchnorm.js';
import { ReLU } from '../nn/activation.js';
import { AvgPool2d, MaxPool2d } from '../nn/pool.js';
import { Add } from '../nn/combine.js';
import { convOut } from '../nn/shapes.js';
import type { Core } from '../core/loader.js';
import type { ModelConfig } from './config.js';

/** The side of the encoder's layer3 map for an image side S (five stride-2 stages). */
export function encoderMapSize(S: number): number {
  let s = convOut(S, 7, 2, 3, 'encoder.conv1');
  s = convOut(s, 3, 2, 1, 'encoder.maxpool');
  s = convOut(s, 3, 2, 1, 'encoder.layer2');
  return convOut(s, 3, 2, 1, 'encoder.layer3');
}

export class Encoder {
  readonly g: Graph;
  /** input image (N, S, S, C); its gradient is computed only when needsGrad is set (cLR branch) */
  readonly image: Tensor;
  readonly mu: Tensor;
  readonly logvar: Tensor;

  constructor(core: Core, readonly cfg: ModelConfig, readonly batch: number, name = 'E', shared?: SharedParams) {
    const S = cfg.imageSize, w = cfg.eBase, eps = cfg.bnEpsE;
    const m = encoderMapSize(S);
    if (m < 8) throw new Error(`encoder: image size ${S} gives a ${m}x${m} layer3 map, smaller than the 8x8 AvgPool window; use at least 113 px`);
    const g = (this.g = new Graph(core, name, shared));
    this.image = g.tensor(batch, S, S, cfg.channels, 'image');
    this.image.needsGrad = false;

    const conv1 = new Conv2d(g, 'feature_extractor.0', this.image, w, { k: 7, stride: 2, pad: 3, bias: false });
    const bn1 = new BatchNorm2d(g, 'feature_extractor.1', conv1.y, eps);
    const r = new ReLU(g, 'feature_extractor.2', bn1.y);
    let x = new MaxPool2d(g, 'feature_extractor.3', r.y, 3, 2, 1).y;
    const widths = [w, 2 * w, 4 * w];
    for (let L = 0; L < 3; L++) {
      for (let b = 0; b < 2; b++) {
        const stride = L > 0 && b === 0 ? 2 : 1;
        x = basicBlock(g, `feature_extractor.${4 + L}.${b}`, x, widths[L], stride, eps);
      }
    }
    const pool = new AvgPool2d(g, 'avgpool', x, 8, 8, 0, true);
    this.mu = new Linear(g, 'fc_mu', pool.y, cfg.latentDim).y;
    this.logvar = new Linear(g, 'fc_logvar', pool.y, cfg.latentDim).y;
    g.finalize();
  }
}

/** torchvision BasicBlock: conv3x3(stride) BN ReLU conv3x3 BN (+ identity or conv1x1(stride)+BN) ReLU. */
function basicBlock(g: Graph, name: string, x: Tensor, C: number, stride: number, eps: number): Tensor {
  const c1 = new Conv2d(g, `${name}.conv1`, x, C, { k: 3, stride, pad: 1, bias: false });
  const b1 = new BatchNorm2d(g, `${name}.bn1`, c1.y, eps);
  const r1 = new ReLU(g, `${name}.relu1`, b1.y);
  const c2 = new Conv2d(g, `${name}.conv2`, r1.y, C, { k: 3, stride: 1, pad: 1, bias: false });
  const b2 = new BatchNorm2d(g, `${name}.bn2`, c2.y, eps);
  let shortcut = x;
  if (stride !== 1 || x.C !== C) {
    const d = new Conv2d(g, `${name}.downsample.0`, x, C, { k: 1, stride, pad: 0, bias: false });
    shortcut = new BatchNorm2d(g, `${name}.downsample.1`, d.y, eps).y;
  }
  const sum = new Add(g, `${name}.add`, b2.y, shortcut);
  return new ReLU(g, `${name}.relu2`, sum.y).y;
}
