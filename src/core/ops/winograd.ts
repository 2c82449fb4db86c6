// Op-table entries for the Winograd convs: F(2x2, 3x3) for the stride-1 pad-1 3x3 conv (assembly/winograd.ts,
// the same function as conv2d k3 s1 p1), F(2x2, 2x2) over the input's phases for the 4x4 stride-2 pad-1 conv
// (assembly/winograd_s2.ts, the same function as conv2d k4 s2 p1), and the 3x3 stride-2 pad-1 conv with its taps
// split by parity (assembly/conv3s2_split.ts, the same function as conv2d k3 s2 p1; its backward-input is the
// direct one): x (N, H, W, C) pixel stride ldx -> y (N, OH, OW, OC) pixel stride ldy, weight HWIO [K][K][C][OC],
// bias [OC]. The SIMD kernels run tiles, transforms and one GEMM per transform position, the reference twins the
// textbook matrix formulas one entry at a time. Like the conv cases: a scratch buffer from a TS bound (checked
// against the kernels' scratch sizes) followed by a guard tensor, cleared after the SIMD run.
import type { Kernels } from '../kernels.gen.js';
import { pick, type OpCase, type OpSpec, type Ptrs, type Twin } from '../op-spec.js';
import { clearScratch, convTensors, scratchBound } from './conv.js';

export interface Wino3Shape { N: number; H: number; W: number; C: number; OC: number; ldx?: number; ldy?: number; bias?: boolean }

// 4x4 stride 2: H, W >= 2, odd and even (a partial last tile; a 4x4 dx block past the image), 2x3 images (every
// tap at a border), the same channel edges and slices.
export const WINO_S2_CASES: Wino3Shape[] = [
  { N: 1, H: 4, W: 4, C: 4, OC: 8, bias: true },
  { N: 2, H: 7, W: 9, C: 5, OC: 6 },
  { N: 1, H: 2, W: 3, C: 17, OC: 4, bias: true },
  { N: 1, H: 6, W: 5, C: 3, OC: 9, ldx: 5, ldy: 12 },
  { N: 2, H: 8, W: 6, C: 16, OC: 20, bias: true },
  { N: 1, H: 5, W: 5, C: 1, OC: 1, bias: true },
  { N: 1, H: 10, W: 9, C: 33, OC: 17, ldy: 20 },
];

// Odd and even sizes (partial tiles at the bottom and right), 1x1 and 1xW images (every tap at a border),
// channels 1, 3, 4, 5 and tails of 4 and 8 on both sides, batch 1-2, channel-slice input and output. Several
// tile chunks, and the net's shapes against the direct conv: test/winograd.test.ts.
export const WINO3_CASES: Wino3Shape[] = [
  { N: 1, H: 4, W: 4, C: 4, OC: 8, bias: true },
  { N: 2, H: 5, W: 6, C: 3, OC: 5, bias: true },
  { N: 1, H: 1, W: 1, C: 5, OC: 9 },
  { N: 1, H: 1, W: 7, C: 16, OC: 3, bias: true },
  { N: 2, H: 7, W: 5, C: 21, OC: 11, ldx: 24, ldy: 13 },
  { N: 1, H: 6, W: 5, C: 16, OC: 32, bias: true },
  { N: 1, H: 3, W: 3, C: 1, OC: 1, bias: true },
  { N: 1, H: 9, W: 8, C: 33, OC: 17, ldy: 20 },
];

/** 'winograd3': F(2x2, 3x3), k3 s1 p1; 'winograd_s2' / 'winograd_s2f4': F(2x2, 2x2) / F(4x4, 2x2) on the phases, k4 s2 p1. */
type WinoKind = 'winograd3' | 'winograd_s2' | 'winograd_s2f4';

