// Activation layers: y = f(x), any NHWC views (y may be a slice of a concatenation).
// Saved for backward: ReLU/LeakyReLU use x, Tanh uses y.
import type { Graph, Layer, Tensor } from './graph.js';

abstract class Activation implements Layer {
  readonly y: Tensor;
  constructor(readonly g: Graph, readonly name: string, readonly x: Tensor, out?: Tensor) {
    if (out && (out.P !== x.P || out.C !== x.C)) throw new Error(`${name}: output ${out.name} ${out.shape()} does not match input ${x.shape()}`);
    this.y = out ?? g.tensor(x.N, x.H, x.W, x.C, name);
    g.add(this);
  }
  abstract forward(): void;
  abstract backward(): void;
}

export class ReLU extends Activation {
  forward(): void {
    const { x, y } = this;
    this.g.core.k.relu_forward(y.ptr, x.ptr, x.P, x.C, y.ld, x.ld);
  }
  backward(): void {
    const { x, y } = this;
    if (x.needsGrad) this.g.core.k.relu_backward(x.grad, y.grad, x.ptr, x.P, x.C, x.ld, y.ld);
  }
}

export class LeakyReLU extends Activation {
  constructor(g: Graph, name: string, x: Tensor, readonly slope: number, out?: Tensor) {
    super(g, name, x, out);
  }
  forward(): void {
    const { x, y } = this;
    this.g.core.k.leaky_relu_forward(y.ptr, x.ptr, this.slope, x.P, x.C, y.ld, x.ld);
  }
  backward(): void {
    const { x, y } = this;
    if (x.needsGrad) this.g.core.k.leaky_relu_backward(x.grad, y.grad, x.ptr, this.slope, x.P, x.C, x.ld, y.ld);
  }
}

export class Tanh extends Activation {
  forward(): void {
    const { x, y } = this;
    this.g.core.k.tanh_forward(y.ptr, x.ptr, x.P, x.C, y.ld, x.ld);
  }
  backward(): void {
    const { x, y } = this;
    if (x.needsGrad) this.g.core.k.tanh_backward(x.grad, y.grad, y.ptr, x.P, x.C, x.ld, y.ld);
  }
}
