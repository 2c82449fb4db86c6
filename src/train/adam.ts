// Adam (torch.optim.Adam semantics, no weight decay) over a network's flat parameter block: one kernel call
// per network per step, because parameters, gradients, m and v share one layout (see nn/params.ts).
import type { ParamStore } from '../nn/params.js';

export interface AdamConfig {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
}

export const DEFAULT_ADAM: AdamConfig = { lr: 2e-4, beta1: 0.5, beta2: 0.999, eps: 1e-8 };

export class Adam {
  /** number of updates taken (PyTorch's state['step']) */
  step = 0;
  constructor(readonly store: ParamStore, readonly cfg: AdamConfig) {}

  update(lr = this.cfg.lr): void {
    const s = this.store, { beta1, beta2, eps } = this.cfg;
    this.step += 1;
    s.core.k.adam_update(s.base.value, s.base.grad, s.base.m, s.base.v, lr, beta1, beta2, eps, this.step, s.paramFloats);
  }
}
