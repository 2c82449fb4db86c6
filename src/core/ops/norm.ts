// Op-table entries for batch and instance normalisation (assembly/norm.ts).
// `batchnorm` runs the whole-batch kernels; `batchnorm_sharded` runs the split kernels the data-parallel
// path uses (two shards: partial sums each, shard-local dgamma/dbeta, global sums for finish and apply),
// which must compose to the same op. Eps 0.8 is the pytorch-gan preset's BatchNorm2d(n, 0.8).
import type { Kernels } from '../kernels.gen.js';
import type { Mem, OpCase, OpSpec, Ptrs, TensorDecl } from '../op-spec.js';
import { pick } from '../op-spec.js';

/** (P pixels, C, ld): channel edge counts, channel slices, and P over the kernels' 64-pixel tile. */
const BN_VIEWS: ReadonlyArray<readonly [P: number, C: number, ld: number]> = [
  [5, 1, 1], [7, 3, 3], [10, 4, 4], [9, 5, 5], [6, 64, 64], [11, 67, 67], [6, 5, 9], [5, 64, 130], [150, 5, 7], [70, 8, 8],
];

interface BnMode { label: string; training: 0 | 1; affine: boolean; eps: number }
const BN_MODES: BnMode[] = [
  { label: 'train eps0.8', training: 1, affine: true, eps: 0.8 },
  { label: 'train eps1e-5 no-affine', training: 1, affine: false, eps: 1e-5 },
  { label: 'eval eps1e-5', training: 0, affine: true, eps: 1e-5 },
];
const MOMENTUM = 0.1;

/** An f64 view (the op-table closures only get f32 views). */
function f64(mem: Mem, ptr: number, n: number): Float64Array {
  return new Float64Array(mem.f32(ptr, 0).buffer, ptr, n);
}

function bnTensors(P: number, C: number, ld: number, affine: boolean, extraSums: string[]): Record<string, TensorDecl> {
  const t: Record<string, TensorDecl> = {
    x: { size: P * ld }, y: { size: P * ld }, dx: { size: P * ld }, dy: { size: P * ld },
    mean: { size: C, init: 'zero' }, rstd: { size: C, init: 'zero' },
    runMean: { size: C, init: 'uniform' }, runVar: { size: C, init: 'positive' },
  };
  for (const s of ['sums', ...extraSums]) t[s] = { size: 2 * C, kind: 'f64' };
  if (affine) Object.assign(t, { gamma: { size: C, init: 'positive' }, beta: { size: C }, dgamma: { size: C }, dbeta: { size: C } });
  return t;
}

function bnCases(sharded: boolean): () => OpCase[] {
  return () =>
    BN_MODES.flatMap((mode) =>
      BN_VIEWS.map(([P, C, ld]): OpCase => {
        const { training, affine, eps } = mode;
        const g = (t: Ptrs) => (affine ? t.gamma : 0), b = (t: Ptrs) => (affine ? t.beta : 0);
        const dg = (t: Ptrs) => (affine ? t.dgamma : 0), db = (t: Ptrs) => (affine ? t.dbeta : 0);
        return {
          label: `${sharded ? 'batchnorm_sharded' : 'batchnorm'} ${mode.label} P${P} C${C} ld${ld}`,
          tensors: bnTensors(P, C, ld, affine, sharded ? ['sumsB', 'sumsG'] : []),
          grads: affine ? { x: 'dx', gamma: 'dgamma', beta: 'dbeta' } : { x: 'dx' },
          outputs: { y: 'dy' },
          saved: ['mean', 'rstd', 'runMean', 'runVar'],
          forward: sharded
            ? (k, r, t, mem) => bnShardedForward(k, r, t, mem, mode, P, C, ld)
            : (k, r, t) =>
                pick(k, r, 'batchnorm_forward')(t.y, t.mean, t.rstd, t.runMean, t.runVar, t.sums, t.x, g(t), b(t), eps, MOMENTUM, training, P, C, ld, ld),
          backward: sharded
            ? (k, r, t, mem) => bnShardedBackward(k, r, t, mem, mode, P, C, ld)
            : (k, r, t) =>
                pick(k, r, 'batchnorm_backward')(t.dx, dg(t), db(t), t.sums, t.dy, t.x, g(t), t.mean, t.rstd, training, P, C, ld, ld),
        };
      }),
    );
}

/** Two shards of P0 and P - P0 pixels: shard views are the same buffers offset by whole pixels. */
const split = (P: number) => Math.max(1, Math.floor(P / 3));

