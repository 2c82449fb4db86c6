// Loss terms of BicycleGAN over arena tensors. Forward returns the value (as f32, like PyTorch); backward
// accumulates `scale` * dLoss into the gradient buffer. Sums are f64 inside the kernels.
import type { Core } from '../core/loader.js';
import type { Tensor } from '../nn/graph.js';

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
