// The inference networks: the pytorch-gan U-Net generator and the ResNet-18 encoder, written once against a
// small builder interface and built twice: a PlanBuilder records the weight layers (PyTorch names, shapes,
// the BatchNorm folded into each conv) for the converter, and a RunBuilder lays the tensors out in the
// arena and records the ops. Eval mode only: no gradients, no saved tensors, BatchNorm folded into the conv
// weights and bias at conversion time. The structure mirrors src/models/generator.ts and encoder.ts
// (test/infer.test.ts checks the outputs against those graphs in eval mode).
import type { Core } from '../core/loader.js';
import type { ModelConfig } from '../models/config.js';
import { encoderMapSize } from '../models/encoder.js';
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
  bn?: { name: string; eps: number };
}

export interface ConvOpts {
  k: number;
  stride: number;
  pad: number;
  bias: boolean;
  bn?: { name: string; eps: number };
  out?: T;
}

export interface Builder {
  tensor(N: number, H: number, W: number, C: number, what: string): T;
  slice(t: T, c0: number, C: number): T;
  reshape(t: T, N: number, H: number, W: number, C: number): T;
  conv(name: string, x: T, OC: number, o: ConvOpts): T;
  linear(name: string, x: T, OUT: number): T;
  relu(x: T, out?: T): T;
  leaky(x: T, slope: number, out?: T): T;
  tanh(x: T, out?: T): T;
  /** temp: the output lives in the shared upsample buffer, valid until the next temp upsample */
  upsample(x: T, temp?: boolean): T;
  copy(x: T, y: T): void;
  maxpool(x: T, k: number, stride: number, pad: number): T;
  avgpool(x: T, k: number, stride: number, pad: number): T;
  add(a: T, b: T): T;
}

/** Generator G(image, z) of the pytorch-gan preset; returns the input tensors and the output. */
export function buildGenerator(b: Builder, cfg: ModelConfig, N: number): { image: T; z: T; out: T } {
  const S = cfg.imageSize, C = cfg.channels, w = cfg.gBase, eps = cfg.bnEpsG;
  if (!Number.isInteger(S) || S <= 0 || S % 128 !== 0) throw new Error(`generator: image size ${S} is not a multiple of 128`);
  const image = b.tensor(N, S, S, C, 'G.image');
  const z = b.tensor(N, 1, 1, cfg.latentDim, 'G.z');
  const fc = b.linear('fc', z, S * S);
  const input = b.tensor(N, S, S, C + 1, 'G.input');
  b.copy(image, b.slice(input, 0, C));
  b.copy(b.reshape(fc, N, S, S, 1), b.slice(input, C, 1));
  const downC = [w, 2 * w, 4 * w, 8 * w, 8 * w, 8 * w, 8 * w];
  const upC = [8 * w, 8 * w, 8 * w, 4 * w, 2 * w, w];
  const sizes: number[] = [];
  let s = S;
  for (let i = 0; i < 7; i++) sizes.push((s = Math.ceil(s / 2)));
  const cats: T[] = [];
  for (let k = 1; k <= 6; k++) cats[k] = b.tensor(N, sizes[6 - k], sizes[6 - k], 2 * upC[k - 1], `G.cat${k}`);
  let x = input;
  for (let i = 1; i <= 7; i++) {
    const norm = i !== 1 && i !== 7;
    // the conv writes straight into its half of the skip concatenation; the activation runs in place
    const out = i < 7 ? b.slice(cats[7 - i], upC[6 - i], downC[i - 1]) : undefined;
    const y = b.conv(`down${i}.model.0`, x, downC[i - 1], { k: 3, stride: 2, pad: 1, bias: false, bn: norm ? { name: `down${i}.model.1`, eps } : undefined, out });
    x = b.leaky(y, 0.2, y);
  }
  for (let k = 1; k <= 6; k++) {
    const out = b.slice(cats[k], 0, upC[k - 1]);
    const y = b.conv(`up${k}.model.1`, b.upsample(x, true), upC[k - 1], { k: 3, stride: 1, pad: 1, bias: false, bn: { name: `up${k}.model.2`, eps }, out });
    b.relu(y, y);
    x = cats[k];
  }
  const y = b.conv('final.1', b.upsample(x, true), C, { k: 3, stride: 1, pad: 1, bias: true });
  return { image, z, out: b.tanh(y, y) };
}

