// Pooling and resampling layers over NHWC tensors (PyTorch semantics, floor mode).
// Saved for backward: MaxPool2d keeps the argmax index of every output (i32).
import type { Graph, Layer, Tensor } from './graph.js';
import { convOut } from './shapes.js';

export class AvgPool2d implements Layer {
  readonly y: Tensor;
  constructor(readonly g: Graph, readonly name: string, readonly x: Tensor, readonly k: number, readonly stride: number,
    readonly pad: number, readonly countIncludePad: boolean) {
    this.y = g.tensor(x.N, convOut(x.H, k, stride, pad, name), convOut(x.W, k, stride, pad, name), x.C, name);
    g.add(this);
  }
  forward(): void {
    const { x, y } = this;
    this.g.core.k.avgpool2d_forward(y.ptr, x.ptr, x.N, x.H, x.W, x.C, this.k, this.stride, this.pad, this.countIncludePad ? 1 : 0, y.ld, x.ld);
  }
  backward(): void {
    const { x, y } = this;
    if (x.needsGrad) this.g.core.k.avgpool2d_backward(x.grad, y.grad, x.N, x.H, x.W, x.C, this.k, this.stride, this.pad, this.countIncludePad ? 1 : 0, x.ld, y.ld);
  }
}

export class MaxPool2d implements Layer {
  readonly y: Tensor;
  private argmax: number;
  constructor(readonly g: Graph, readonly name: string, readonly x: Tensor, readonly k: number, readonly stride: number, readonly pad: number) {
    this.y = g.tensor(x.N, convOut(x.H, k, stride, pad, name), convOut(x.W, k, stride, pad, name), x.C, name);
    this.argmax = g.alloc(this.y.size, `${name}.argmax`);
    g.add(this);
  }
  forward(): void {
    const { x, y } = this;
    this.g.core.k.maxpool2d_forward(y.ptr, this.argmax, x.ptr, x.N, x.H, x.W, x.C, this.k, this.stride, this.pad, y.ld, x.ld);
  }
  backward(): void {
    const { x, y } = this;
    if (x.needsGrad) this.g.core.k.maxpool2d_backward(x.grad, y.grad, this.argmax, x.N, x.H, x.W, x.C, this.k, this.stride, this.pad, x.ld, y.ld);
  }
}

/** Nearest-neighbour x2 upsampling (pixel replication). */
export class Upsample2x implements Layer {
  readonly y: Tensor;
  constructor(readonly g: Graph, readonly name: string, readonly x: Tensor) {
    this.y = g.tensor(x.N, 2 * x.H, 2 * x.W, x.C, name);
    g.add(this);
  }
  forward(): void {
    const { x, y } = this;
    this.g.core.k.upsample_nearest2x_forward(y.ptr, x.ptr, x.N, x.H, x.W, x.C, y.ld, x.ld);
  }
  backward(): void {
    const { x, y } = this;
    if (x.needsGrad) this.g.core.k.upsample_nearest2x_backward(x.grad, y.grad, x.N, x.H, x.W, x.C, x.ld, y.ld);
  }
}
