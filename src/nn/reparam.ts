// The VAE reparameterisation z = mu + eps * exp(logvar / 2) as a layer between two networks: E's heads (mu,
// logvar) and G's code input z, all (N, 1, 1, latent) and contiguous. eps ~ N(0, I) comes from the caller.
// Forward in f32 as PyTorch (std = exp(0.5 * logvar) rounded to f32, then eps * std, then + mu); saved for
// backward: eps and std. Backward ACCUMULATES into mu.grad and logvar.grad from z.grad:
// dmu += dz, dlogvar += dz * eps * std / 2.
import type { Core } from '../core/loader.js';
import type { Tensor } from './graph.js';

export class Reparameterize {
  private readonly n: number;
  private eps: Float32Array<ArrayBufferLike> = new Float32Array(0);
  private std: Float32Array<ArrayBufferLike> = new Float32Array(0);

  constructor(readonly core: Core, readonly mu: Tensor, readonly logvar: Tensor, readonly z: Tensor) {
    for (const t of [logvar, z])
      if (t.size !== mu.size || t.ld !== t.C) throw new Error(`reparameterize: ${t.name} ${t.shape()} must be contiguous and the shape of ${mu.name} ${mu.shape()}`);
    this.n = mu.size;
  }

  /** z = mu + eps * std, std = exp(logvar / 2); eps has one value per element of z (kept for backward). */
  forward(eps: Float32Array): void {
    const { core, n } = this;
    if (eps.length !== n) throw new Error(`reparameterize: eps has ${eps.length} values, expected ${n}`);
    const mu = core.f32(this.mu.ptr, n).slice(), lv = core.f32(this.logvar.ptr, n);
    this.eps = eps;
    this.std = lv.map((v) => Math.exp(Math.fround(v * 0.5)));
    core.f32(this.z.ptr, n).set(this.std.map((s, i) => Math.fround(eps[i] * s) + mu[i]));
  }

  backward(): void {
    const { core, n, eps, std } = this;
    const dz = core.f32(this.z.grad, n).slice();
    const dmu = core.f32(this.mu.grad, n), dlv = core.f32(this.logvar.grad, n);
    for (let i = 0; i < n; i++) {
      dmu[i] += dz[i];
      dlv[i] += dz[i] * eps[i] * std[i] * 0.5;
    }
  }
}