/** Encoder E(image) -> (mu, logvar): ResNet-18 conv1..layer3, AvgPool2d(8), two linear heads. */
export function buildEncoder(b: Builder, cfg: ModelConfig, N: number): { image: T; mu: T; logvar: T } {
  const S = cfg.imageSize, w = cfg.eBase, eps = cfg.bnEpsE;
  const m = encoderMapSize(S);
  if (m < 8) throw new Error(`encoder: image size ${S} gives a ${m}x${m} layer3 map, smaller than the 8x8 AvgPool window; use at least 113 px`);
  const image = b.tensor(N, S, S, cfg.channels, 'E.image');
  const c1 = b.conv('feature_extractor.0', image, w, { k: 7, stride: 2, pad: 3, bias: false, bn: { name: 'feature_extractor.1', eps } });
  let x = b.maxpool(b.relu(c1, c1), 3, 2, 1);
  const widths = [w, 2 * w, 4 * w];
  for (let L = 0; L < 3; L++)
    for (let i = 0; i < 2; i++) {
      const name = `feature_extractor.${4 + L}.${i}`;
      const C = widths[L], stride = L > 0 && i === 0 ? 2 : 1;
      const y1 = b.conv(`${name}.conv1`, x, C, { k: 3, stride, pad: 1, bias: false, bn: { name: `${name}.bn1`, eps } });
      const r1 = b.relu(y1, y1);
      const c2 = b.conv(`${name}.conv2`, r1, C, { k: 3, stride: 1, pad: 1, bias: false, bn: { name: `${name}.bn2`, eps } });
      const sc = stride !== 1 || x.C !== C ? b.conv(`${name}.downsample.0`, x, C, { k: 1, stride, pad: 0, bias: false, bn: { name: `${name}.downsample.1`, eps } }) : x;
      const sum = b.add(c2, sc);
      x = b.relu(sum, sum);
    }
  const pool = b.avgpool(x, 8, 8, 0);
  return { image, mu: b.linear('fc_mu', pool, cfg.latentDim), logvar: b.linear('fc_logvar', pool, cfg.latentDim) };
}

const view = (N: number, H: number, W: number, C: number, ld: number, ptr: number): T => ({ N, H, W, C, ld, ptr });

/** Shape bookkeeping shared by both builders. */
abstract class ShapeBuilder implements Builder {
  abstract tensor(N: number, H: number, W: number, C: number, what: string): T;
  slice(t: T, c0: number, C: number): T {
    if (c0 < 0 || c0 + C > t.C) throw new Error(`infer: channel slice [${c0}, ${c0 + C}) outside ${t.C} channels`);
    return view(t.N, t.H, t.W, C, t.ld, t.ptr + c0 * 4);
  }
  reshape(t: T, N: number, H: number, W: number, C: number): T {
    if (t.ld !== t.C || N * H * W * C !== t.N * t.H * t.W * t.C) throw new Error('infer: bad reshape');
    return view(N, H, W, C, C, t.ptr);
  }
  protected convShape(x: T, OC: number, o: ConvOpts, name: string): T {
    const OH = convOut(x.H, o.k, o.stride, o.pad, name), OW = convOut(x.W, o.k, o.stride, o.pad, name);
    if (o.out && (o.out.N !== x.N || o.out.H !== OH || o.out.W !== OW || o.out.C !== OC)) throw new Error(`infer: ${name} output view has the wrong shape`);
    return o.out ?? this.tensor(x.N, OH, OW, OC, name);
  }
  abstract conv(name: string, x: T, OC: number, o: ConvOpts): T;
  abstract linear(name: string, x: T, OUT: number): T;
  abstract relu(x: T, out?: T): T;
  abstract leaky(x: T, slope: number, out?: T): T;
  abstract tanh(x: T, out?: T): T;
  abstract upsample(x: T, temp?: boolean): T;
  abstract copy(x: T, y: T): void;
  abstract maxpool(x: T, k: number, stride: number, pad: number): T;
  abstract avgpool(x: T, k: number, stride: number, pad: number): T;
  abstract add(a: T, b: T): T;
}