function bnShardedForward(k: Kernels, r: boolean, t: Ptrs, mem: Mem, m: BnMode, P: number, C: number, ld: number) {
  const P0 = split(P), off = P0 * ld * 4;
  const g = m.affine ? t.gamma : 0, b = m.affine ? t.beta : 0;
  if (m.training) {
    f64(mem, t.sums, 2 * C).fill(0);
    pick(k, r, 'batchnorm_stats_partial')(t.sums, t.x, P0, C, ld);
    pick(k, r, 'batchnorm_stats_partial')(t.sums, t.x + off, P - P0, C, ld); // accumulates
    pick(k, r, 'batchnorm_stats_finish')(t.mean, t.rstd, t.runMean, t.runVar, t.sums, P, m.eps, MOMENTUM, C);
  } else {
    pick(k, r, 'batchnorm_eval_stats')(t.mean, t.rstd, t.runMean, t.runVar, m.eps, C);
  }
  pick(k, r, 'batchnorm_apply')(t.y, t.x, t.mean, t.rstd, g, b, P0, C, ld, ld);
  pick(k, r, 'batchnorm_apply')(t.y + off, t.x + off, t.mean, t.rstd, g, b, P - P0, C, ld, ld);
}

function bnShardedBackward(k: Kernels, r: boolean, t: Ptrs, mem: Mem, m: BnMode, P: number, C: number, ld: number) {
  const P0 = split(P), off = P0 * ld * 4;
  const g = m.affine ? t.gamma : 0;
  f64(mem, t.sums, 2 * C).fill(0);
  f64(mem, t.sumsB, 2 * C).fill(0);
  pick(k, r, 'batchnorm_backward_partial')(t.sums, t.dy, t.x, t.mean, t.rstd, P0, C, ld, ld);
  pick(k, r, 'batchnorm_backward_partial')(t.sumsB, t.dy + off, t.x + off, t.mean, t.rstd, P - P0, C, ld, ld);
  if (m.affine) {
    pick(k, r, 'batchnorm_backward_params')(t.dgamma, t.dbeta, t.sums, C); // shard-local sums
    pick(k, r, 'batchnorm_backward_params')(t.dgamma, t.dbeta, t.sumsB, C);
  }
  const global = f64(mem, t.sumsG, 2 * C);
  const sA = f64(mem, t.sums, 2 * C), sB = f64(mem, t.sumsB, 2 * C);
  for (let i = 0; i < 2 * C; i++) global[i] = sA[i] + sB[i]; // the all-reduce across shards
  pick(k, r, 'batchnorm_backward_apply')(t.dx, t.dy, t.x, g, t.mean, t.rstd, t.sumsG, P, m.training, P0, C, ld, ld);
  pick(k, r, 'batchnorm_backward_apply')(t.dx + off, t.dy + off, t.x + off, g, t.mean, t.rstd, t.sumsG, P, m.training, P - P0, C, ld, ld);
}

/** (N, HW, C, ld) */
const IN_VIEWS: ReadonlyArray<readonly [N: number, HW: number, C: number, ld: number]> = [
  [1, 9, 1, 1], [2, 7, 3, 3], [2, 25, 4, 4], [1, 49, 5, 5], [2, 9, 64, 64], [1, 15, 67, 67], [2, 9, 5, 9], [1, 12, 64, 130],
];

const tol = { rtol: 1e-4, atol: 1e-5 };
const fd = { eps: 1e-2, rtol: 2e-2, atol: 2e-3 };

export const normOps = {
  batchnorm: {
    family: 'norm',
    kernels: ['batchnorm_forward', 'batchnorm_backward'],
    cases: bnCases(false),
    tol,
    fd,
  },
  batchnorm_sharded: {
    family: 'norm',
    kernels: [
      'batchnorm_stats_partial', 'batchnorm_stats_finish', 'batchnorm_eval_stats', 'batchnorm_apply',
      'batchnorm_backward_partial', 'batchnorm_backward_params', 'batchnorm_backward_apply',
    ],
    cases: bnCases(true),
    tol,
    fd,
  },
  instancenorm: {
    family: 'norm',
    kernels: ['instancenorm_forward', 'instancenorm_backward'],
    cases: () =>
      IN_VIEWS.map(([N, HW, C, ld]) => ({
        label: `instancenorm N${N} HW${HW} C${C} ld${ld}`,
        tensors: {
          x: { size: N * HW * ld }, y: { size: N * HW * ld }, dx: { size: N * HW * ld }, dy: { size: N * HW * ld },
          mean: { size: N * C, init: 'zero' }, rstd: { size: N * C, init: 'zero' },
        },
        grads: { x: 'dx' },
        outputs: { y: 'dy' },
        saved: ['mean', 'rstd'],
        forward: (k, r, t) => pick(k, r, 'instancenorm_forward')(t.y, t.mean, t.rstd, t.x, 1e-5, N, HW, C, ld, ld),
        backward: (k, r, t) => pick(k, r, 'instancenorm_backward')(t.dx, t.dy, t.x, t.mean, t.rstd, N, HW, C, ld, ld),
      })),
    tol,
    fd,
  },
} satisfies Record<string, OpSpec>;
