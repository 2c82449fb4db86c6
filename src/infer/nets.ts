// The inference builders of the network descriptions in src/models (generator, encoder, discriminator: each
// topology is written once there): a PlanBuilder records the weight layers (PyTorch names, shapes, the
// BatchNorm folded into each conv) for the converter, and a RunBuilder lays the tensors out in the arena and
// records the ops. Eval mode only: no gradients, no saved tensors, BatchNorm folded into the conv weights and
// bias at conversion time, activations in place on the conv (or add) output they follow.
import type { Core } from '../core/loader.js';
import { convKernels } from '../core/conv-dispatch.js';
import type { ModelConfig } from '../models/config.js';
import { generator } from '../models/generator.js';
import { encoder } from '../models/encoder.js';
import type { Activation, BatchNormSpec, BlockTail, ConvSpec, NetBuilder } from '../nn/builder.js';
import { convOut } from '../nn/shapes.js';
import type { LayerWeights } from './weights.js';

/** An NHWC view: (N, H, W, C) at byte offset ptr with pixel stride ld floats (ptr 0 while planning). */
export interface T {
  N: number;
  H: number;
  W: number;
  C: number;
  ld: number;
  ptr: number;
}

/** One weight layer: a conv (or a linear, as the 1x1 conv over a flattened input) with an optional folded BN. */
export interface LayerSpec {
  /** PyTorch module name of the conv/linear (`down2.model.0`, `fc_mu`); the packed tensors use it as prefix */
  name: string;
  k: number;
  stride: number;
  pad: number;
  /** input channels as the kernel sees them (for a linear: the flattened input size) */
  C: number;
  OC: number;
  /** PyTorch layout of the weight: conv [OC][C][k][k], linear [OUT][IN] */
  torchShape: number[];
  layout: 'conv' | 'linear' | 'linearNCHW';
  /** linearNCHW: PyTorch flattens (C, h, w), we flatten (h, w, C) */
  chw?: [number, number];
  /** the layer has its own bias in PyTorch */
  bias: boolean;
  /** BatchNorm2d that follows the conv, folded into it (PyTorch module name and eps) */
  bn?: BatchNormSpec;
}

const view = (N: number, H: number, W: number, C: number, ld: number, ptr: number): T => ({ N, H, W, C, ld, ptr });

/** The ops of a description in terms of a few primitives each builder implements: a weight layer (conv or
 * linear as a 1x1 conv, BN folded; or nearest x2 + conv3x3 fused), an in-place activation, copy, pools, add. */
abstract class InferBuilder implements NetBuilder<T> {
  protected abstract alloc(name: string, N: number, H: number, W: number, C: number): T;
  /** the conv of a block (weights `name`, BN folded) writing y */
  protected abstract layer(name: string, x: T, OC: number, o: ConvSpec<T>, y: T): void;
  /** the fused nearest x2 + conv3x3 of an upconv block (weights `name`, BN folded) writing y (N, 2H, 2W, OC) */
  protected abstract upLayer(name: string, x: T, OC: number, o: BlockTail<T>, y: T): void;
  protected abstract activate(a: Activation, x: T, y: T): void;
  protected abstract addInto(a: T, b: T, y: T): void;
  abstract linear(name: string, x: T, OUT: number): T;
  abstract copy(name: string, x: T, y: T): void;
  abstract maxpool(name: string, x: T, k: number, stride: number, pad: number): T;
  abstract avgpool(name: string, x: T, k: number, stride: number, pad: number, countIncludePad: boolean): T;