/** Records the weight layers of a network; allocates nothing. */
export class PlanBuilder extends ShapeBuilder {
  readonly layers: LayerSpec[] = [];
  tensor(N: number, H: number, W: number, C: number): T {
    return view(N, H, W, C, C, 0);
  }
  conv(name: string, x: T, OC: number, o: ConvOpts): T {
    this.layers.push({ name, k: o.k, stride: o.stride, pad: o.pad, C: x.C, OC, torchShape: [OC, x.C, o.k, o.k], layout: 'conv', bias: o.bias, bn: o.bn });
    return this.convShape(x, OC, o, name);
  }
  linear(name: string, x: T, OUT: number): T {
    const hw = x.H * x.W, IN = hw * x.C;
    this.layers.push({ name, k: 1, stride: 1, pad: 0, C: IN, OC: OUT, torchShape: [OUT, IN], layout: hw === 1 ? 'linear' : 'linearNCHW', chw: hw === 1 ? undefined : [x.C, hw], bias: true });
    return this.tensor(x.N, 1, 1, OUT);
  }
  private same(x: T, out?: T): T {
    return out ?? this.tensor(x.N, x.H, x.W, x.C);
  }
  relu(x: T, out?: T): T {
    return this.same(x, out);
  }
  leaky(x: T, _s: number, out?: T): T {
    return this.same(x, out);
  }
  /** largest temp upsample output (floats) */
  tempFloats = 0;
  tanh(x: T, out?: T): T {
    return this.same(x, out);
  }
  upsample(x: T, temp = false): T {
    if (temp) this.tempFloats = Math.max(this.tempFloats, 4 * x.N * x.H * x.W * x.C);
    return this.tensor(x.N, 2 * x.H, 2 * x.W, x.C);
  }
  copy(): void {}
  maxpool(x: T, k: number, s: number, p: number): T {
    return this.tensor(x.N, convOut(x.H, k, s, p, 'maxpool'), convOut(x.W, k, s, p, 'maxpool'), x.C);
  }
  avgpool(x: T, k: number, s: number, p: number): T {
    return this.tensor(x.N, convOut(x.H, k, s, p, 'avgpool'), convOut(x.W, k, s, p, 'avgpool'), x.C);
  }
  add(a: T): T {
    return this.same(a);
  }
}

export function planOf(net: 'G' | 'E', cfg: ModelConfig): LayerSpec[] {
  return planBuilder(net, cfg).layers;
}

export function planBuilder(net: 'G' | 'E', cfg: ModelConfig, N = 1): PlanBuilder {
  const b = new PlanBuilder();
  if (net === 'G') buildGenerator(b, cfg, N);
  else buildEncoder(b, cfg, N);
  return b;
}

/** Scratch shared by every network of one core: one layer's f32 weights, the staging copy of its compressed
 * weights, the conv kernels' forward scratch, and the temp upsample buffer (allocated up front). Sizes grow
 * while networks are built; the pointers are set once after (ops read them when they run). */
export interface SharedScratch {
  wFloats: number;
  stageBytes: number;
  convFloats: number;
  w: number;
  stage: number;
  conv: number;
  temp: { ptr: number; floats: number };
}

