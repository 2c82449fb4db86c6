// InstanceNorm2d (PyTorch's default: affine = False, track_running_stats = False): per sample and channel,
// y = (x - mean) / sqrt(var + eps) with the biased variance over H x W. No parameters, no running statistics:
// the same computation in training, in eval mode and at inference. Each sample's statistics are its own, so a
// data-parallel shard needs no exchange.
// x, y: NHWC views (y may be a slice of a concatenation). Saved for backward: x, and mean/rstd [N][C].
import type { Graph, Layer, Tensor } from './graph.js';

export class InstanceNorm2d implements Layer {
  readonly y: Tensor;
  private readonly mean: number;
  private readonly rstd: number;
  constructor(readonly g: Graph, readonly name: string, readonly x: Tensor, readonly eps: number, out?: Tensor) {
    if (!(eps > 0)) throw new Error(`${name}: eps must be positive, got ${eps}`);
    if (out && (out.N !== x.N || out.H !== x.H || out.W !== x.W || out.C !== x.C))
      throw new Error(`${name}: output ${out.name} ${out.shape()} does not match input ${x.shape()}`);
    this.y = out ?? g.tensor(x.N, x.H, x.W, x.C, name);
    this.mean = g.alloc(x.N * x.C, `${name}.mean`);
    this.rstd = g.alloc(x.N * x.C, `${name}.rstd`);
    g.add(this);
  }

  forward(): void {
    const { x, y } = this;
    this.g.core.k.instancenorm_forward(y.ptr, this.mean, this.rstd, x.ptr, this.eps, x.N, x.H * x.W, x.C, y.ld, x.ld);
  }

  backward(): void {
    const { x, y } = this;
    if (x.needsGrad) this.g.core.k.instancenorm_backward(x.grad, y.grad, x.ptr, this.mean, this.rstd, x.N, x.H * x.W, x.C, x.ld, y.ld);
  }
}
