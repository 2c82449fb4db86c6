// Op-table entries for the elementwise family (assembly/act.ts).
import type { Kernels } from '../kernels.gen.js';
import { pick, type OpCase, type OpSpec, type Ptrs } from '../op-spec.js';

/** Test views (P pixels, C channels, ld): edge channel counts, and slices of wider buffers. */
export const ELEMENTWISE_VIEWS: ReadonlyArray<readonly [P: number, C: number, ld: number]> = [
  [1, 1, 1], [7, 3, 3], [5, 4, 4], [9, 5, 5], [3, 64, 64], [11, 67, 67], [6, 5, 9], [4, 64, 130],
];

type Unary = (k: Kernels, ref: boolean, t: Ptrs, P: number, C: number, ld: number) => void;

function unaryCases(name: string, fwd: Unary, bwd: Unary, xInit: 'randn' | 'uniform' = 'randn'): () => OpCase[] {
  return () =>
    ELEMENTWISE_VIEWS.map(([P, C, ld]) => ({
      label: `${name} P${P} C${C} ld${ld}`,
      tensors: { x: { size: P * ld, init: xInit }, y: { size: P * ld }, dx: { size: P * ld }, dy: { size: P * ld } },
      grads: { x: 'dx' },
      outputs: { y: 'dy' },
      forward: (k, ref, t) => fwd(k, ref, t, P, C, ld),
      backward: (k, ref, t) => bwd(k, ref, t, P, C, ld),
    }));
}

const smooth = { eps: 1e-2, rtol: 2e-2, atol: 2e-3 };

export const actOps = {
  relu: {
    family: 'act',
    kernels: ['relu_forward', 'relu_backward'],
    cases: unaryCases('relu',
      (k, r, t, P, C, ld) => pick(k, r, 'relu_forward')(t.y, t.x, P, C, ld, ld),
      (k, r, t, P, C, ld) => pick(k, r, 'relu_backward')(t.dx, t.dy, t.x, P, C, ld, ld)),
    tol: { rtol: 0, atol: 0 },
    fd: smooth,
  },
  leaky_relu: {
    family: 'act',
    kernels: ['leaky_relu_forward', 'leaky_relu_backward'],
    cases: unaryCases('leaky_relu',
      (k, r, t, P, C, ld) => pick(k, r, 'leaky_relu_forward')(t.y, t.x, 0.2, P, C, ld, ld),
      (k, r, t, P, C, ld) => pick(k, r, 'leaky_relu_backward')(t.dx, t.dy, t.x, 0.2, P, C, ld, ld)),
    tol: { rtol: 0, atol: 0 },
    fd: smooth,
  },
  tanh: {
    family: 'act',
    kernels: ['tanh_forward', 'tanh_backward'],
    cases: unaryCases('tanh',
      (k, r, t, P, C, ld) => pick(k, r, 'tanh_forward')(t.y, t.x, P, C, ld, ld),
      (k, r, t, P, C, ld) => pick(k, r, 'tanh_backward')(t.dx, t.dy, t.y, P, C, ld, ld)),
    // a 1-ulp difference in y becomes ~|dy|*2e-7 absolute in dx = dy*(1-y^2)
    tol: { rtol: 2e-6, atol: 1e-6 },
    fd: smooth,
  },
  sigmoid: {
    family: 'act',
    kernels: ['sigmoid_forward', 'sigmoid_backward'],
    cases: unaryCases('sigmoid',
      (k, r, t, P, C, ld) => pick(k, r, 'sigmoid_forward')(t.y, t.x, P, C, ld, ld),
      (k, r, t, P, C, ld) => pick(k, r, 'sigmoid_backward')(t.dx, t.dy, t.y, P, C, ld, ld)),
    tol: { rtol: 2e-6, atol: 2e-7 },
    fd: smooth,
  },
  dropout: {
    family: 'act',
    kernels: ['dropout_forward', 'dropout_backward'],
    cases: () =>
      ELEMENTWISE_VIEWS.map(([P, C, ld]) => ({
        label: `dropout p0.5 P${P} C${C} ld${ld}`,
        tensors: { x: { size: P * ld }, y: { size: P * ld }, mask: { size: P * C }, dx: { size: P * ld }, dy: { size: P * ld } },
        grads: { x: 'dx' },
        outputs: { y: 'dy' },
        saved: ['mask'],
        forward: (k, r, t) => pick(k, r, 'dropout_forward')(t.y, t.mask, t.x, 0.5, 1234, 3, P, C, ld, ld),
        backward: (k, r, t) => pick(k, r, 'dropout_backward')(t.dx, t.dy, t.mask, P, C, ld, ld),
      })),
    tol: { rtol: 0, atol: 0 },
    fd: smooth,
  },
} satisfies Record<string, OpSpec>;