/** Lays the tensors out in the arena and records the ops; weights come from `weights` (dequantised per layer). */
export class RunBuilder extends ShapeBuilder {
  readonly ops: (() => void)[] = [];
  constructor(readonly core: Core, readonly weights: (name: string) => LayerWeights, readonly scratch: SharedScratch, readonly net: string) {
    super();
  }
  tensor(N: number, H: number, W: number, C: number, what: string): T {
    return view(N, H, W, C, C, this.core.arena.alloc(N * H * W * C, `${this.net} ${what}`));
  }
  private layer(name: string, x: T, OC: number, k: number, stride: number, pad: number, y: T): void {
    const lw = this.weights(name);
    const { core, scratch } = this;
    const kk = core.k;
    scratch.wFloats = Math.max(scratch.wFloats, lw.size);
    scratch.stageBytes = Math.max(scratch.stageBytes, lw.stageBytes);
    const { G, OCc } = lw;
    if (G * OCc !== OC) throw new Error(`infer: ${name} has ${G}x${OCc} output channels, expected ${OC}`);
    scratch.convFloats = Math.max(scratch.convFloats, kk.conv2d_forward_scratch_size(x.N, x.H, x.W, x.C, OCc, k, k, stride, pad));
    this.ops.push(() => {
      // one chunk of output channels at a time: its weights into the scratch, its conv into a channel slice of y
      for (let g = 0; g < G; g++) {
        lw.load(g, scratch.w, scratch.stage);
        kk.conv2d_forward(y.ptr + g * OCc * 4, x.ptr, scratch.w, lw.biasPtr && lw.biasPtr + g * OCc * 4, scratch.conv,
          x.N, x.H, x.W, x.C, OCc, k, k, stride, pad, y.ld, x.ld);
      }
    });
  }
  conv(name: string, x: T, OC: number, o: ConvOpts): T {
    const y = this.convShape(x, OC, o, name);
    this.layer(name, x, OC, o.k, o.stride, o.pad, y);
    return y;
  }
  linear(name: string, x0: T, OUT: number): T {
    const x = x0.H * x0.W === 1 ? x0 : this.reshape(x0, x0.N, 1, 1, x0.H * x0.W * x0.C);
    const y = this.tensor(x.N, 1, 1, OUT, name);
    this.layer(name, x, OUT, 1, 1, 0, y);
    return y;
  }
  private same(x: T, out: T | undefined, what: string): T {
    if (out && (out.N * out.H * out.W !== x.N * x.H * x.W || out.C !== x.C)) throw new Error(`infer: ${what} output view has the wrong shape`);
    return out ?? this.tensor(x.N, x.H, x.W, x.C, what);
  }
  relu(x: T, out?: T): T {
    const y = this.same(x, out, 'relu'), k = this.core.k, P = x.N * x.H * x.W;
    this.ops.push(() => k.relu_forward(y.ptr, x.ptr, P, x.C, y.ld, x.ld));
    return y;
  }
  leaky(x: T, slope: number, out?: T): T {
    const y = this.same(x, out, 'leaky_relu'), k = this.core.k, P = x.N * x.H * x.W;
    this.ops.push(() => k.leaky_relu_forward(y.ptr, x.ptr, slope, P, x.C, y.ld, x.ld));
    return y;
  }
  tanh(x: T, out?: T): T {
    const y = this.same(x, out, 'tanh'), k = this.core.k, P = x.N * x.H * x.W;
    this.ops.push(() => k.tanh_forward(y.ptr, x.ptr, P, x.C, y.ld, x.ld));
    return y;
  }
  upsample(x: T, temp = false): T {
    const t = this.scratch.temp, floats = 4 * x.N * x.H * x.W * x.C;
    if (temp && floats > t.floats) throw new Error(`infer: temp upsample buffer of ${t.floats} floats is smaller than ${floats}`);
    const y = temp ? view(x.N, 2 * x.H, 2 * x.W, x.C, x.C, t.ptr) : this.tensor(x.N, 2 * x.H, 2 * x.W, x.C, 'upsample'), k = this.core.k;
    this.ops.push(() => k.upsample_nearest2x_forward(y.ptr, x.ptr, x.N, x.H, x.W, x.C, y.ld, x.ld));
    return y;
  }
  copy(x: T, y: T): void {
    const k = this.core.k, P = x.N * x.H * x.W;
    this.ops.push(() => k.copy_forward(y.ptr, x.ptr, P, x.C, y.ld, x.ld));
  }
  maxpool(x: T, ks: number, s: number, p: number): T {
    const y = this.tensor(x.N, convOut(x.H, ks, s, p, 'maxpool'), convOut(x.W, ks, s, p, 'maxpool'), x.C, 'maxpool');
    const argmax = this.core.arena.alloc(y.N * y.H * y.W * y.C, `${this.net} maxpool argmax`), k = this.core.k;
    this.ops.push(() => k.maxpool2d_forward(y.ptr, argmax, x.ptr, x.N, x.H, x.W, x.C, ks, s, p, y.ld, x.ld));
    return y;
  }
  avgpool(x: T, ks: number, s: number, p: number): T {
    const y = this.tensor(x.N, convOut(x.H, ks, s, p, 'avgpool'), convOut(x.W, ks, s, p, 'avgpool'), x.C, 'avgpool'), k = this.core.k;
    this.ops.push(() => k.avgpool2d_forward(y.ptr, x.ptr, x.N, x.H, x.W, x.C, ks, s, p, 1, y.ld, x.ld));
    return y;
  }
  add(a: T, b: T): T {
    const y = this.same(a, undefined, 'add'), k = this.core.k, P = a.N * a.H * a.W;
    this.ops.push(() => k.add_forward(y.ptr, a.ptr, b.ptr, P, a.C, y.ld, a.ld, b.ld));
    return y;
  }
}
