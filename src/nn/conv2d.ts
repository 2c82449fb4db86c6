// Conv2d layer: y = conv(x, w) + b over NHWC tensors; weights HWIO in our store, OIHW in PyTorch's.
// y may be a channel slice of a wider tensor (zero-copy concat), and x may be one too.
// Saved for backward: nothing beyond x (the input) itself. Each pass runs the kernel src/core/conv-dispatch.ts
// picks for the shape: Winograd F(2x2, 3x3) for stride-1 3x3 convs of enough tiles and channels, F(2x2, 2x2) or
// F(4x4, 2x2) over the input's phases for 4x4 stride-2 ones, the taps split by parity for 3x3 stride-2 ones, the
// direct conv otherwise.
import type { Graph, Layer, Tensor } from './graph.js';
import type { Param } from './params.js';
import { convKernels, type ConvKernel, type ConvKernels } from '../core/conv-dispatch.js';
import { convOut } from './shapes.js';

export interface ConvOptions {
  k: number;
  stride: number;
  pad: number;
  bias: boolean;
  /** write into this tensor (e.g. a slice of a concatenation) instead of a new one */
  out?: Tensor;
}

/** Each fast kernel's export per pass and the scratch size it asks for (null: that pass is the direct conv). */
const PASS_EXPORTS: Record<Exclude<ConvKernel, 'direct'>, Record<keyof ConvKernels, { run: string; scratch: string } | null>> = {
  wino3: {
    fwd: { run: 'winograd3_forward', scratch: 'winograd3_scratch_size' },
    bwdIn: { run: 'winograd3_backward_input', scratch: 'winograd3_scratch_size' },
    bwdW: { run: 'winograd3_backward_weight', scratch: 'winograd3_scratch_size' },
  },
  wino_s2: {
    fwd: { run: 'winograd_s2_forward', scratch: 'winograd_s2_forward_scratch_size' },
    bwdIn: { run: 'winograd_s2_backward_input', scratch: 'winograd_s2_backward_input_scratch_size' },
    bwdW: { run: 'winograd_s2_backward_weight', scratch: 'winograd_s2_backward_weight_scratch_size' },
  },
  wino_s2f4: {
    fwd: { run: 'winograd_s2f4_forward', scratch: 'winograd_s2f4_forward_scratch_size' },
    bwdIn: { run: 'winograd_s2f4_backward_input', scratch: 'winograd_s2f4_backward_input_scratch_size' },
    bwdW: { run: 'winograd_s2f4_backward_weight', scratch: 'winograd_s2f4_backward_weight_scratch_size' },
  },
  split_s2: {
    fwd: { run: 'conv3s2_split_forward', scratch: 'conv3s2_split_forward_scratch_size' },
    bwdIn: null,
    bwdW: { run: 'conv3s2_split_backward_weight', scratch: 'conv3s2_split_backward_weight_scratch_size' },
  },
};

export class Conv2d implements Layer {
  readonly y: Tensor;
  readonly w: Param;
  readonly b: Param | null;
  /** the kernel of each pass (fixed by the shape) */
  readonly kern: ConvKernels;
  constructor(readonly g: Graph, readonly name: string, readonly x: Tensor, readonly OC: number, readonly o: ConvOptions) {
    const { k, stride, pad } = o;
    const OH = convOut(x.H, k, stride, pad, name), OW = convOut(x.W, k, stride, pad, name);
    if (o.out && (o.out.N !== x.N || o.out.H !== OH || o.out.W !== OW || o.out.C !== OC))
      throw new Error(`${name}: output tensor ${o.out.name} is ${o.out.shape()}, expected (${x.N}, ${OH}, ${OW}, ${OC})`);
    this.y = o.out ?? g.tensor(x.N, OH, OW, OC, name);
    this.w = g.store.add(`${name}.weight`, [OC, x.C, k, k], 'conv');
    this.b = o.bias ? g.store.add(`${name}.bias`, [OC], 'flat') : null;
    this.kern = convKernels(x.N, x.H, x.W, x.C, OC, k, stride, pad);
    const kk = g.core.k as unknown as Record<string, (...a: number[]) => number>;
    g.needScratch(Math.max(...(['fwd', 'bwdIn', 'bwdW'] as const).map((pass) => {
      const e = this.exportOf(pass);
      return e ? kk[e.scratch](x.N, x.H, x.W, x.C, OC) : kk.conv2d_scratch_size(x.N, x.H, x.W, x.C, OC, k, k, stride, pad);
    })));
    g.add(this);
  }