  input(name: string, N: number, H: number, W: number, C: number): T {
    return this.alloc(name, N, H, W, C);
  }
  tensor(name: string, N: number, H: number, W: number, C: number): T {
    return this.alloc(name, N, H, W, C);
  }
  slice(t: T, c0: number, C: number, name: string): T {
    if (c0 < 0 || c0 + C > t.C) throw new Error(`infer: ${name}: channel slice [${c0}, ${c0 + C}) outside ${t.C} channels`);
    return view(t.N, t.H, t.W, C, t.ld, t.ptr + c0 * 4);
  }
  reshape(t: T, N: number, H: number, W: number, C: number, name: string): T {
    if (t.ld !== t.C || N * H * W * C !== t.N * t.H * t.W * t.C) throw new Error(`infer: ${name}: bad reshape`);
    return view(N, H, W, C, C, t.ptr);
  }
  /** conv (BN folded) into o.out or a new tensor; the activation runs in place there */
  conv(name: string, x: T, OC: number, o: ConvSpec<T>): T {
    const OH = convOut(x.H, o.k, o.stride, o.pad, name), OW = convOut(x.W, o.k, o.stride, o.pad, name);
    if (o.out && (o.out.N !== x.N || o.out.H !== OH || o.out.W !== OW || o.out.C !== OC)) throw new Error(`infer: ${name} output view has the wrong shape`);
    const y = o.out ?? this.alloc(name, x.N, OH, OW, OC);
    this.layer(name, x, OC, o, y);
    if (o.act) this.activate(o.act, y, y);
    return y;
  }
  /** nearest x2 + conv3x3 (BN folded), one fused kernel: the upsampled input is never stored */
  upconv(name: string, x: T, OC: number, o: BlockTail<T>): T {
    const OH = 2 * x.H, OW = 2 * x.W;
    if (o.out && (o.out.N !== x.N || o.out.H !== OH || o.out.W !== OW || o.out.C !== OC)) throw new Error(`infer: ${name} output view has the wrong shape`);
    const y = o.out ?? this.alloc(name, x.N, OH, OW, OC);
    this.upLayer(name, x, OC, o, y);
    if (o.act) this.activate(o.act, y, y);
    return y;
  }
  add(name: string, a: T, b: T, act?: Activation): T {
    if (a.N * a.H * a.W !== b.N * b.H * b.W || a.C !== b.C) throw new Error(`infer: ${name}: cannot add (${a.N}, ${a.H}, ${a.W}, ${a.C}) and (${b.N}, ${b.H}, ${b.W}, ${b.C})`);
    const y = this.alloc(name, a.N, a.H, a.W, a.C);
    this.addInto(a, b, y);
    if (act) this.activate(act, y, y);
    return y;
  }
  protected pooled(name: string, x: T, k: number, s: number, p: number): T {
    return this.alloc(name, x.N, convOut(x.H, k, s, p, name), convOut(x.W, k, s, p, name), x.C);
  }
}

/** Records the weight layers of a network; allocates nothing. */
export class PlanBuilder extends InferBuilder {
  readonly layers: LayerSpec[] = [];
  protected alloc(_name: string, N: number, H: number, W: number, C: number): T {
    return view(N, H, W, C, C, 0);
  }
  protected layer(name: string, x: T, OC: number, o: ConvSpec<T>): void {
    this.layers.push({ name, k: o.k, stride: o.stride, pad: o.pad, C: x.C, OC, torchShape: [OC, x.C, o.k, o.k], layout: 'conv', bias: o.bias, bn: o.bn });
  }
  /** the conv of an upconv: the same weight layer as a 3x3 stride-1 pad-1 conv (what the file stores) */
  protected upLayer(name: string, x: T, OC: number, o: BlockTail<T>): void {
    this.layer(name, x, OC, { ...o, k: 3, stride: 1, pad: 1 });
  }
  linear(name: string, x: T, OUT: number): T {
    const hw = x.H * x.W, IN = hw * x.C;
    this.layers.push({ name, k: 1, stride: 1, pad: 0, C: IN, OC: OUT, torchShape: [OUT, IN], layout: hw === 1 ? 'linear' : 'linearNCHW', chw: hw === 1 ? undefined : [x.C, hw], bias: true });
    return this.alloc(name, x.N, 1, 1, OUT);
  }
  protected activate(): void {}
  protected addInto(): void {}
  copy(): void {}
  maxpool(name: string, x: T, k: number, s: number, p: number): T {
    return this.pooled(name, x, k, s, p);
  }
  avgpool(name: string, x: T, k: number, s: number, p: number): T {
    return this.pooled(name, x, k, s, p);
  }
}

/** The networks the inference path runs, by their names in inference files. */
const NETS = { G: generator, E: encoder } as const;

export function planOf(net: 'G' | 'E', cfg: ModelConfig): LayerSpec[] {
  return planBuilder(net, cfg).layers;
}

export function planBuilder(net: 'G' | 'E', cfg: ModelConfig, N = 1): PlanBuilder {
  const b = new PlanBuilder();
  NETS[net](b, cfg, N);
  return b;
}

/** Scratch shared by every network of one core: one layer's f32 weights, the staging copy of its compressed
 * weights and the conv kernels' forward scratch. Sizes grow while networks are built; the pointers are set
 * once after (ops read them when they run). */
export interface SharedScratch {
  wFloats: number;
  stageBytes: number;
  convFloats: number;
  w: number;
  stage: number;
  conv: number;
}

