// Op-table entry for Adam (assembly/adam.ts). Adam is not differentiated: its cases have no grads, so only
// SIMD vs reference runs, bit for bit (the kernel uses no fused multiply-add in either build).
import { pick, type OpSpec } from '../op-spec.js';

export const adamOps = {
  adam: {
    family: 'adam',
    kernels: ['adam_update'],
    cases: () =>
      [1, 3, 4, 5, 64, 67, 1031].flatMap((n) => [1, 1000].map((step0) => ({
        label: `adam n${n} steps ${step0}..${step0 + 2}`,
        tensors: {
          p: { size: n },
          g: { size: n, init: (_i: number, rnd: () => number) => (rnd() - 0.5) * 1e-2 },
          m: { size: n, init: (_i: number, rnd: () => number) => (rnd() - 0.5) * 1e-3 },
          v: { size: n, init: (_i: number, rnd: () => number) => rnd() * 1e-5 },
        },
        grads: {},
        outputs: {},
        saved: ['p', 'm', 'v'],
        // three consecutive steps with the reference hyper-parameters (lr 2e-4, betas (0.5, 0.999), eps 1e-8)
        forward: (k, r, t) => {
          for (let s = step0; s < step0 + 3; s++) pick(k, r, 'adam_update')(t.p, t.g, t.m, t.v, 2e-4, 0.5, 0.999, 1e-8, s, n);
        },
        backward: () => {},
      }))),
    tol: { rtol: 0, atol: 0 },
    fd: { eps: 0, rtol: 0, atol: 0 }, // unused: no grads
  },
} satisfies Record<string, OpSpec>;