  /** The exports of pass `pass`; null where it is the direct conv. */
  private exportOf(pass: keyof ConvKernels): { run: string; scratch: string } | null {
    const kn = this.kern[pass];
    return kn === 'direct' ? null : PASS_EXPORTS[kn][pass];
  }

  /** The kernel of pass `pass` where it is not the direct conv. */
  private pass(pass: keyof ConvKernels): ((...a: number[]) => void) | null {
    const e = this.exportOf(pass);
    return e ? (this.g.core.k as unknown as Record<string, (...a: number[]) => void>)[e.run] : null;
  }

  forward(): void {
    const { x, y, o, g } = this;
    const f = this.pass('fwd');
    if (f) {
      f(y.ptr, x.ptr, this.w.ptr, this.b ? this.b.ptr : 0, g.scratch, x.N, x.H, x.W, x.C, this.OC, y.ld, x.ld);
      return;
    }
    g.core.k.conv2d_forward(y.ptr, x.ptr, this.w.ptr, this.b ? this.b.ptr : 0, g.scratch,
      x.N, x.H, x.W, x.C, this.OC, o.k, o.k, o.stride, o.pad, y.ld, x.ld);
  }

  backward(params: boolean): void {
    const { x, y, o, g } = this;
    const k = g.core.k;
    if (params) {
      const f = this.pass('bwdW');
      if (f) f(this.w.grad, this.b ? this.b.grad : 0, y.grad, x.ptr, g.scratch, x.N, x.H, x.W, x.C, this.OC, y.ld, x.ld);
      else k.conv2d_backward_weight(this.w.grad, this.b ? this.b.grad : 0, y.grad, x.ptr, g.scratch,
        x.N, x.H, x.W, x.C, this.OC, o.k, o.k, o.stride, o.pad, y.ld, x.ld);
    }
    if (x.needsGrad) {
      const f = this.pass('bwdIn'); // split_s2: direct
      if (f) f(x.grad, y.grad, this.w.ptr, g.scratch, x.N, x.H, x.W, x.C, this.OC, x.ld, y.ld);
      else k.conv2d_backward_input(x.grad, y.grad, this.w.ptr, g.scratch,
        x.N, x.H, x.W, x.C, this.OC, o.k, o.k, o.stride, o.pad, x.ld, y.ld);
    }
  }
}

/** Linear layer: the 1x1 conv with H = W = 1 over (N, h, w, C) seen as (N, 1, 1, h*w*C); weight [IN][OUT] ours,
 * [OUT][IN] PyTorch (whose IN is flattened (C, h, w), hence the linearNCHW layout when h*w > 1). */
export class Linear implements Layer {
  readonly y: Tensor;
  readonly w: Param;
  readonly b: Param;
  readonly x: Tensor;
  constructor(readonly g: Graph, readonly name: string, input: Tensor, readonly OUT: number) {
    const hw = input.H * input.W;
    this.x = hw === 1 ? input : g.reshape(input, input.N, 1, 1, hw * input.C, `${name}.flatten`);
    const x = this.x;
    this.y = g.tensor(x.N, 1, 1, OUT, name);
    this.w = hw === 1
      ? g.store.add(`${name}.weight`, [OUT, x.C], 'linear')
      : g.store.add(`${name}.weight`, [OUT, x.C], 'linearNCHW', 'param', 'F32', [input.C, hw]);
    this.b = g.store.add(`${name}.bias`, [OUT], 'flat');
    g.needScratch(g.core.k.conv2d_scratch_size(x.N, 1, 1, x.C, OUT, 1, 1, 1, 0));
    g.add(this);
  }

  forward(): void {
    const { x, y, g } = this;
    g.core.k.conv2d_forward(y.ptr, x.ptr, this.w.ptr, this.b.ptr, g.scratch, x.N, 1, 1, x.C, this.OUT, 1, 1, 1, 0, y.ld, x.ld);
  }

  backward(params: boolean): void {
    const { x, y, g } = this;
    const k = g.core.k;
    if (params) k.conv2d_backward_weight(this.w.grad, this.b.grad, y.grad, x.ptr, g.scratch, x.N, 1, 1, x.C, this.OUT, 1, 1, 1, 0, y.ld, x.ld);
    if (x.needsGrad) k.conv2d_backward_input(x.grad, y.grad, this.w.ptr, g.scratch, x.N, 1, 1, x.C, this.OUT, 1, 1, 1, 0, x.ld, y.ld);
  }
}