function winoCase(sh: Wino3Shape, name: WinoKind = 'winograd3'): OpCase {
  const { N, H, W, C, OC } = sh;
  const s2 = name !== 'winograd3';
  const ldx = sh.ldx ?? C, ldy = sh.ldy ?? OC, bias = sh.bias ?? false;
  const OH = s2 ? Math.floor((H - 2) / 2) + 1 : H, OW = s2 ? Math.floor((W - 2) / 2) + 1 : W;
  const tiles = N * (Math.ceil(H / 2) + 1) * (Math.ceil(W / 2) + 1);
  const r = (n: number) => Math.ceil(n / 16) * 16 + 16;
  const C4 = 4 * (C + 4), P = name === 'winograd_s2f4' ? 25 : 16; // transform positions (bounded)
  const bound = 2048 + r(Math.max(C, OC)) + P * r(C4 * (OC + 8)) + P * r(OC * (C4 + 8)) + P * r(Math.min(tiles, 256) * (C4 + OC + 16)) * 3;
  const X = N * H * W * ldx, Y = N * OH * OW * ldy, Wn = (s2 ? 16 : 9) * C * OC;
  const { tensors, grads } = convTensors(X, Wn, Y, OC, bias, bound);
  const kn = (k: Kernels, e: string) => (k as unknown as Record<string, (...a: number[]) => number>)[`${name}_${e}`];
  const scratch = (k: Kernels, t: Ptrs): number => {
    const need = kn(k, 'scratch_size')(N, H, W, C, OC);
    if (need > bound) throw new Error(`${name}: scratch ${need} floats exceeds the test's bound ${bound}`);
    return t.scratch;
  };
  const clear = (k: Kernels, ref: boolean, t: Ptrs) => clearScratch(k, ref, t, bound);
  const run = (k: Kernels, ref: boolean, pass: string) => pick(k, ref, `${name}_${pass}` as Twin) as unknown as (...a: number[]) => void;
  return {
    label: `${name} N${N} ${H}x${W}x${C} -> ${OH}x${OW}x${OC} ldx${ldx} ldy${ldy}${bias ? ' bias' : ''}`,
    tensors, grads, outputs: { y: 'dy' },
    forward: (k, ref, t) => {
      run(k, ref, 'forward')(t.y, t.x, t.w, bias ? t.b : 0, scratch(k, t), N, H, W, C, OC, ldy, ldx);
      clear(k, ref, t);
    },
    backward: (k, ref, t) => {
      run(k, ref, 'backward_input')(t.dx, t.dy, t.w, scratch(k, t), N, H, W, C, OC, ldx, ldy);
      clear(k, ref, t);
      run(k, ref, 'backward_weight')(t.dw, bias ? t.db : 0, t.dy, t.x, scratch(k, t), N, H, W, C, OC, ldy, ldx);
      clear(k, ref, t);
    },
  };
}

// F(4x4, 2x2): the same cases (most one tile: 4x4 outputs, 8x8 dx blocks) and ones of several tiles in both
// directions, a last tile of one output row or column and a dx block overhanging the image.
export const WINO_S2F4_CASES: Wino3Shape[] = [
  ...WINO_S2_CASES,
  { N: 2, H: 18, W: 20, C: 6, OC: 5, bias: true },
  { N: 1, H: 21, W: 11, C: 9, OC: 10, ldx: 12, ldy: 11 },
];

// 3x3 stride 2: odd and even sizes (a last tile with one output row or column; H odd: the last E tap reads the
// padding), 1x1 and 1xW images, channels 1-33 with tails and slices.
export const SPLIT_S2_CASES: Wino3Shape[] = [
  { N: 1, H: 4, W: 4, C: 4, OC: 8, bias: true },
  { N: 2, H: 7, W: 9, C: 5, OC: 6 },
  { N: 1, H: 1, W: 1, C: 3, OC: 9, bias: true },
  { N: 1, H: 2, W: 7, C: 17, OC: 4, bias: true },
  { N: 1, H: 6, W: 5, C: 3, OC: 9, ldx: 5, ldy: 12 },
  { N: 2, H: 8, W: 10, C: 16, OC: 20, bias: true },
  { N: 1, H: 11, W: 9, C: 33, OC: 17, ldy: 20 },
];

