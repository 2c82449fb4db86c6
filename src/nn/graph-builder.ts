// The training builder: reads a network description (src/models) into a Graph of layers with backward.
// Each op becomes the layers PyTorch has for it (conv block = Conv2d, BatchNorm2d or InstanceNorm2d, activation,
// Dropout; convT block = ConvTranspose2d then the same tail; upconv = the fused UpsampleConv2d, which has
// nn.Upsample + Conv2d's parameters, then the tail), so the parameters, their names and their order are the
// reference's. Dropout masks come from graph.dropoutSeed (nn/dropout.ts); eval mode makes Dropout the identity.
// A block's result written into `out` (a slice of a concatenation) is the last layer's output; the layers
// before it keep their own tensors, which their backward needs.
import type { Graph, Tensor } from './graph.js';
import type { Activation, BlockTail, ConvSpec, NetBuilder, NormTail } from './builder.js';
import { Conv2d, Linear } from './conv2d.js';
import { ConvTranspose2d } from './convtranspose.js';
import { BatchNorm2d } from './batchnorm.js';
import { InstanceNorm2d } from './instancenorm.js';
import { Dropout } from './dropout.js';
import { LeakyReLU, ReLU, Tanh } from './activation.js';
import { AvgPool2d, MaxPool2d } from './pool.js';
import { UpsampleConv2d } from './upconv.js';
import { Add, Copy, Tile } from './combine.js';

/** Whether a tail has a layer after the conv (else the conv itself writes into o.out). */
const hasTail = (o: BlockTail<Tensor>) => Boolean(o.bn || o.instanceNorm || o.act || o.dropout);

export class GraphBuilder implements NetBuilder<Tensor> {
  constructor(readonly g: Graph) {}

  input(name: string, N: number, H: number, W: number, C: number, grad = true): Tensor {
    return this.g.tensor(N, H, W, C, name, grad);
  }
  tensor(name: string, N: number, H: number, W: number, C: number): Tensor {
    return this.g.tensor(N, H, W, C, name);
  }
  slice(t: Tensor, c0: number, C: number, name: string): Tensor {
    return this.g.slice(t, c0, C, name);
  }
  reshape(t: Tensor, N: number, H: number, W: number, C: number, name: string): Tensor {
    return this.g.reshape(t, N, H, W, C, name);
  }

  conv(name: string, x: Tensor, OC: number, o: ConvSpec<Tensor>): Tensor {
    const y = new Conv2d(this.g, name, x, OC, { k: o.k, stride: o.stride, pad: o.pad, bias: o.bias, out: hasTail(o) ? undefined : o.out }).y;
    return this.tail(name, y, o);
  }

  convT(name: string, x: Tensor, OC: number, o: ConvSpec<Tensor>): Tensor {
    const y = new ConvTranspose2d(this.g, name, x, OC, { k: o.k, stride: o.stride, pad: o.pad, bias: o.bias, out: hasTail(o) ? undefined : o.out }).y;
    return this.tail(name, y, o);
  }

  upconv(name: string, x: Tensor, OC: number, o: BlockTail<Tensor>): Tensor {
    const y = new UpsampleConv2d(this.g, name, x, OC, { bias: o.bias, out: hasTail(o) ? undefined : o.out }).y;
    return this.tail(name, y, o);
  }

  /** Norm, activation and dropout after a conv; the last of them writes into o.out. */
  private tail(name: string, y: Tensor, o: BlockTail<Tensor>): Tensor {
    y = this.normAct(name, y, o, o.dropout ? undefined : o.out);
    return o.dropout ? new Dropout(this.g, `${name}.dropout`, y, o.dropout, o.out, o.dropoutKey).y : y;
  }

  /** BatchNorm2d (its own module name) or InstanceNorm2d (`name.norm`), then the activation (`name.act`); the
   * last of them writes into `out`. */
  private normAct(name: string, y: Tensor, o: NormTail, out?: Tensor): Tensor {
    if (o.bn && o.instanceNorm) throw new Error(`${name}: a block has BatchNorm or InstanceNorm, not both`);
    const normOut = o.act ? undefined : out;
    if (o.bn) y = new BatchNorm2d(this.g, o.bn.name, y, o.bn.eps, 0.1, normOut).y;
    else if (o.instanceNorm) y = new InstanceNorm2d(this.g, `${name}.norm`, y, o.instanceNorm.eps, normOut).y;
    return o.act ? this.act(o.act, `${name}.act`, y, out) : y;
  }

  norm(name: string, x: Tensor, o: NormTail): Tensor {
    if (!o.bn && !o.instanceNorm) throw new Error(`${name}: norm needs bn or instanceNorm`);
    return this.normAct(name, x, o);
  }

  activation(name: string, x: Tensor, a: Activation, out?: Tensor): Tensor {
    return this.act(a, name, x, out);
  }

  tile(name: string, z: Tensor, y: Tensor): void {
    new Tile(this.g, name, z, y);
  }

  private act(a: Activation, name: string, x: Tensor, out?: Tensor): Tensor {
    if (a === 'relu') return new ReLU(this.g, name, x, out).y;
    if (a === 'tanh') return new Tanh(this.g, name, x, out).y;
    return new LeakyReLU(this.g, name, x, a.leaky, out).y;
  }

  linear(name: string, x: Tensor, OUT: number): Tensor {
    return new Linear(this.g, name, x, OUT).y;
  }
  copy(name: string, x: Tensor, y: Tensor): void {
    new Copy(this.g, name, x, y);
  }
  maxpool(name: string, x: Tensor, k: number, stride: number, pad: number): Tensor {
    return new MaxPool2d(this.g, name, x, k, stride, pad).y;
  }
  avgpool(name: string, x: Tensor, k: number, stride: number, pad: number, countIncludePad: boolean): Tensor {
    return new AvgPool2d(this.g, name, x, k, stride, pad, countIncludePad).y;
  }
  add(name: string, a: Tensor, b: Tensor, act?: Activation): Tensor {
    const y = new Add(this.g, name, a, b).y;
    return act ? this.act(act, `${name}.act`, y) : y;
  }
}
