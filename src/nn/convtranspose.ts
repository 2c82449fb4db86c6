// ConvTranspose2d layer: y = conv_transpose(x, w) + b over NHWC tensors (PyTorch semantics, output_padding 0,
// groups 1, dilation 1): x (N, H, W, C) -> y (N, (H-1)*stride - 2*pad + k, ..., OC).
// Weight: PyTorch [C][OC][k][k]; our store keeps it as the HWIO [k][k][OC][C] of the dual conv (OC -> C), the
// 'convT' layout of params.ts, because a transposed conv is the adjoint of that conv:
//   forward  = zero y, dual conv's backward-input (x as its output gradient), + bias;
//   backward = dx += dual conv forward of dy; dw += dual conv's backward-weight with x and dy swapped; db += sum dy.
// y may be a channel slice of a wider tensor (zero-copy concat), and x may be one too.
// Saved for backward: nothing beyond x itself.
import type { Graph, Layer, Tensor } from './graph.js';
import type { Param } from './params.js';
import type { ConvOptions } from './conv2d.js';
import { deconvOut } from './shapes.js';

export class ConvTranspose2d implements Layer {
  readonly y: Tensor;
  readonly w: Param;
  readonly b: Param | null;
  constructor(readonly g: Graph, readonly name: string, readonly x: Tensor, readonly OC: number, readonly o: ConvOptions) {
    const { k, stride, pad } = o;
    if (!(k > 0 && stride > 0 && pad >= 0 && 2 * pad <= k)) throw new Error(`${name}: invalid kernel ${k}, stride ${stride}, padding ${pad}`);
    const OH = deconvOut(x.H, k, stride, pad), OW = deconvOut(x.W, k, stride, pad);
    if (OH < 1 || OW < 1) throw new Error(`${name}: input ${x.H}x${x.W} gives an empty output for kernel ${k}, stride ${stride}, padding ${pad}`);
    if (o.out && (o.out.N !== x.N || o.out.H !== OH || o.out.W !== OW || o.out.C !== OC))
      throw new Error(`${name}: output tensor ${o.out.name} is ${o.out.shape()}, expected (${x.N}, ${OH}, ${OW}, ${OC})`);
    this.y = o.out ?? g.tensor(x.N, OH, OW, OC, name);
    this.w = g.store.add(`${name}.weight`, [x.C, OC, k, k], 'convT');
    this.b = o.bias ? g.store.add(`${name}.bias`, [OC], 'flat') : null;
    // the dual conv runs over y's spatial size, OC -> C
    g.needScratch(g.core.k.conv2d_scratch_size(x.N, OH, OW, OC, x.C, k, k, stride, pad));
    g.add(this);
  }

  forward(): void {
    const { x, y, o, g, OC } = this;
    const k = g.core.k;
    k.view_zero(y.ptr, y.P, OC, y.ld);
    k.conv2d_backward_input(y.ptr, x.ptr, this.w.ptr, g.scratch, x.N, y.H, y.W, OC, x.C, o.k, o.k, o.stride, o.pad, y.ld, x.ld);
    if (this.b) k.bias_add_forward(y.ptr, this.b.ptr, y.P, OC, y.ld);
  }

  backward(params: boolean): void {
    const { x, y, o, g, OC } = this;
    const k = g.core.k;
    if (params) {
      k.conv2d_backward_weight(this.w.grad, 0, x.ptr, y.grad, g.scratch, x.N, y.H, y.W, OC, x.C, o.k, o.k, o.stride, o.pad, x.ld, y.ld);
      if (this.b) k.bias_backward(this.b.grad, y.grad, y.P, OC, y.ld);
    }
    if (x.needsGrad) k.conv2d_forward_acc(x.grad, y.grad, this.w.ptr, g.scratch, x.N, y.H, y.W, OC, x.C, o.k, o.k, o.stride, o.pad, x.ld, y.ld);
  }
}
