// Op-table entries for pooling and nearest up-sampling (assembly/pool.ts).
// Geometries are the model's (avg k3 s2 p1 without padded counts between D scales, avg k2 s2 and k8 s8 in the
// encoders, max k3 s2 p1 in the ResNet stem) on odd and even inputs, plus edge channel counts and slices.
import { pick, type OpCase, type OpSpec } from '../op-spec.js';

const out = (size: number, K: number, s: number, p: number) => Math.floor((size + 2 * p - K) / s) + 1;

interface PoolCase { N: number; H: number; W: number; C: number; K: number; s: number; p: number; ldx?: number; ldy?: number }

/** window geometries x (N, H, W) inputs x channel views */
function poolGeometries(K: number, s: number, p: number, sizes: Array<[number, number, number]>): PoolCase[] {
  const views: Array<[C: number, ldx: number, ldy: number]> = [[1, 1, 1], [3, 3, 3], [4, 4, 4], [5, 5, 5], [64, 64, 64], [67, 67, 67], [5, 9, 7], [64, 130, 64]];
  return sizes.flatMap(([N, H, W], i) =>
    // every size with a few views; the first size with all of them
    (i === 0 ? views : views.filter((_, j) => j % 3 === i % 3)).map(([C, ldx, ldy]) => ({ N, H, W, C, K, s, p, ldx, ldy })),
  );
}

const AVG_CASES: Array<PoolCase & { cip: 0 | 1 }> = [
  ...poolGeometries(3, 2, 1, [[1, 7, 9], [2, 8, 8], [1, 5, 4]]).map((g) => ({ ...g, cip: 0 as const })),
  ...poolGeometries(3, 2, 1, [[1, 7, 7]]).map((g) => ({ ...g, cip: 1 as const })),
  ...poolGeometries(2, 2, 0, [[1, 7, 7], [2, 4, 6]]).map((g) => ({ ...g, cip: 1 as const })),
  ...poolGeometries(8, 8, 0, [[1, 8, 8], [2, 17, 16]]).map((g) => ({ ...g, cip: 1 as const })),
];

const MAX_CASES: PoolCase[] = poolGeometries(3, 2, 1, [[1, 7, 9], [2, 8, 8], [1, 5, 4], [1, 1, 1]]);

/** Values on a coarse grid, so windows hold ties (first-max rule) but most maxima stay unique. */
const tiesInit = (_i: number, rnd: () => number) => Math.round(rnd() * 40) / 8;

const linear = { eps: 1e-2, rtol: 1e-2, atol: 1e-3 };

function label(name: string, g: PoolCase, extra = '') {
  return `${name} N${g.N} ${g.H}x${g.W} C${g.C} k${g.K} s${g.s} p${g.p}${extra} ldx${g.ldx} ldy${g.ldy}`;
}

export const poolOps = {
  avgpool2d: {
    family: 'pool',
    kernels: ['avgpool2d_forward', 'avgpool2d_backward'],
    cases: () =>
      AVG_CASES.map((g): OpCase => {
        const { N, H, W, C, K, s, p, cip } = g, ldx = g.ldx ?? C, ldy = g.ldy ?? C;
        const P = N * H * W, Q = N * out(H, K, s, p) * out(W, K, s, p);
        return {
          label: label('avgpool2d', g, ` cip${cip}`),
          tensors: { x: { size: P * ldx }, y: { size: Q * ldy }, dx: { size: P * ldx }, dy: { size: Q * ldy } },
          grads: { x: 'dx' },
          outputs: { y: 'dy' },
          forward: (k, r, t) => pick(k, r, 'avgpool2d_forward')(t.y, t.x, N, H, W, C, K, s, p, cip, ldy, ldx),
          backward: (k, r, t) => pick(k, r, 'avgpool2d_backward')(t.dx, t.dy, N, H, W, C, K, s, p, cip, ldx, ldy),
        };
      }),
    tol: { rtol: 0, atol: 0 },
    fd: linear,
  },
  maxpool2d: {
    family: 'pool',
    kernels: ['maxpool2d_forward', 'maxpool2d_backward'],
    cases: () =>
      MAX_CASES.flatMap((g) => [false, true].map((ties): OpCase => {
        const { N, H, W, C, K, s, p } = g, ldx = g.ldx ?? C, ldy = g.ldy ?? C;
        const P = N * H * W, Q = N * out(H, K, s, p) * out(W, K, s, p);
        return {
          label: label('maxpool2d', g, ties ? ' ties' : ''),
          tensors: {
            x: { size: P * ldx, init: ties ? tiesInit : 'randn' }, y: { size: Q * ldy },
            argmax: { size: Q * C, kind: 'i32' }, dx: { size: P * ldx }, dy: { size: Q * ldy },
          },
          // at an exact tie every perturbation is a kink, so tie cases check SIMD vs reference only
          grads: ties ? {} : { x: 'dx' },
          outputs: { y: 'dy' },
          saved: ['argmax'],
          forward: (k, r, t) => pick(k, r, 'maxpool2d_forward')(t.y, t.argmax, t.x, N, H, W, C, K, s, p, ldy, ldx),
          backward: (k, r, t) => pick(k, r, 'maxpool2d_backward')(t.dx, t.dy, t.argmax, N, H, W, C, K, s, p, ldx, ldy),
        };
      })),
    tol: { rtol: 0, atol: 0 },
    fd: linear,
  },
  upsample_nearest2x: {
    family: 'pool',
    kernels: ['upsample_nearest2x_forward', 'upsample_nearest2x_backward'],
    cases: () =>
      ([[1, 1, 1, 1, 1, 1], [2, 3, 5, 3, 3, 3], [1, 4, 4, 4, 4, 4], [1, 3, 3, 5, 5, 5], [1, 2, 3, 64, 64, 64],
        [2, 3, 2, 67, 67, 67], [1, 3, 3, 5, 9, 7], [1, 2, 2, 64, 64, 130]] as const).map(([N, H, W, C, ldx, ldy]): OpCase => {
        const P = N * H * W, Q = 4 * P;
        return {
          label: `upsample_nearest2x N${N} ${H}x${W} C${C} ldx${ldx} ldy${ldy}`,
          tensors: { x: { size: P * ldx }, y: { size: Q * ldy }, dx: { size: P * ldx }, dy: { size: Q * ldy } },
          grads: { x: 'dx' },
          outputs: { y: 'dy' },
          forward: (k, r, t) => pick(k, r, 'upsample_nearest2x_forward')(t.y, t.x, N, H, W, C, ldy, ldx),
          backward: (k, r, t) => pick(k, r, 'upsample_nearest2x_backward')(t.dx, t.dy, N, H, W, C, ldx, ldy),
        };
      }),
    tol: { rtol: 0, atol: 0 },
    fd: linear,
  },
} satisfies Record<string, OpSpec>;
