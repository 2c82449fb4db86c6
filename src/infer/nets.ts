// The inference builders of the network descriptions in src/models (generator, encoder, discriminator: each
// topology is written once there): a PlanBuilder records the weight layers (PyTorch names, shapes, the
// BatchNorm folded into each conv) for the converter, and a RunBuilder lays the tensors out in the arena and
// records the ops. Eval mode only: no gradients, no saved tensors, BatchNorm folded into the conv (or
// conv-transpose) weights and bias at conversion time, InstanceNorm computed per sample at run time, Dropout the
// identity, norm and activation in place on the conv (or add) output they follow. A BatchNorm alone (the norm op)
// is a weight layer of its own: its running statistics folded into a per-channel scale and shift.
import type { Core } from '../core/loader.js';
import { UPCONV_FORWARD, convKernels, upconvForward } from '../core/conv-dispatch.js';
import type { ModelConfig } from '../models/config.js';
import { describeGenerator } from '../models/generator.js';
import { describeEncoder } from '../models/encoder.js';
import type { Activation, BatchNormSpec, BlockTail, ConvSpec, NetBuilder, NormTail } from '../nn/builder.js';
import { convOut, deconvOut } from '../nn/shapes.js';
import type { LayerWeights } from './weights.js';
import { packAtLoad, panelsPerCall, splitAtLoad, splitTaps, upconvPacks, upconvPacks1x1, upconvPhases1x1, type PackJob } from './packed.js';

/** An NHWC view: (N, H, W, C) at byte offset ptr with pixel stride ld floats (ptr 0 while planning). */
export interface T {
  N: number;
  H: number;
  W: number;
  C: number;
  ld: number;
  ptr: number;
}

/** One weight layer: a conv (or a linear, as the 1x1 conv over a flattened input) or a conv-transpose, with an
 * optional folded BN; or a BatchNorm alone ('bn': a per-channel scale and shift, a depthwise 1x1 with C = 1). */
export interface LayerSpec {
  /** PyTorch module name of the conv/linear/conv-transpose (`down2.model.0`, `fc_mu`), or of the BatchNorm2d of a
   * 'bn' layer; the packed tensors use it as prefix */
  name: string;
  k: number;
  stride: number;
  pad: number;
  /** input channels as the kernel sees them (for a linear: the flattened input size; for 'bn': 1) */
  C: number;
  OC: number;
  /** PyTorch layout of the weight: conv [OC][C][k][k], convT [C][OC][k][k], linear [OUT][IN], bn [OC] (gamma) */
  torchShape: number[];
  /** our layout: conv HWIO [k][k][C][OC]; convT the HWIO of its dual conv, [k][k][OC][C]; bn [OC] */
  layout: 'conv' | 'convT' | 'linear' | 'linearNCHW' | 'bn';
  /** linearNCHW: PyTorch flattens (C, h, w), we flatten (h, w, C) */
  chw?: [number, number];
  /** the layer has its own bias in PyTorch */
  bias: boolean;
  /** BatchNorm2d that follows the conv, folded into it (PyTorch module name and eps) */
  bn?: BatchNormSpec;
  /** 'bn' only: the BatchNorm2d's eps */
  eps?: number;
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
  /** the conv-transpose of a block (weights `name`, BN folded) writing y */
  protected abstract tLayer(name: string, x: T, OC: number, o: ConvSpec<T>, y: T): void;
  /** a BatchNorm2d alone (running statistics folded into a scale and shift): y = x * scale + shift */
  protected abstract bnLayer(bn: BatchNormSpec, x: T, y: T): void;
  /** InstanceNorm2d (per-sample statistics, no parameters): y = (x - mean) * rstd */
  protected abstract instanceNorm(eps: number, x: T, y: T): void;
  protected abstract activate(a: Activation, x: T, y: T): void;
  abstract tile(name: string, z: T, y: T): void;
  protected abstract addInto(a: T, b: T, y: T): void;
  abstract linear(name: string, x: T, OUT: number): T;
  abstract copy(name: string, x: T, y: T): void;
  abstract maxpool(name: string, x: T, k: number, stride: number, pad: number): T;
  abstract avgpool(name: string, x: T, k: number, stride: number, pad: number, countIncludePad: boolean): T;

