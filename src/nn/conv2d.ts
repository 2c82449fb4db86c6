// Conv2d layer: y = conv(x, w) + b over NHWC tensors; weights HWIO in our store, OIHW in PyTorch's.
// y may be a channel slice of a wider tensor (zero-copy concat), and x may be one too.
// Saved for backward: nothing beyond x (the input) itself. Stride-1 3x3 convs of enough tiles and channels run
// Winograd F(2x2, 3x3) in all three passes (winograd3Wins), the rest the direct conv.
import type { Graph, Layer, Tensor } from './graph.js';
import type { Param } from './params.js';
import { winograd3Wins } from '../core/conv-dispatch.js';
import { convOut } from './shapes.js';

export interface ConvOptions {
  k: number;
  stride: number;
  pad: number;
  bias: boolean;
  /** write into this tensor (e.g. a slice of a concatenation) instead of a new one */
  out?: Tensor;
}

export class Conv2d implements Layer {
  readonly y: Tensor;
  readonly w: Param;
  readonly b: Param | null;
  /** runs the Winograd kernels (fixed by the shape) */
  readonly wino: boolean;
  constructor(readonly g: Graph, readonly name: string, readonly x: Tensor, readonly OC: number, readonly o: ConvOptions) {
    const { k, stride, pad } = o;
    const OH = convOut(x.H, k, stride, pad, name), OW = convOut(x.W, k, stride, pad, name);
    if (o.out && (o.out.N !== x.N || o.out.H !== OH || o.out.W !== OW || o.out.C !== OC))
      throw new Error(`${name}: output tensor ${o.out.name} is ${o.out.shape()}, expected (${x.N}, ${OH}, ${OW}, ${OC})`);
    this.y = o.out ?? g.tensor(x.N, OH, OW, OC, name);
    this.w = g.store.add(`${name}.weight`, [OC, x.C, k, k], 'conv');
    this.b = o.bias ? g.store.add(`${name}.bias`, [OC], 'flat') : null;
    this.wino = winograd3Wins(x.N, x.H, x.W, x.C, OC, k, stride, pad);
    g.needScratch(this.wino ? g.core.k.winograd3_scratch_size(x.N, x.H, x.W, x.C, OC) : g.core.k.conv2d_scratch_size(x.N, x.H, x.W, x.C, OC, k, k, stride, pad));
    g.add(this);
  }

  forward(): void {
    const { x, y, o, g } = this;
    if (this.wino) {
      g.core.k.winograd3_forward(y.ptr, x.ptr, this.w.ptr, this.b ? this.b.ptr : 0, g.scratch, x.N, x.H, x.W, x.C, this.OC, y.ld, x.ld);
      return;
    }
    g.core.k.conv2d_forward(y.ptr, x.ptr, this.w.ptr, this.b ? this.b.ptr : 0, g.scratch,
      x.N, x.H, x.W, x.C, this.OC, o.k, o.k, o.stride, o.pad, y.ld, x.ld);
  }

  backward(params: boolean): void {
    const { x, y, o, g } = this;
    const k = g.core.k;
    if (this.wino) {
      if (params) k.winograd3_backward_weight(this.w.grad, this.b ? this.b.grad : 0, y.grad, x.ptr, g.scratch, x.N, x.H, x.W, x.C, this.OC, y.ld, x.ld);
      if (x.needsGrad) k.winograd3_backward_input(x.grad, y.grad, this.w.ptr, g.scratch, x.N, x.H, x.W, x.C, this.OC, x.ld, y.ld);
      return;
    }
    if (params) {
      k.conv2d_backward_weight(this.w.grad, this.b ? this.b.grad : 0, y.grad, x.ptr, g.scratch,
        x.N, x.H, x.W, x.C, this.OC, o.k, o.k, o.stride, o.pad, y.ld, x.ld);
    }
    if (x.needsGrad) {
      k.conv2d_backward_input(x.grad, y.grad, this.w.ptr, g.scratch,
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
