// Op-table entries for the losses (assembly/loss.ts).
// A loss's output is its 1-float loss buffer; that output's upstream gradient (`dloss`) is the `scale` the
// backward kernel takes, read from memory in the backward closure.
import { pick, type OpSpec } from '../op-spec.js';

/** Element counts: one, under a vector, a vector, with a tail, a multiple of 4, longer with tails. */
const LENGTHS = [1, 3, 4, 5, 64, 67, 131];

const fd = { eps: 1e-2, rtol: 1e-2, atol: 1e-4 };
/** f64 sums in both, differently ordered; exp4 vs libm exp for KL */
const tol = { rtol: 1e-6, atol: 1e-7 };

export const lossOps = {
  l1_loss: {
    family: 'loss',
    kernels: ['l1_loss_forward', 'l1_loss_backward'],
    cases: () =>
      LENGTHS.map((n) => ({
        label: `l1_loss n${n}`,
        tensors: { a: { size: n }, b: { size: n }, loss: { size: 1 }, da: { size: n }, dloss: { size: 1 } },
        grads: { a: 'da' },
        outputs: { loss: 'dloss' },
        forward: (k, r, t) => pick(k, r, 'l1_loss_forward')(t.loss, t.a, t.b, n),
        backward: (k, r, t, mem) => pick(k, r, 'l1_loss_backward')(t.da, mem.f32(t.dloss, 1)[0], t.a, t.b, n),
      })),
    tol,
    fd,
  },
  mse_loss: {
    family: 'loss',
    kernels: ['mse_loss_forward', 'mse_loss_backward'],
    cases: () =>
      LENGTHS.flatMap((n) => [0, 1].map((target) => ({
        label: `mse_loss n${n} target${target}`,
        tensors: { x: { size: n }, loss: { size: 1 }, dx: { size: n }, dloss: { size: 1 } },
        grads: { x: 'dx' },
        outputs: { loss: 'dloss' },
        forward: (k, r, t) => pick(k, r, 'mse_loss_forward')(t.loss, t.x, target, n),
        backward: (k, r, t, mem) => pick(k, r, 'mse_loss_backward')(t.dx, mem.f32(t.dloss, 1)[0], t.x, target, n),
      }))),
    tol,
    fd,
  },
  kl_loss: {
    family: 'loss',
    kernels: ['kl_loss_forward', 'kl_loss_backward'],
    cases: () =>
      LENGTHS.map((n) => ({
        label: `kl_loss n${n}`,
        tensors: {
          mu: { size: n }, logvar: { size: n }, loss: { size: 1 },
          dmu: { size: n }, dlogvar: { size: n }, dloss: { size: 1 },
        },
        grads: { mu: 'dmu', logvar: 'dlogvar' },
        outputs: { loss: 'dloss' },
        forward: (k, r, t) => pick(k, r, 'kl_loss_forward')(t.loss, t.mu, t.logvar, n),
        backward: (k, r, t, mem) =>
          pick(k, r, 'kl_loss_backward')(t.dmu, t.dlogvar, mem.f32(t.dloss, 1)[0], t.mu, t.logvar, n),
      })),
    tol: { rtol: 2e-6, atol: 1e-6 },
    fd,
  },
} satisfies Record<string, OpSpec>;
