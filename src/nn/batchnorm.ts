// BatchNorm2d (PyTorch semantics): train mode normalises with the biased batch variance and updates the
// running stats with momentum and the unbiased variance; eval mode uses the running stats. Affine.
// Saved for backward: per-channel mean and rstd (and the mode of the last forward).
// Data-parallel shards (graph.sync set) exchange the per-channel partial sums of forward and backward, so every
// shard normalises with the statistics of the whole batch, exactly as one thread on the whole batch would.
// A branch-split step (src/parallel) runs one network's two train-mode passes on two threads at once: the
// second pass sets deferRunning, normalises with its batch statistics as usual, and applies its running-stats
// update later (applyDeferredRunning), once the first pass's update is in: the same updates in the same order.
// A step that would run a train-mode forward again on the same input with the same weights (the pytorch-gan D
// update's pass on the fake, which the G step already ran) keeps that forward's batch sums (keepStats) and later
// applies its running-stats update once more (replayRunning): the update the repeated forward would have made.
// eps is a parameter: the pytorch-gan preset's BatchNorm2d(n, 0.8) passes 0.8 as eps.
// bnLayers(graph) lists a network's BatchNorm layers (for passes over their statistics, e.g. recalibration).
import type { Graph, Layer, ShardSync, Tensor } from './graph.js';
import type { Param } from './params.js';

/** Checkpoint name prefix of recalibrated eval-mode statistics (`recalibrated.down2.model.1.running_mean`);
 * written and read by src/train/recalibrate.ts and checkpoint.ts, folded into inference files by src/infer. */
export const RECALIBRATED_PREFIX = 'recalibrated.';

export class BatchNorm2d implements Layer {
  readonly y: Tensor;
  readonly gamma: Param;
  readonly beta: Param;
  readonly runMean: Param;
  readonly runVar: Param;
  readonly tracked: Param;
  private mean: number;
  private rstd: number;
  private sums: number; // f64[2C]
  private kept: number; // f64[2C]: the batch sums keepStats saved
  private keptCount = 0;
  private trained = true;
  /** train-mode forwards leave the running stats alone until applyDeferredRunning (see the header) */
  deferRunning = false;
  private deferred = false;

  /** `momentum`: weight of the new batch in the running stats; BN recalibration sets 1/k for the k-th batch (a
   * plain average, PyTorch's momentum=None) */
  constructor(readonly g: Graph, readonly name: string, readonly x: Tensor, readonly eps: number, public momentum = 0.1, out?: Tensor) {
    const C = x.C;
    this.y = out ?? g.tensor(x.N, x.H, x.W, C, name);
    this.gamma = g.store.add(`${name}.weight`, [C], 'flat');
    this.beta = g.store.add(`${name}.bias`, [C], 'flat');
    this.runMean = g.store.add(`${name}.running_mean`, [C], 'flat', 'buffer');
    this.runVar = g.store.add(`${name}.running_var`, [C], 'flat', 'buffer');
    this.tracked = g.store.add(`${name}.num_batches_tracked`, [], 'flat', 'buffer', 'I64');
    this.mean = g.alloc(C, `${name}.mean`);
    this.rstd = g.alloc(C, `${name}.rstd`);
    this.sums = g.alloc(4 * C, `${name}.sums`);
    this.kept = g.alloc(4 * C, `${name}.kept`);
    g.add(this);
  }

  forward(train: boolean): void {
    const { x, y } = this;
    this.trained = train;
    const sync = this.g.sync;
    if (sync && train) return this.forwardShard(sync);
    const defer = train && this.deferRunning;
    if (defer && this.deferred) throw new Error(`${this.name}: a deferred running-stats update is still pending`);
    this.g.core.k.batchnorm_forward(y.ptr, this.mean, this.rstd, defer ? 0 : this.runMean.ptr, defer ? 0 : this.runVar.ptr, this.sums, x.ptr,
      this.gamma.ptr, this.beta.ptr, this.eps, this.momentum, train ? 1 : 0, x.P, x.C, y.ld, x.ld);
    if (defer) this.deferred = true;
    else if (train) this.g.core.f32(this.tracked.ptr, 1)[0] += 1;
  }

  /** The running-stats update a deferred train-mode forward skipped, from the batch sums it left in `sums`
   * (call before this layer's backward, which reuses them): the same kernel, so the same values as undeferred. */
  applyDeferredRunning(): void {
    if (!this.deferred) return;
    const x = this.x;
    this.g.core.k.batchnorm_stats_finish(this.mean, this.rstd, this.runMean.ptr, this.runVar.ptr, this.sums, x.P, this.eps, this.momentum, x.C);
    this.g.core.f32(this.tracked.ptr, 1)[0] += 1;
    this.deferred = false;
  }

