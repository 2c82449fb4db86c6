// Layers that combine tensors: residual Add, and Copy (a channel-slice copy for the concatenations that
// cannot be zero-copy, e.g. the generator's z map, which a Linear produces as a dense (N, H*W) tensor).
import type { Graph, Layer, Tensor } from './graph.js';

export class Add implements Layer {
  readonly y: Tensor;
  constructor(readonly g: Graph, readonly name: string, readonly a: Tensor, readonly b: Tensor) {
    if (a.P !== b.P || a.C !== b.C || a.H !== b.H) throw new Error(`${name}: cannot add ${a.name} ${a.shape()} and ${b.name} ${b.shape()}`);
    this.y = g.tensor(a.N, a.H, a.W, a.C, name);
    g.add(this);
  }
  forward(): void {
    const { a, b, y } = this;
    this.g.core.k.add_forward(y.ptr, a.ptr, b.ptr, y.P, y.C, y.ld, a.ld, b.ld);
  }
  backward(): void {
    const { a, b, y } = this;
    // add_backward accumulates into both; both inputs are intermediate activations with gradients
    this.g.core.k.add_backward(a.grad, b.grad, y.grad, y.P, y.C, a.ld, b.ld, y.ld);
  }
}

export class Copy implements Layer {
  constructor(readonly g: Graph, readonly name: string, readonly x: Tensor, readonly y: Tensor) {
    if (x.P !== y.P || x.C !== y.C) throw new Error(`${name}: cannot copy ${x.name} ${x.shape()} into ${y.name} ${y.shape()}`);
    g.add(this);
  }
  forward(): void {
    const { x, y } = this;
    this.g.core.k.copy_forward(y.ptr, x.ptr, x.P, x.C, y.ld, x.ld);
  }
  backward(): void {
    const { x, y } = this;
    if (x.needsGrad) this.g.core.k.copy_backward(x.grad, y.grad, x.P, x.C, x.ld, y.ld);
  }
}

/** y[n, h, w, c] = z[n, 0, 0, c]: a code z (N, 1, 1, C) broadcast over y's H x W (PyTorch's
 * z.view(N, C, 1, 1).expand(N, C, H, W)), y usually a channel slice of a concatenation. Backward accumulates the
 * sum of dy over H x W into dz. Saved for backward: nothing. */
export class Tile implements Layer {
  constructor(readonly g: Graph, readonly name: string, readonly z: Tensor, readonly y: Tensor) {
    if (z.H !== 1 || z.W !== 1 || z.N !== y.N || z.C !== y.C)
      throw new Error(`${name}: cannot tile ${z.name} ${z.shape()} over ${y.name} ${y.shape()} (z must be (${y.N}, 1, 1, ${y.C}))`);
    g.add(this);
  }
  forward(): void {
    const { z, y } = this, k = this.g.core.k, HW = y.H * y.W;
    // one sample at a time: the source pixel stride 0 repeats z's row over the H x W pixels
    for (let n = 0; n < y.N; n++) k.copy_forward(y.ptr + n * HW * y.ld * 4, z.ptr + n * z.ld * 4, HW, y.C, y.ld, 0);
  }
  backward(): void {
    const { z, y } = this, k = this.g.core.k, HW = y.H * y.W;
    if (!z.needsGrad) return;
    // bias_backward accumulates the column sums of an (HW, C) view: dz[n] += sum_p dy[n, p]
    for (let n = 0; n < y.N; n++) k.bias_backward(z.grad + n * z.ld * 4, y.grad + n * HW * y.ld * 4, HW, y.C, y.ld);
  }
}