/** The forward of a split case: 'call' conv3s2_split_forward (weights transformed per call); 'packed' upconv_split_pack
 * into wd + conv3s2_split_forward_packed; 'split4_packed' split4_pack into wd + conv3s2_split4_forward_packed (the E
 * parts by F(4, 2), assembly/winograd_split4.ts: inference). The backward passes are the training layer's. */
type SplitS2Forward = 'call' | 'packed' | 'split4_packed';
function splitCase(sh: Wino3Shape, fwd: SplitS2Forward): OpCase {
  const f42 = fwd === 'split4_packed', packed = fwd !== 'call';
  const { N, H, W, C, OC } = sh;
  const ldx = sh.ldx ?? C, ldy = sh.ldy ?? OC, bias = sh.bias ?? false;
  const OH = Math.ceil(H / 2), OW = Math.ceil(W / 2), tiles = N * Math.ceil(OH / 2) * Math.ceil(OW / 2);
  const r = (n: number) => Math.ceil(n / 16) * 16 + 16;
  const bound = 1024 + r(Math.max(C, OC)) + r(16 * C * (OC + 8)) + 16 * r(Math.min(tiles, 256) * (4 * (C + OC) + 64)) * 2
    + scratchBound(N, H, W, C, OC, 3, 2, 1) + 81 * (Math.min(N * Math.ceil(OH / 4) * Math.ceil(OW / 4), 256) * (C + OC + 11) + 64);
  const X = N * H * W * ldx, Y = N * OH * OW * ldy, Wn = 9 * C * OC;
  const { tensors, grads } = convTensors(X, Wn, Y, OC, bias, bound);
  if (packed) tensors.wd = { size: (f42 ? 36 : 16) * C * Math.ceil(OC / 8) * 8, init: 'zero' };
  const name = fwd === 'call' ? 'conv3s2_split' : `conv3s2_split${f42 ? '4' : ''}_packed`;
  const packedSize = (k: Kernels) => (f42 ? k.split4_packed_size(C, OC) : k.upconv_split_packed_size(C, OC));
  const scratch = (k: Kernels, t: Ptrs): number => {
    if (packed && packedSize(k) !== tensors.wd.size) throw new Error(`${name}: split weights ${packedSize(k)} floats, the test has ${tensors.wd.size}`);
    const need = Math.max(k.conv3s2_split_forward_scratch_size(N, H, W, C, OC), k.conv3s2_split_packed_scratch_size(N, H, W, C, OC), k.conv3s2_split4_packed_scratch_size(N, H, W, C, OC),
      k.conv3s2_split_backward_weight_scratch_size(N, H, W, C, OC), k.conv2d_scratch_size(N, H, W, C, OC, 3, 3, 2, 1));
    if (need > bound) throw new Error(`${name}: scratch ${need} floats exceeds the test's bound ${bound}`);
    return t.scratch;
  };
  const clear = (k: Kernels, ref: boolean, t: Ptrs) => clearScratch(k, ref, t, bound);
  return {
    label: `${name} N${N} ${H}x${W}x${C} -> ${OH}x${OW}x${OC} ldx${ldx} ldy${ldy}${bias ? ' bias' : ''}`,
    tensors, grads, outputs: { y: 'dy' }, saved: packed ? ['wd'] : [],
    forward: (k, ref, t) => {
      if (f42) {
        pick(k, ref, 'split4_pack')(t.wd, t.w, scratch(k, t), C, OC, OC, 0);
        clear(k, ref, t);
        pick(k, ref, 'conv3s2_split4_forward_packed')(t.y, t.x, t.wd, bias ? t.b : 0, scratch(k, t), N, H, W, C, OC, ldy, ldx);
      } else if (packed) {
        pick(k, ref, 'upconv_split_pack')(t.wd, t.w, scratch(k, t), C, OC, OC, 0);
        clear(k, ref, t);
        pick(k, ref, 'conv3s2_split_forward_packed')(t.y, t.x, t.wd, bias ? t.b : 0, scratch(k, t), N, H, W, C, OC, ldy, ldx);
      } else pick(k, ref, 'conv3s2_split_forward')(t.y, t.x, t.w, bias ? t.b : 0, scratch(k, t), N, H, W, C, OC, ldy, ldx);
      clear(k, ref, t);
    },
    backward: (k, ref, t) => {
      pick(k, ref, 'conv2d_backward_input')(t.dx, t.dy, t.w, scratch(k, t), N, H, W, C, OC, 3, 3, 2, 1, ldx, ldy);
      clear(k, ref, t);
      pick(k, ref, 'conv3s2_split_backward_weight')(t.dw, bias ? t.db : 0, t.dy, t.x, scratch(k, t), N, H, W, C, OC, ldy, ldx);
      clear(k, ref, t);
    },
  };
}

