// Loss terms of BicycleGAN over arena tensors. Forward returns the value (as f32, like PyTorch); backward
// accumulates `scale` * dLoss into the gradient buffer. Sums are f64 inside the kernels.
// Losses wraps them for the training step: values of the whole batch (summed over data-parallel shards,
// rounded to f32, checked finite) and gradients weighted by this shard's share of a mean.
import type { Core } from '../core/loader.js';
import type { ShardSync, Tensor } from '../nn/graph.js';

/** One f32 slot the loss kernels write into. */
export class LossSlot {
  readonly ptr: number;
  constructor(readonly core: Core) {
    this.ptr = core.arena.alloc(4, 'loss slot');
  }
  get value(): number {
    return this.core.f32(this.ptr, 1)[0];
  }
}

function contiguous(t: Tensor, what: string): void {
  if (t.ld !== t.C) throw new Error(`${what}: ${t.name} must be contiguous`);
}

/** mean |a - b| over all elements (PyTorch L1Loss). Gradient flows to `a` only. */
export function l1(slot: LossSlot, a: Tensor, b: Tensor): number {
  contiguous(a, 'l1'); contiguous(b, 'l1');
  slot.core.k.l1_loss_forward(slot.ptr, a.ptr, b.ptr, a.size);
  return slot.value;
}
export function l1Backward(core: Core, scale: number, a: Tensor, b: Tensor): void {
  core.k.l1_loss_backward(a.grad, scale, a.ptr, b.ptr, a.size);
}

/** LSGAN over a multi-scale D's outputs: sum over scales of mean((out - target)^2) (PyTorch-GAN compute_loss). */
export function lsgan(slot: LossSlot, outs: Tensor[], target: number): number {
  let s = 0;
  for (const o of outs) {
    slot.core.k.mse_loss_forward(slot.ptr, o.ptr, target, o.size);
    s = Math.fround(s + slot.value);
  }
  return s;
}
export function lsganBackward(core: Core, scale: number, outs: Tensor[], target: number): void {
  for (const o of outs) core.k.mse_loss_backward(o.grad, scale, o.ptr, target, o.size);
}

/** VAE KL term 0.5 * sum(exp(logvar) + mu^2 - logvar - 1), summed over batch and latent dims. */
export function kl(slot: LossSlot, mu: Tensor, logvar: Tensor): number {
  slot.core.k.kl_loss_forward(slot.ptr, mu.ptr, logvar.ptr, mu.size);
  return slot.value;
}
export function klBackward(core: Core, scale: number, mu: Tensor, logvar: Tensor): void {
  core.k.kl_loss_backward(mu.grad, logvar.grad, scale, mu.ptr, logvar.ptr, mu.size);
}

export class NonFiniteLossError extends Error {
  constructor(readonly term: string, readonly value: number, readonly step: number) {
    super(`training step ${step}: loss term ${term} is ${value}; the step was stopped and nothing was saved over the last good checkpoint`);
    this.name = 'NonFiniteLossError';
  }
}

/** A data-parallel shard's view of the batch: its share of the rows (this shard's rows / the batch's rows). */
export interface LossSync extends ShardSync {
  readonly share: number;
}

/**
 * The loss terms of one training step. On one thread (sync null) a term's value is the kernel's f32 value and
 * its gradient is weight * dTerm. On a shard of a data-parallel step a mean term's value is the sum over shards
 * of share * (the shard's mean), a sum term's the sum of the shards' sums, each rounded to f32 like the
 * single-thread value, and a mean term's gradient is weighted by the share, so that the shards' gradients add
 * up to the whole batch's. Every value is checked: a non-finite one stops the step (NonFiniteLossError).
 */
export class Losses {
  private readonly slot: LossSlot;
  /** data-parallel hooks; null on one thread */
  sync: LossSync | null = null;
  /** the step being computed (1-based), for error messages */
  step = 0;

  constructor(readonly core: Core) {
    this.slot = new LossSlot(core);
  }

  /** weight of this shard's part of a mean term */
  get share(): number {
    return this.sync ? this.sync.share : 1;
  }

  /** LSGAN over a multi-scale D's outputs against `target` (1 real, 0 fake), for the whole batch. */
  lsgan(term: string, outs: Tensor[], target: number): number {
    return this.batch(term, lsgan(this.slot, outs, target), true);
  }
  lsganBackward(weight: number, outs: Tensor[], target: number): void {
    lsganBackward(this.core, weight * this.share, outs, target);
  }

  /** mean |a - b|; the gradient flows to `a` only. */
  l1(term: string, a: Tensor, b: Tensor): number {
    return this.batch(term, l1(this.slot, a, b), true);
  }
  l1Backward(weight: number, a: Tensor, b: Tensor): void {
    l1Backward(this.core, weight * this.share, a, b);
  }

  /** KL(N(mu, exp(logvar)) || N(0, I)), a sum over the batch: no share. */
  kl(term: string, mu: Tensor, logvar: Tensor): number {
    return this.batch(term, kl(this.slot, mu, logvar), false);
  }
  klBackward(weight: number, mu: Tensor, logvar: Tensor): void {
    klBackward(this.core, weight, mu, logvar);
  }

  /** sum of weight * value in f32, left to right, as PyTorch adds weighted f32 loss tensors */
  total(...terms: [weight: number, value: number][]): number {
    let s = 0;
    for (const [w, v] of terms) s = Math.fround(s + Math.fround(w * v));
    return s;
  }

  /** The whole batch's value of a term from this shard's value, checked finite. */
  private batch(term: string, v: number, mean: boolean): number {
    const sync = this.sync;
    if (sync) {
      const a = Float64Array.of(mean ? v * sync.share : v);
      sync.allReduce(a);
      v = Math.fround(a[0]);
    }
    if (!Number.isFinite(v)) throw new NonFiniteLossError(term, v, this.step);
    return v;
  }
}
