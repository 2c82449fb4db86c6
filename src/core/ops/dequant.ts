// Op-table entries for weight dequantisation (assembly/dequant.ts). Not differentiated (no grads): SIMD vs
// reference only, bit for bit. Inputs are packed into i32 words: two halves or four int8 per word.
import { pick, type OpSpec } from '../op-spec.js';

/** A random finite half: every exponent (subnormals and zero included), both signs; never Inf/NaN. */
const randHalf = (rnd: () => number) => {
  const e = Math.floor(rnd() * 31), m = Math.floor(rnd() * 1024), s = rnd() < 0.5 ? 0x8000 : 0;
  return s | (e << 10) | m;
};

const none = { eps: 0, rtol: 0, atol: 0 }; // unused: no grads

/** [rows, OC] of the panel cases: full panels, tails of 1-7 columns, odd row counts */
const PANEL_SHAPES = [[1, 5], [3, 8], [2, 13], [4, 16], [3, 37], [5, 64], [1, 71]] as const;

export const dequantOps = {
  dequant_f16: {
    family: 'dequant',
    kernels: ['dequant_f16'],
    cases: () =>
      [1, 2, 7, 8, 9, 16, 31, 64, 1031].map((n) => ({
        label: `dequant_f16 n${n}`,
        tensors: {
          src: { size: Math.ceil(n / 2), kind: 'i32' as const, init: (_i: number, rnd: () => number) => (randHalf(rnd) | (randHalf(rnd) << 16)) | 0 },
          out: { size: n, init: 'zero' as const },
        },
        grads: {},
        outputs: {},
        saved: ['out'],
        forward: (k, r, t) => pick(k, r, 'dequant_f16')(t.out, t.src, n),
        backward: () => {},
      })),
    tol: { rtol: 0, atol: 0 },
    fd: none,
  },
  dequant_i8: {
    family: 'dequant',
    kernels: ['dequant_i8'],
    cases: () =>
      ([[1, 1], [3, 3], [2, 4], [5, 5], [2, 16], [3, 19], [2, 64], [1, 67], [9, 8], [4, 35]] as const).map(([rows, OC]) => {
        const n = rows * OC;
        return {
          label: `dequant_i8 rows${rows} OC${OC}`,
          tensors: {
            src: { size: Math.ceil(n / 4), kind: 'i32' as const, init: (_i: number, rnd: () => number) => Math.floor(rnd() * 2 ** 32) | 0 },
            scale: { size: OC, init: 'positive' as const },
            out: { size: n, init: 'zero' as const },
          },
          grads: {},
          outputs: {},
          saved: ['out'],
          forward: (k, r, t) => pick(k, r, 'dequant_i8')(t.out, t.src, t.scale, n, OC),
          backward: () => {},
        };
      }),
    tol: { rtol: 0, atol: 0 },
    fd: none,
  },
  // into the 8-wide panels of conv2d_pack ([rows][OC] -> [ceil(OC/8)][rows][8]); the output starts random, so
  // the zeros past OC must be written
  dequant_f16_panels: {
    family: 'dequant',
    kernels: ['dequant_f16_panels'],
    cases: () => PANEL_SHAPES.map(([rows, OC]) => ({
      label: `dequant_f16_panels rows${rows} OC${OC}`,
      tensors: {
        src: { size: Math.ceil((rows * OC) / 2), kind: 'i32' as const, init: (_i: number, rnd: () => number) => (randHalf(rnd) | (randHalf(rnd) << 16)) | 0 },
        out: { size: rows * Math.ceil(OC / 8) * 8, init: 'randn' as const },
      },
      grads: {},
      outputs: {},
      saved: ['out'],
      forward: (k, r, t) => pick(k, r, 'dequant_f16_panels')(t.out, t.src, rows, OC),
      backward: () => {},
    })),
    tol: { rtol: 0, atol: 0 },
    fd: none,
  },
  dequant_i8_panels: {
    family: 'dequant',
    kernels: ['dequant_i8_panels'],
    cases: () => PANEL_SHAPES.map(([rows, OC]) => ({
      label: `dequant_i8_panels rows${rows} OC${OC}`,
      tensors: {
        src: { size: Math.ceil((rows * OC) / 4), kind: 'i32' as const, init: (_i: number, rnd: () => number) => Math.floor(rnd() * 2 ** 32) | 0 },
        scale: { size: OC, init: 'positive' as const },
        out: { size: rows * Math.ceil(OC / 8) * 8, init: 'randn' as const },
      },
      grads: {},
      outputs: {},
      saved: ['out'],
      forward: (k, r, t) => pick(k, r, 'dequant_i8_panels')(t.out, t.src, t.scale, rows, OC),
      backward: () => {},
    })),
    tol: { rtol: 0, atol: 0 },
    fd: none,
  },
} satisfies Record<string, OpSpec>;
