// Dropout(p) (inverted, as PyTorch): in training y = x * mask, mask = (u >= p) / (1 - p) per element; in eval
// mode y = x. u is a counter-based uniform, hash_uniform(layerSeed, i) (assembly/act.ts), of the element's
// batch-global index i = ((n * H + h) * W + w) * C + c, n counted in the whole batch: a data-parallel shard
// (graph.row0 = its first row, from sync.row0 unless the step sets it) draws exactly the rows of the batch's
// mask, so any number of workers gives the one-thread result bit for bit. The mask depends on nothing else (no
// RNG state, no build, no shard).
// layerSeed = dropoutLayerSeed(graph.dropoutSeed, k) with k the layer's key: given by the description (the
// official U-Net: the block's depth), else its rank among the graph's Dropout layers (0-based, build order);
// each layer draws its own mask; the training step sets graph.dropoutSeed (a u32) before each forward.
// x, y: NHWC views (y may be a slice of a concatenation). Saved for backward: the mask (dense P x C).
import type { Graph, Layer, Tensor } from './graph.js';

/** The seed of a graph's k-th Dropout layer: (seed ^ ((k + 1) * 0x85ebca6b mod 2^32)) as a u32. */
export function dropoutLayerSeed(seed: number, k: number): number {
  return (seed ^ Math.imul(k + 1, 0x85ebca6b)) >>> 0;
}

export class Dropout implements Layer {
  readonly y: Tensor;
  /** this layer's key k (see dropoutLayerSeed) */
  readonly ordinal: number;
  private readonly mask: number;
  private trained = false;
  constructor(readonly g: Graph, readonly name: string, readonly x: Tensor, readonly p: number, out?: Tensor, key?: number) {
    if (!(p >= 0 && p < 1)) throw new Error(`${name}: dropout probability must be in [0, 1), got ${p}`);
    if (out && (out.N !== x.N || out.H !== x.H || out.W !== x.W || out.C !== x.C))
      throw new Error(`${name}: output ${out.name} ${out.shape()} does not match input ${x.shape()}`);
    this.y = out ?? g.tensor(x.N, x.H, x.W, x.C, name);
    this.ordinal = key ?? g.layers.filter((l) => l instanceof Dropout).length;
    this.mask = g.alloc(x.size, `${name}.mask`);
    g.add(this);
  }

  /** The u32 seed this layer draws its mask with now. */
  get seed(): number {
    return dropoutLayerSeed(this.g.dropoutSeed, this.ordinal);
  }

  forward(train: boolean): void {
    const { x, y, g } = this;
    this.trained = train;
    const k = g.core.k;
    if (!train) return k.copy_forward(y.ptr, x.ptr, x.P, x.C, y.ld, x.ld);
    const pixel0 = g.row0 * x.H * x.W;
    k.dropout_forward(y.ptr, this.mask, x.ptr, this.p, this.seed, pixel0, x.P, x.C, y.ld, x.ld);
  }

  backward(): void {
    const { x, y, g } = this;
    if (!x.needsGrad) return;
    if (this.trained) g.core.k.dropout_backward(x.grad, y.grad, this.mask, x.P, x.C, x.ld, y.ld);
    else g.core.k.copy_backward(x.grad, y.grad, x.P, x.C, x.ld, y.ld);
  }
}