/** Lays the tensors out in the arena and records the ops; weights come from `weights` (dequantised per layer). */
export class RunBuilder extends InferBuilder {
  readonly ops: (() => void)[] = [];
  constructor(readonly core: Core, readonly weights: (name: string) => LayerWeights, readonly scratch: SharedScratch, readonly net: string) {
    super();
  }
  protected alloc(name: string, N: number, H: number, W: number, C: number): T {
    return view(N, H, W, C, C, this.core.arena.alloc(N * H * W * C, `${this.net} ${name}`));
  }
  protected layer(name: string, x: T, OC: number, o: { k: number; stride: number; pad: number }, y: T): void {
    const { k, stride, pad } = o, { core, scratch } = this;
    // Winograd F(2x2, 3x3) where it wins (src/core/conv-dispatch.ts), per chunk of output channels
    const wino = (OCc: number) => convKernels(x.N, x.H, x.W, x.C, OCc, k, stride, pad).fwd === 'wino3';
    this.weighted(name, OC, (OCc) => wino(OCc) ? core.k.winograd3_forward_scratch_size(x.N, x.H, x.W, x.C, OCc)
      : core.k.conv2d_forward_scratch_size(x.N, x.H, x.W, x.C, OCc, k, k, stride, pad),
    (w, b, g, OCc) => wino(OCc) ? core.k.winograd3_forward(y.ptr + g * OCc * 4, x.ptr, w, b, scratch.conv, x.N, x.H, x.W, x.C, OCc, y.ld, x.ld)
      : core.k.conv2d_forward(y.ptr + g * OCc * 4, x.ptr, w, b, scratch.conv, x.N, x.H, x.W, x.C, OCc, k, k, stride, pad, y.ld, x.ld));
  }
  protected upLayer(name: string, x: T, OC: number, _o: BlockTail<T>, y: T): void {
    const { core, scratch } = this;
    this.weighted(name, OC, (OCc) => core.k.upconv_forward_scratch_size(x.N, x.H, x.W, x.C, OCc),
      (w, b, g, OCc) => core.k.upconv_forward(y.ptr + g * OCc * 4, x.ptr, w, b, scratch.conv, x.N, x.H, x.W, x.C, OCc, y.ld, x.ld));
  }
  /** The op of a weight layer: one chunk of output channels at a time, its weights into the scratch (w, and b:
   * the chunk's bias or 0), then `run` into a channel slice of the output. */
  private weighted(name: string, OC: number, convFloats: (OCc: number) => number,
    run: (w: number, b: number, g: number, OCc: number) => void): void {
    const lw = this.weights(name);
    const { scratch } = this;
    scratch.wFloats = Math.max(scratch.wFloats, lw.size);
    scratch.stageBytes = Math.max(scratch.stageBytes, lw.stageBytes);
    const { G, OCc } = lw;
    if (G * OCc !== OC) throw new Error(`infer: ${name} has ${G}x${OCc} output channels, expected ${OC}`);
    scratch.convFloats = Math.max(scratch.convFloats, convFloats(OCc));
    this.ops.push(() => {
      for (let g = 0; g < G; g++) {
        lw.load(g, scratch.w, scratch.stage);
        run(scratch.w, lw.biasPtr && lw.biasPtr + g * OCc * 4, g, OCc);
      }
    });
  }
  linear(name: string, x0: T, OUT: number): T {
    const x = x0.H * x0.W === 1 ? x0 : this.reshape(x0, x0.N, 1, 1, x0.H * x0.W * x0.C, `${name}.flatten`);
    const y = this.alloc(name, x.N, 1, 1, OUT);
    this.layer(name, x, OUT, { k: 1, stride: 1, pad: 0 }, y);
    return y;
  }
  protected activate(a: Activation, x: T, y: T): void {
    const k = this.core.k, P = x.N * x.H * x.W;
    if (a === 'relu') this.ops.push(() => k.relu_forward(y.ptr, x.ptr, P, x.C, y.ld, x.ld));
    else if (a === 'tanh') this.ops.push(() => k.tanh_forward(y.ptr, x.ptr, P, x.C, y.ld, x.ld));
    else this.ops.push(() => k.leaky_relu_forward(y.ptr, x.ptr, a.leaky, P, x.C, y.ld, x.ld));
  }
  copy(_name: string, x: T, y: T): void {
    const k = this.core.k, P = x.N * x.H * x.W;
    this.ops.push(() => k.copy_forward(y.ptr, x.ptr, P, x.C, y.ld, x.ld));
  }
  maxpool(name: string, x: T, ks: number, s: number, p: number): T {
    const y = this.pooled(name, x, ks, s, p);
    const argmax = this.core.arena.alloc(y.N * y.H * y.W * y.C, `${this.net} ${name} argmax`), k = this.core.k;
    this.ops.push(() => k.maxpool2d_forward(y.ptr, argmax, x.ptr, x.N, x.H, x.W, x.C, ks, s, p, y.ld, x.ld));
    return y;
  }
  avgpool(name: string, x: T, ks: number, s: number, p: number, countIncludePad: boolean): T {
    const y = this.pooled(name, x, ks, s, p), k = this.core.k;
    this.ops.push(() => k.avgpool2d_forward(y.ptr, x.ptr, x.N, x.H, x.W, x.C, ks, s, p, countIncludePad ? 1 : 0, y.ld, x.ld));
    return y;
  }
  protected addInto(a: T, b: T, y: T): void {
    const k = this.core.k, P = a.N * a.H * a.W;
    this.ops.push(() => k.add_forward(y.ptr, a.ptr, b.ptr, P, a.C, y.ld, a.ld, b.ld));
  }
}
