// Op-table entries for the tensor utilities (assembly/tensor.ts): residual add and channel-slice copy.
import { pick, type OpSpec } from '../op-spec.js';

/** (P, C, ld of output, ld of first input, ld of second input): contiguous, tails, and slices of wider buffers. */
const VIEWS: ReadonlyArray<readonly [P: number, C: number, ldy: number, lda: number, ldb: number]> = [
  [1, 1, 1, 1, 1], [7, 3, 3, 3, 3], [5, 4, 4, 4, 4], [9, 5, 5, 5, 5], [3, 64, 64, 64, 64], [11, 67, 67, 67, 67],
  [6, 5, 9, 5, 7], [4, 64, 130, 64, 96], [5, 3, 3, 8, 3],
];

const linear = { eps: 1e-2, rtol: 1e-2, atol: 1e-3 };

export const tensorOps = {
  add: {
    family: 'tensor',
    kernels: ['add_forward', 'add_backward'],
    cases: () =>
      VIEWS.map(([P, C, ldy, lda, ldb]) => ({
        label: `add P${P} C${C} ldy${ldy} lda${lda} ldb${ldb}`,
        tensors: {
          a: { size: P * lda }, b: { size: P * ldb }, y: { size: P * ldy },
          da: { size: P * lda }, db: { size: P * ldb }, dy: { size: P * ldy },
        },
        grads: { a: 'da', b: 'db' },
        outputs: { y: 'dy' },
        forward: (k, r, t) => pick(k, r, 'add_forward')(t.y, t.a, t.b, P, C, ldy, lda, ldb),
        backward: (k, r, t) => pick(k, r, 'add_backward')(t.da, t.db, t.dy, P, C, lda, ldb, ldy),
      })),
    tol: { rtol: 0, atol: 0 },
    fd: linear,
  },
  copy: {
    family: 'tensor',
    kernels: ['copy_forward', 'copy_backward'],
    cases: () =>
      VIEWS.map(([P, C, ldy, ldx]) => ({
        label: `copy P${P} C${C} ldy${ldy} ldx${ldx}`,
        tensors: { x: { size: P * ldx }, y: { size: P * ldy }, dx: { size: P * ldx }, dy: { size: P * ldy } },
        grads: { x: 'dx' },
        outputs: { y: 'dy' },
        forward: (k, r, t) => pick(k, r, 'copy_forward')(t.y, t.x, P, C, ldy, ldx),
        backward: (k, r, t) => pick(k, r, 'copy_backward')(t.dx, t.dy, P, C, ldx, ldy),
      })),
    tol: { rtol: 0, atol: 0 },
    fd: linear,
  },
} satisfies Record<string, OpSpec>;