  /** Keep the last train-mode forward's batch sums (over the whole batch when sharded) for replayRunning. Call
   * before this layer's backward, which reuses `sums`. */
  keepStats(): void {
    const C = this.x.C, sync = this.g.sync;
    this.keptCount = sync ? this.x.H * this.x.W * sync.batch : this.x.P;
    this.g.core.f32(this.kept, 4 * C).set(this.g.core.f32(this.sums, 4 * C));
  }

  /** The running-stats update of the forward keepStats saw, once more (on a shard: the leader's, as in the
   * forward): the same kernel on the same sums, so the values a second identical forward would give. Overwrites
   * mean and rstd: call after this layer's last backward on them. */
  replayRunning(): void {
    if (this.keptCount === 0) throw new Error(`${this.name}: replayRunning without keepStats`);
    const sync = this.g.sync;
    if (!sync || sync.leader) {
      this.g.core.k.batchnorm_stats_finish(this.mean, this.rstd, this.runMean.ptr, this.runVar.ptr, this.kept, this.keptCount, this.eps, this.momentum, this.x.C);
      this.g.core.f32(this.tracked.ptr, 1)[0] += 1;
    }
    this.keptCount = 0;
  }

  /** Forget a deferred update (the step it belonged to was stopped). */
  dropDeferredRunning(): void {
    this.deferred = false;
  }

  private sumsView(C: number): Float64Array {
    return new Float64Array(this.g.core.memory.buffer, this.sums, 2 * C);
  }

  /** Train-mode forward of one shard: per-shard sums, summed over shards, then the whole batch's statistics. */
  private forwardShard(sync: ShardSync): void {
    const { x, y } = this, k = this.g.core.k, C = x.C;
    const sums = this.sumsView(C);
    sums.fill(0);
    k.batchnorm_stats_partial(this.sums, x.ptr, x.P, C, x.ld);
    sync.allReduce(this.sumsView(C));
    const lead = sync.leader;
    k.batchnorm_stats_finish(this.mean, this.rstd, lead ? this.runMean.ptr : 0, lead ? this.runVar.ptr : 0, this.sums,
      x.H * x.W * sync.batch, this.eps, this.momentum, C);
    k.batchnorm_apply(y.ptr, x.ptr, this.mean, this.rstd, this.gamma.ptr, this.beta.ptr, x.P, C, y.ld, x.ld);
    if (lead) this.g.core.f32(this.tracked.ptr, 1)[0] += 1;
  }

  backward(params: boolean): void {
    const { x, y } = this;
    if (!x.needsGrad && !params) return;
    const sync = this.g.sync;
    if (sync && this.trained) return this.backwardShard(sync, params);
    // with x.needsGrad false the kernel still needs a dx target: only real inputs lack one, never a BN input
    this.g.core.k.batchnorm_backward(x.grad, params ? this.gamma.grad : 0, params ? this.beta.grad : 0, this.sums, y.grad,
      x.ptr, this.gamma.ptr, this.mean, this.rstd, this.trained ? 1 : 0, x.P, x.C, x.ld, y.ld);
  }

  /** Train-mode backward of one shard: gamma/beta gradients from this shard's own sums (the gradient
   * all-reduce adds the shards up later); dx from the sums over the whole batch. */
  private backwardShard(sync: ShardSync, params: boolean): void {
    const { x, y } = this, k = this.g.core.k, C = x.C;
    this.sumsView(C).fill(0);
    k.batchnorm_backward_partial(this.sums, y.grad, x.ptr, this.mean, this.rstd, x.P, C, y.ld, x.ld);
    if (params) k.batchnorm_backward_params(this.gamma.grad, this.beta.grad, this.sums, C);
    sync.allReduce(this.sumsView(C));
    k.batchnorm_backward_apply(x.grad, y.grad, x.ptr, this.gamma.ptr, this.mean, this.rstd, this.sums, x.H * x.W * sync.batch, 1, x.P, C, x.ld, y.ld);
  }
}

/** The BatchNorm2d layers of a network, in forward order. */
export function bnLayers(g: Graph): BatchNorm2d[] {
  return g.layers.filter((l): l is BatchNorm2d => l instanceof BatchNorm2d);
}