  /** Where each named op of the description starts among the recorded ops (RunBuilder; profiles use it). */
  protected mark(_name: string): void {}
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
    this.mark(name);
    this.layer(name, x, OC, o, y);
    this.tail(o, y);
    return y;
  }
  /** conv-transpose (BN folded) into o.out or a new tensor; the tail runs in place there */
  convT(name: string, x: T, OC: number, o: ConvSpec<T>): T {
    const OH = deconvOut(x.H, o.k, o.stride, o.pad), OW = deconvOut(x.W, o.k, o.stride, o.pad);
    if (!(OH >= 1 && OW >= 1 && 2 * o.pad <= o.k)) throw new Error(`infer: ${name}: invalid conv-transpose of a ${x.H}x${x.W} input (kernel ${o.k}, stride ${o.stride}, padding ${o.pad})`);
    if (o.out && (o.out.N !== x.N || o.out.H !== OH || o.out.W !== OW || o.out.C !== OC)) throw new Error(`infer: ${name} output view has the wrong shape`);
    const y = o.out ?? this.alloc(name, x.N, OH, OW, OC);
    this.mark(name);
    this.tLayer(name, x, OC, o, y);
    this.tail(o, y);
    return y;
  }
  /** The rest of a block's tail, in place on its output y: InstanceNorm (a BatchNorm is folded into the weights),
   * the activation; Dropout is the identity in eval mode. */
  private tail(o: BlockTail<T>, y: T): void {
    if (o.bn && o.instanceNorm) throw new Error(`infer: ${o.bn.name}: a block has BatchNorm or InstanceNorm, not both`);
    if (o.instanceNorm) this.instanceNorm(o.instanceNorm.eps, y, y);
    if (o.act) this.activate(o.act, y, y);
  }
  /** a norm alone into a new tensor (its input usually feeds a shortcut too), then the activation in place */
  norm(name: string, x: T, o: NormTail): T {
    if (!o.bn === !o.instanceNorm) throw new Error(`infer: ${name}: norm needs bn or instanceNorm, not both`);
    const y = this.alloc(name, x.N, x.H, x.W, x.C);
    this.mark(name);
    if (o.bn) this.bnLayer(o.bn, x, y);
    else this.instanceNorm(o.instanceNorm!.eps, x, y);
    if (o.act) this.activate(o.act, y, y);
    return y;
  }
  activation(name: string, x: T, a: Activation, out?: T): T {
    if (out && (out.N * out.H * out.W !== x.N * x.H * x.W || out.C !== x.C)) throw new Error(`infer: ${name} output view has the wrong shape`);
    const y = out ?? this.alloc(name, x.N, x.H, x.W, x.C);
    this.mark(name);
    this.activate(a, x, y);
    return y;
  }
  protected checkTile(name: string, z: T, y: T): void {
    if (z.H !== 1 || z.W !== 1 || z.N !== y.N || z.C !== y.C) throw new Error(`infer: ${name}: cannot tile (${z.N}, ${z.H}, ${z.W}, ${z.C}) over (${y.N}, ${y.H}, ${y.W}, ${y.C})`);
  }
  /** nearest x2 + conv3x3 (BN folded), one fused kernel: the upsampled input is never stored */
  upconv(name: string, x: T, OC: number, o: BlockTail<T>): T {
    const OH = 2 * x.H, OW = 2 * x.W;
    if (o.out && (o.out.N !== x.N || o.out.H !== OH || o.out.W !== OW || o.out.C !== OC)) throw new Error(`infer: ${name} output view has the wrong shape`);
    const y = o.out ?? this.alloc(name, x.N, OH, OW, OC);
    this.mark(name);
    this.upLayer(name, x, OC, o, y);
    this.tail(o, y);
    return y;
  }
  add(name: string, a: T, b: T, act?: Activation): T {
    if (a.N * a.H * a.W !== b.N * b.H * b.W || a.C !== b.C) throw new Error(`infer: ${name}: cannot add (${a.N}, ${a.H}, ${a.W}, ${a.C}) and (${b.N}, ${b.H}, ${b.W}, ${b.C})`);
    const y = this.alloc(name, a.N, a.H, a.W, a.C);
    this.mark(name);
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
  protected tLayer(name: string, x: T, OC: number, o: ConvSpec<T>): void {
    this.layers.push({ name, k: o.k, stride: o.stride, pad: o.pad, C: x.C, OC, torchShape: [x.C, OC, o.k, o.k], layout: 'convT', bias: o.bias, bn: o.bn });
  }
  protected bnLayer(bn: BatchNormSpec, x: T): void {
    this.layers.push({ name: bn.name, k: 1, stride: 1, pad: 0, C: 1, OC: x.C, torchShape: [x.C], layout: 'bn', bias: true, eps: bn.eps });
  }
  protected instanceNorm(): void {}
  tile(name: string, z: T, y: T): void {
    this.checkTile(name, z, y);
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
const NETS = { G: describeGenerator, E: describeEncoder } as const;

export function planOf(net: 'G' | 'E', cfg: ModelConfig): LayerSpec[] {
  return planBuilder(net, cfg).layers;
}

export function planBuilder(net: 'G' | 'E', cfg: ModelConfig, N = 1): PlanBuilder {
  const b = new PlanBuilder();
  NETS[net](cfg)(b, cfg, N);
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

/** Lays the tensors out in the arena and records the ops; weights come from `weights` (dequantised per layer).
 * `pack`: the weight-bound small layers run on packed weights (packed.ts): f32 files packed once, by `packJobs`,
 * which the caller runs once after building, before the first op; f16 / int8 files dequantised per call straight
 * into the panels. */
export class RunBuilder extends InferBuilder {
  readonly ops: (() => void)[] = [];
  /** ops[at ..] up to the next mark run the description's op `name` (a layer with its norm and activation) */
  readonly marks: { at: number; name: string }[] = [];
  readonly packJobs: PackJob[] = [];
  /** bytes of the packed weights allocated */
  packedBytes = 0;
  constructor(readonly core: Core, readonly weights: (name: string) => LayerWeights, readonly scratch: SharedScratch, readonly net: string, readonly pack = false) {
    super();
  }
  protected alloc(name: string, N: number, H: number, W: number, C: number): T {
    return view(N, H, W, C, C, this.core.arena.alloc(N * H * W * C, `${this.net} ${name}`));
  }
  protected override mark(name: string): void {
    this.marks.push({ at: this.ops.length, name });
  }
  protected layer(name: string, x: T, OC: number, o: { k: number; stride: number; pad: number }, y: T): void {
    const { k, stride, pad } = o, { core, scratch } = this, kk = core.k, { N, H, W, C } = x;
    if (this.pack && splitAtLoad(N, H, W, C, OC, k, stride, pad) && !this.weights(name).loadPanels) return this.packedSplitTaps(name, 's2', x, OC, y);
    if (this.pack && packAtLoad(N, H, W, C, OC, k, stride, pad)) {
      const lw = this.weights(name);
      if (!lw.loadPanels) return this.packedLayer(name, x, OC, y, k, stride, pad);
      if (lw.OCc > 4 && panelsPerCall(lw.size)) return this.panelLayer(name, x, OC, y, k, stride, pad);
    }
    // Winograd F(2x2, 3x3) or the split taps where they win (src/core/conv-dispatch.ts), decided for the whole layer
    // (each output channel's sums are the same at any chunk width, so the threads' shares keep these bits)
    const f = convKernels(N, H, W, C, OC, k, stride, pad).fwd;
    this.weighted(name, OC, (OCc) => f === 'wino3' ? kk.winograd3_forward_scratch_size(N, H, W, C, OCc)
      : f === 'split_s2' ? kk.conv3s2_split_forward_scratch_size(N, H, W, C, OCc)
        : kk.conv2d_forward_scratch_size(N, H, W, C, OCc, k, k, stride, pad),
    (w, b, g, OCc) => {
      const yg = y.ptr + g * OCc * 4;
      if (f === 'wino3') kk.winograd3_forward(yg, x.ptr, w, b, scratch.conv, N, H, W, C, OCc, y.ld, x.ld);
      else if (f === 'split_s2') kk.conv3s2_split_forward(yg, x.ptr, w, b, scratch.conv, N, H, W, C, OCc, y.ld, x.ld);
      else kk.conv2d_forward(yg, x.ptr, w, b, scratch.conv, N, H, W, C, OCc, k, k, stride, pad, y.ld, x.ld);
    });
  }
  protected upLayer(name: string, x: T, OC: number, _o: BlockTail<T>, y: T): void {
    const { core, scratch } = this, k = core.k;
    if (this.pack && upconvPacks1x1(x.H, x.W, OC) && !this.weights(name).loadPanels) return this.packedUp1x1(name, x, OC, y);
    if (this.pack && upconvPacks(x.N, x.H, x.W, x.C, OC) && !this.weights(name).loadPanels) return this.packedUp(name, x, OC, y);
    // the per-call kernel (src/core/conv-dispatch.ts: the phases, the split taps or the parts on w's own taps),
    // decided for the whole layer
    const f = UPCONV_FORWARD[upconvForward(x.N, x.H, x.W, x.C, OC)];
    this.weighted(name, OC, (OCc) => k[f.scratch](x.N, x.H, x.W, x.C, OCc),
      (w, b, g, OCc) => k[f.run](y.ptr + g * OCc * 4, x.ptr, w, b, scratch.conv, x.N, x.H, x.W, x.C, OCc, y.ld, x.ld));
  }
  /** A conv on weights packed once: each chunk's f32 weights packed into its own panels, one after another, which
   * is the whole layer's panel layout (chunks are multiples of 8 channels); one call runs all of them. */
  private packedLayer(name: string, x: T, OC: number, y: T, k: number, stride: number, pad: number): void {
    const { core, scratch } = this, kk = core.k;
    const lw = this.weights(name);
    if (lw.G * lw.OCc !== OC) throw new Error(`infer: ${name} has ${lw.G}x${lw.OCc} output channels, expected ${OC}`);
    const { G, OCc } = lw, per = kk.conv2d_packed_size(k, k, x.C, OCc);
    const wp = core.arena.alloc(G * per, `${this.net} ${name} packed weights`);
    this.packedBytes += G * per * 4;
    this.packJobs.push({ floats: lw.size, run: (tmp) => {
      for (let g = 0; g < G; g++) {
        lw.load(g, tmp, scratch.stage);
        kk.conv2d_pack(wp + g * per * 4, tmp, k, k, x.C, OCc);
      }
    } });
    scratch.convFloats = Math.max(scratch.convFloats, kk.conv2d_packed_scratch_size(x.N, x.H, x.W, x.C, OC, k, k, stride, pad));
    this.ops.push(() => kk.conv2d_forward_packed(y.ptr, x.ptr, wp, lw.biasPtr, scratch.conv, x.N, x.H, x.W, x.C, OC, k, k, stride, pad, y.ld, x.ld));
  }
  /** A conv whose compressed weights are dequantised per call straight into the panels (dequant_*_panels: the
   * same pass as dequantising into the conv layout), then conv2d_forward_packed per chunk. */
  private panelLayer(name: string, x: T, OC: number, y: T, k: number, stride: number, pad: number): void {
    const { core, scratch } = this, kk = core.k;
    const lw = this.layerWeights(name, OC), { G, OCc } = lw;
    scratch.wFloats = Math.max(scratch.wFloats, kk.conv2d_packed_size(k, k, x.C, OCc));
    scratch.convFloats = Math.max(scratch.convFloats, kk.conv2d_packed_scratch_size(x.N, x.H, x.W, x.C, OCc, k, k, stride, pad));
    this.ops.push(() => {
      for (let g = 0; g < G; g++) {
        lw.loadPanels!(g, scratch.w, scratch.stage);
        kk.conv2d_forward_packed(y.ptr + g * OCc * 4, x.ptr, scratch.w, lw.biasPtr && lw.biasPtr + g * OCc * 4, scratch.conv, x.N, x.H, x.W, x.C, OCc, k, k, stride, pad, y.ld, x.ld);
      }
    });
  }
  /** The split taps' matrices of a layer (op 's2': a 3x3 stride-2 conv, 'upconv': a fused upsample + conv; F(2, 2)
   * or F(4, 2), packed.ts splitTaps) transformed once at load (f32 files): the transformed weights of every chunk in
   * ONE U (the pack at the chunk's channel offset) and one forward call on U and the bias, so the input transforms run
   * once per layer, not once per chunk. Nothing is copied per run. */
  private packedSplitTaps(name: string, op: 'upconv' | 's2', x: T, OC: number, y: T): void {
    const { core, scratch } = this, kk = core.k, { N, H, W, C } = x;
    const lw = this.weights(name);
    if (lw.G * lw.OCc !== OC) throw new Error(`infer: ${name} has ${lw.G}x${lw.OCc} output channels, expected ${OC}`);
    const { G, OCc } = lw;
    if (G > 1 && OCc % 8 !== 0) throw new Error(`infer: ${name}: chunks of ${OCc} output channels, not whole 8-channel panels`);
    const taps = splitTaps(op, N, H, W, C, OC);
    const size = kk[taps.size](C, OC);
    const U = core.arena.alloc(size, `${this.net} ${name} packed weights`);
    this.packedBytes += size * 4;
    this.packJobs.push({ floats: lw.size, run: (tmp) => {
      for (let g = 0; g < G; g++) {
        lw.load(g, tmp, scratch.stage);
        kk[taps.pack](U, tmp, 0, C, OCc, OC, g * OCc);
      }
    } });
    scratch.convFloats = Math.max(scratch.convFloats, kk[taps.scratch](N, H, W, C, OC));
    this.ops.push(() => kk[taps.run](y.ptr, x.ptr, U, lw.biasPtr, scratch.conv, N, H, W, C, OC, y.ld, x.ld));
  }
  /** A fused upsample + conv on weights transformed once at load (f32 files, packed.ts upconvPacks): the split taps
   * where they win on packed weights (conv-dispatch.ts; packedSplitTaps), else per chunk w's nine taps in panels on
   * tiny images (upconv_taps_pack: 'taps') or the four phases' panels (upconv_pack), each run the packed forward per
   * chunk. */
  private packedUp(name: string, x: T, OC: number, y: T): void {
    const { core, scratch } = this, kk = core.k, { N, H, W, C } = x;
    const f = upconvForward(N, H, W, C, OC, true);
    if (f === 'split') return this.packedSplitTaps(name, 'upconv', x, OC, y);
    const lw = this.weights(name);
    if (lw.G * lw.OCc !== OC) throw new Error(`infer: ${name} has ${lw.G}x${lw.OCc} output channels, expected ${OC}`);
    const { G, OCc } = lw, taps = f === 'taps', per = taps ? kk.upconv_taps_packed_size(C, OCc) : kk.upconv_packed_size(C, OCc);
    const wp = core.arena.alloc(G * per, `${this.net} ${name} packed weights`);
    this.packedBytes += G * per * 4;
    this.packJobs.push({ floats: lw.size, run: (tmp) => {
      for (let g = 0; g < G; g++) {
        lw.load(g, tmp, scratch.stage);
        if (taps) kk.upconv_taps_pack(wp + g * per * 4, tmp, C, OCc);
        else kk.upconv_pack(wp + g * per * 4, tmp, 0, C, OCc);
      }
    } });
    scratch.convFloats = Math.max(scratch.convFloats, taps ? kk.upconv_taps_scratch_size(N, H, W, C, OCc) : kk.upconv_packed_scratch_size(N, H, W, C, OCc));
    this.ops.push(() => {
      for (let g = 0; g < G; g++) {
        const yg = y.ptr + g * OCc * 4, bg = lw.biasPtr && lw.biasPtr + g * OCc * 4, wg = wp + g * per * 4;
        if (taps) kk.upconv_taps_forward_packed(yg, x.ptr, wg, bg, scratch.conv, N, H, W, C, OCc, y.ld, x.ld);
        else kk.upconv_forward_packed(yg, x.ptr, 0, wg, bg, scratch.conv, N, H, W, C, OCc, y.ld, x.ld); // w unread above 8 pixels
      }
    });
  }
  /** A fused upsample + conv of a 1x1 image: output pixel ph = (a, b) of each image is a 1x1 conv of x with the
   * summed taps of that pixel (upconvPhases1x1), packed once; the images' pixels ph are 4 pixel strides apart. */
  private packedUp1x1(name: string, x: T, OC: number, y: T): void {
    const { core, scratch } = this, kk = core.k, C = x.C;
    const lw = this.weights(name);
    if (lw.G * lw.OCc !== OC) throw new Error(`infer: ${name} has ${lw.G}x${lw.OCc} output channels, expected ${OC}`);
    const { G, OCc } = lw, per = kk.conv2d_packed_size(1, 1, C, OCc);
    const wp = [0, 1, 2, 3].map((ph) => core.arena.alloc(G * per, `${this.net} ${name} packed weights, output pixel ${ph}`));
    this.packedBytes += 4 * G * per * 4;
    this.packJobs.push({ floats: lw.size, run: (tmp) => {
      for (let g = 0; g < G; g++) {
        lw.load(g, tmp, scratch.stage);
        const phases = upconvPhases1x1(core.f32(tmp, lw.size), C, OCc);
        phases.forEach((m, ph) => {
          core.f32(tmp, m.length).set(m);
          kk.conv2d_pack(wp[ph] + g * per * 4, tmp, 1, 1, C, OCc);
        });
      }
    } });
    scratch.convFloats = Math.max(scratch.convFloats, kk.conv2d_packed_scratch_size(x.N, 1, 1, C, OC, 1, 1, 1, 0));
    this.ops.push(() => {
      for (let ph = 0; ph < 4; ph++) kk.conv2d_forward_packed(y.ptr + ph * y.ld * 4, x.ptr, wp[ph], lw.biasPtr, scratch.conv, x.N, 1, 1, C, OC, 1, 1, 1, 0, 4 * y.ld, x.ld);
    });
  }
  /** A layer's weights, with the shared scratch grown to hold one chunk of them; `chunked` channels (the
   * innermost of the stored layout: output channels, or a conv-transpose's input channels) must be G x OCc. */
  private layerWeights(name: string, chunked: number): LayerWeights {
    const lw = this.weights(name);
    const { scratch } = this;
    scratch.wFloats = Math.max(scratch.wFloats, lw.size);
    scratch.stageBytes = Math.max(scratch.stageBytes, lw.stageBytes);
    if (lw.G * lw.OCc !== chunked) throw new Error(`infer: ${name} has ${lw.G}x${lw.OCc} chunked channels, expected ${chunked}`);
    return lw;
  }
  /** The op of a weight layer: one chunk of output channels at a time, its weights into the scratch (w, and b:
   * the chunk's bias or 0), then `run` into a channel slice of the output. */
  private weighted(name: string, OC: number, convFloats: (OCc: number) => number,
    run: (w: number, b: number, g: number, OCc: number) => void): void {
    const lw = this.layerWeights(name, OC);
    const { scratch } = this;
    const { G, OCc } = lw;
    scratch.convFloats = Math.max(scratch.convFloats, convFloats(OCc));
    this.ops.push(() => {
      for (let g = 0; g < G; g++) {
        lw.load(g, scratch.w, scratch.stage);
        run(scratch.w, lw.biasPtr && lw.biasPtr + g * OCc * 4, g, OCc);
      }
    });
  }
  /** ConvTranspose2d as its dual conv's backward-input: zero y, then per chunk of input channels (the stored
   * layout [k][k][OC][C] is chunked along C) accumulate that chunk's transposed conv of x's channel slice,
   * then the bias (BN folded in). */
  protected tLayer(name: string, x: T, OC: number, o: ConvSpec<T>, y: T): void {
    const { k: ks, stride, pad } = o, { core, scratch } = this, k = core.k;
    const lw = this.layerWeights(name, x.C), { G, OCc: Cc } = lw, P = y.N * y.H * y.W;
    scratch.convFloats = Math.max(scratch.convFloats, k.conv2d_scratch_size(x.N, y.H, y.W, OC, Cc, ks, ks, stride, pad));
    this.ops.push(() => {
      k.view_zero(y.ptr, P, OC, y.ld);
      for (let g = 0; g < G; g++) {
        lw.load(g, scratch.w, scratch.stage);
        k.conv2d_backward_input(y.ptr, x.ptr + g * Cc * 4, scratch.w, scratch.conv, x.N, y.H, y.W, OC, Cc, ks, ks, stride, pad, y.ld, x.ld);
      }
      if (lw.biasPtr) k.bias_add_forward(y.ptr, lw.biasPtr, P, OC, y.ld);
    });
  }
  /** y = x * scale + shift per channel (the folded running statistics), through the BatchNorm apply kernel with
   * mean 0 and rstd 1 */
  protected bnLayer(bn: BatchNormSpec, x: T, y: T): void {
    const lw = this.layerWeights(bn.name, x.C), { core, scratch } = this, k = core.k, P = x.N * x.H * x.W;
    const mean = core.arena.alloc(x.C, `${this.net} ${bn.name} zero mean`), rstd = core.arena.alloc(x.C, `${this.net} ${bn.name} unit rstd`);
    core.f32(mean, x.C).fill(0);
    core.f32(rstd, x.C).fill(1);
    this.ops.push(() => {
      lw.load(0, scratch.w, scratch.stage);
      k.batchnorm_apply(y.ptr, x.ptr, mean, rstd, scratch.w, lw.biasPtr, P, x.C, y.ld, x.ld);
    });
  }
  /** per-sample statistics into [N][C] buffers of its own; in place (x = y) is fine: each sample's statistics
   * are taken before it is normalised */
  protected instanceNorm(eps: number, x: T, y: T): void {
    const { core } = this, k = core.k;
    const mean = core.arena.alloc(x.N * x.C, `${this.net} instance mean`), rstd = core.arena.alloc(x.N * x.C, `${this.net} instance rstd`);
    this.ops.push(() => k.instancenorm_forward(y.ptr, mean, rstd, x.ptr, eps, x.N, x.H * x.W, x.C, y.ld, x.ld));
  }
  tile(name: string, z: T, y: T): void {
    this.checkTile(name, z, y);
    this.mark(name);
    const k = this.core.k, HW = y.H * y.W;
    // per sample: z's row repeated over the H x W pixels (source stride 0)
    this.ops.push(() => {
      for (let n = 0; n < y.N; n++) k.copy_forward(y.ptr + n * HW * y.ld * 4, z.ptr + n * z.ld * 4, HW, y.C, y.ld, 0);
    });
  }
  linear(name: string, x0: T, OUT: number): T {
    const x = x0.H * x0.W === 1 ? x0 : this.reshape(x0, x0.N, 1, 1, x0.H * x0.W * x0.C, `${name}.flatten`);
    const y = this.alloc(name, x.N, 1, 1, OUT);
    this.mark(name);
    this.layer(name, x, OUT, { k: 1, stride: 1, pad: 0 }, y);
    return y;
  }
  protected activate(a: Activation, x: T, y: T): void {
    const k = this.core.k, P = x.N * x.H * x.W;
    if (a === 'relu') this.ops.push(() => k.relu_forward(y.ptr, x.ptr, P, x.C, y.ld, x.ld));
    else if (a === 'tanh') this.ops.push(() => k.tanh_forward(y.ptr, x.ptr, P, x.C, y.ld, x.ld));
    else this.ops.push(() => k.leaky_relu_forward(y.ptr, x.ptr, a.leaky, P, x.C, y.ld, x.ld));
  }
  copy(name: string, x: T, y: T): void {
    this.mark(name);
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