export const winogradOps = {
  winograd3: {
    family: 'conv',
    kernels: ['winograd3_forward', 'winograd3_backward_input', 'winograd3_backward_weight'],
    cases: () => WINO3_CASES.map((sh) => winoCase(sh)),
    tol: { rtol: 1e-4, atol: 1e-4 },
    fd: { eps: 5e-2, rtol: 5e-3, atol: 3e-3 },
  },
  winograd_s2: {
    family: 'conv',
    kernels: ['winograd_s2_forward', 'winograd_s2_backward_input', 'winograd_s2_backward_weight'],
    cases: () => WINO_S2_CASES.map((sh) => winoCase(sh, 'winograd_s2')),
    tol: { rtol: 1e-4, atol: 1e-4 },
    fd: { eps: 5e-2, rtol: 5e-3, atol: 3e-3 },
  },
  winograd_s2f4: {
    family: 'conv',
    kernels: ['winograd_s2f4_forward', 'winograd_s2f4_backward_input', 'winograd_s2f4_backward_weight'],
    cases: () => WINO_S2F4_CASES.map((sh) => winoCase(sh, 'winograd_s2f4')),
    tol: { rtol: 1e-4, atol: 1e-4 },
    fd: { eps: 5e-2, rtol: 5e-3, atol: 3e-3 },
  },
  // the training layer's passes (split forward with the weights transformed per call, direct backward-input, split
  // backward-weight), and the forward on weights transformed once (inference), each on half the cases
  conv3s2_split: {
    family: 'conv',
    kernels: ['conv3s2_split_forward', 'conv2d_backward_input', 'conv3s2_split_backward_weight'],
    cases: () => SPLIT_S2_CASES.filter((_, i) => i % 2 === 1).map((sh) => splitCase(sh, 'call')),
    tol: { rtol: 1e-4, atol: 1e-4 },
    fd: { eps: 5e-2, rtol: 5e-3, atol: 3e-3 },
  },
  conv3s2_split_packed: {
    family: 'conv',
    kernels: ['upconv_split_pack', 'conv3s2_split_forward_packed', 'conv2d_backward_input', 'conv3s2_split_backward_weight'],
    cases: () => SPLIT_S2_CASES.filter((_, i) => i % 2 === 0).map((sh) => splitCase(sh, 'packed')),
    tol: { rtol: 1e-4, atol: 1e-4 },
    fd: { eps: 5e-2, rtol: 5e-3, atol: 3e-3 },
  },
  // the forward with the E parts by F(4, 2) on weights transformed once (assembly/winograd_split4.ts: inference on
  // large images), every case; the training layer's backward passes
  conv3s2_split4_packed: {
    family: 'conv',
    kernels: ['split4_pack', 'conv3s2_split4_forward_packed', 'conv2d_backward_input', 'conv3s2_split_backward_weight'],
    cases: () => SPLIT_S2_CASES.map((sh) => splitCase(sh, 'split4_packed')),
    tol: { rtol: 1e-4, atol: 1e-4 },
    fd: { eps: 5e-2, rtol: 5e-3, atol: 3e-3 },
  },
} satisfies Record<string, OpSpec>;
