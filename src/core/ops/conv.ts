// Op-table entries for the conv family (assembly/conv2d.ts on the GEMM kernels of assembly/gemm.ts):
// conv2d, conv_transpose2d (= the dual conv's backward-input, + bias) and linear (= 1x1 conv, H = W = 1).
// Each case declares a scratch buffer from a generous TS bound (checked against conv2d_scratch_size at run
// time) followed by a random `guard` tensor: a SIMD kernel that writes past its scratch changes the guard and
// fails the SIMD-vs-reference comparison. The SIMD closures zero the scratch afterwards so both runs compare equal.
import type { Kernels } from '../kernels.gen.js';
import { pick, type OpCase, type OpSpec, type Ptrs } from '../op-spec.js';

/** One conv instance: input N x H x W x C (pixel stride ldx) -> N x OH x OW x OC (pixel stride ldy). */
export interface ConvShape {
  N: number; H: number; W: number; C: number; OC: number; K: number; s: number; p: number;
  ldx?: number; ldy?: number; bias?: boolean;
}

export const convOut = (H: number, K: number, s: number, p: number) => Math.floor((H + 2 * p - K) / s) + 1;
export const deconvOut = (H: number, K: number, s: number, p: number) => (H - 1) * s - 2 * p + K;

/** An upper bound on conv2d_scratch_size (the case checks the real value against it). */
export function scratchBound(N: number, H: number, W: number, C: number, OC: number, K: number, s: number, p: number): number {
  const OH = convOut(H, K, s, p), OW = convOut(W, K, s, p), T = K * K;
  const r8 = (n: number) => Math.ceil(n / 8) * 8 + 16;
  const rows = Math.max(N * H * W, N * OH * OW, 256);
  return 256 + r8(OC) * (T * C + 1) + r8(C) * T * OC + rows * (T + 1) * (1 + Math.max(C, OC)) + 256 * (r8(OC) + T + T * C);
}

function scratchFor(k: Kernels, t: Ptrs, bound: number, N: number, H: number, W: number, C: number, OC: number, K: number, s: number, p: number): number {
  const need = k.conv2d_scratch_size(N, H, W, C, OC, K, K, s, p);
  if (need > bound) throw new Error(`conv: scratch ${need} floats exceeds the test's bound ${bound}`);
  return t.scratch;
}

// Conv2d cases: edge channel counts (1, 3, 4, 5, 64, tails of 4 and 8), odd sizes, stride 2 on odd inputs,
// batch 1 and 2, k 1/3/4/7, pad 0..3, channel-slice input and output, the im2col path (C < 16) and the
// indirect path (C >= 16).
export const CONV_CASES: ConvShape[] = [
  { N: 1, H: 5, W: 5, C: 3, OC: 4, K: 3, s: 1, p: 1, bias: true },
  { N: 2, H: 7, W: 6, C: 5, OC: 9, K: 3, s: 2, p: 1, ldx: 8, ldy: 12, bias: true },
  { N: 1, H: 8, W: 8, C: 64, OC: 5, K: 4, s: 2, p: 1, bias: true },
  { N: 1, H: 9, W: 7, C: 4, OC: 64, K: 3, s: 2, p: 1 },
  { N: 1, H: 6, W: 6, C: 1, OC: 1, K: 1, s: 1, p: 0, bias: true },
  { N: 2, H: 11, W: 11, C: 3, OC: 8, K: 7, s: 2, p: 3 },
  { N: 1, H: 5, W: 5, C: 17, OC: 3, K: 1, s: 2, p: 0, ldx: 20 },
  { N: 1, H: 4, W: 5, C: 64, OC: 16, K: 3, s: 1, p: 2, bias: true },
  { N: 1, H: 3, W: 3, C: 20, OC: 13, K: 4, s: 1, p: 3, ldx: 24, ldy: 16, bias: true },
  { N: 2, H: 6, W: 5, C: 21, OC: 11, K: 3, s: 1, p: 1, ldy: 40 },
  { N: 1, H: 9, W: 9, C: 6, OC: 7, K: 4, s: 3, p: 1 },
  // the weight-feeding modes by output rows P (C >= 16): in place (P <= 4), K-blocked (P <= 64, and with
  // C > 256 two channel blocks), whole-w packed (P > 64)
  { N: 1, H: 2, W: 2, C: 20, OC: 11, K: 3, s: 2, p: 1, bias: true },
  { N: 1, H: 3, W: 3, C: 260, OC: 9, K: 1, s: 1, p: 0, bias: true },
  { N: 1, H: 10, W: 9, C: 17, OC: 12, K: 3, s: 1, p: 1, bias: true },
  { N: 2, H: 9, W: 8, C: 16, OC: 16, K: 4, s: 2, p: 2, ldx: 19 },
  // narrow outputs/inputs (<= 4 channels): dot-product kernels in place and via im2col, transposed dw
  { N: 1, H: 6, W: 7, C: 36, OC: 3, K: 3, s: 1, p: 1, ldy: 5, bias: true },
  { N: 1, H: 5, W: 5, C: 3, OC: 18, K: 3, s: 2, p: 1, ldx: 7 },
  { N: 1, H: 4, W: 4, C: 21, OC: 1, K: 3, s: 1, p: 1, bias: true },
];

// Conv-transpose cases, as (input N x H x W x IC) -> OC, kernel K stride s pad p.
export const DECONV_CASES: ConvShape[] = [
  { N: 1, H: 3, W: 3, C: 5, OC: 4, K: 4, s: 2, p: 1, bias: true },
  { N: 2, H: 4, W: 3, C: 16, OC: 9, K: 4, s: 2, p: 1, ldx: 20, ldy: 12, bias: true },
  { N: 1, H: 2, W: 2, C: 64, OC: 3, K: 4, s: 2, p: 1, bias: true },
  { N: 1, H: 3, W: 4, C: 3, OC: 17, K: 3, s: 1, p: 1 },
  { N: 1, H: 3, W: 3, C: 20, OC: 6, K: 3, s: 2, p: 0, bias: true },
  { N: 1, H: 2, W: 3, C: 1, OC: 1, K: 5, s: 3, p: 2, bias: true },
  { N: 1, H: 1, W: 1, C: 270, OC: 10, K: 4, s: 2, p: 1, bias: true },
  { N: 1, H: 9, W: 10, C: 18, OC: 9, K: 4, s: 2, p: 1, ldy: 11 },
];

export const LINEAR_CASES: Array<{ N: number; IN: number; OUT: number; ldx?: number; ldy?: number; bias?: boolean }> = [
  { N: 1, IN: 8, OUT: 37, bias: true },
  { N: 3, IN: 256, OUT: 8, bias: true },
  { N: 5, IN: 3, OUT: 1 },
  { N: 2, IN: 33, OUT: 17, ldx: 40, ldy: 20, bias: true },
];

const linearTol = { tol: { rtol: 1e-4, atol: 1e-4 }, fd: { eps: 5e-2, rtol: 5e-3, atol: 3e-3 } };

export function clearScratch(k: Kernels, ref: boolean, t: Ptrs, n: number): void {
  if (!ref) k.view_zero(t.scratch, 1, n, n);
}

/** Tensors of a conv or conv-transpose case: x, w, y and their gradients (bias and its gradient when asked),
 * a zeroed scratch of `bound` floats and a guard. */
export function convTensors(X: number, Wn: number, Y: number, OC: number, bias: boolean, bound: number): Pick<OpCase, 'tensors' | 'grads'> {
  const tensors: OpCase['tensors'] = {
    x: { size: X }, w: { size: Wn }, y: { size: Y }, dx: { size: X }, dw: { size: Wn }, dy: { size: Y },
  };
  const grads: Record<string, string> = { x: 'dx', w: 'dw' };
  if (bias) { tensors.b = { size: OC }; tensors.db = { size: OC }; grads.b = 'db'; }
  tensors.scratch = { size: bound, init: 'zero' };
  tensors.guard = { size: 64 };
  return { tensors, grads };
}

function convCase(sh: ConvShape): OpCase {
  const { N, H, W, C, OC, K, s, p } = sh;
  const ldx = sh.ldx ?? C, ldy = sh.ldy ?? OC, bias = sh.bias ?? false;
  const OH = convOut(H, K, s, p), OW = convOut(W, K, s, p);
  const bound = scratchBound(N, H, W, C, OC, K, s, p);
  const X = N * H * W * ldx, Y = N * OH * OW * ldy, Wn = K * K * C * OC;
  const { tensors, grads } = convTensors(X, Wn, Y, OC, bias, bound);
  return {
    label: `conv2d N${N} ${H}x${W}x${C} -> ${OC} k${K} s${s} p${p} ldx${ldx} ldy${ldy}${bias ? ' bias' : ''}`,
    tensors, grads, outputs: { y: 'dy' },
    forward: (k, r, t) => {
      const sc = scratchFor(k, t, bound, N, H, W, C, OC, K, s, p);
      pick(k, r, 'conv2d_forward')(t.y, t.x, t.w, bias ? t.b : 0, sc, N, H, W, C, OC, K, K, s, p, ldy, ldx);
      clearScratch(k, r, t, bound);
    },
    backward: (k, r, t) => {
      const sc = scratchFor(k, t, bound, N, H, W, C, OC, K, s, p);
      pick(k, r, 'conv2d_backward_input')(t.dx, t.dy, t.w, sc, N, H, W, C, OC, K, K, s, p, ldx, ldy);
      clearScratch(k, r, t, bound);
      pick(k, r, 'conv2d_backward_weight')(t.dw, bias ? t.db : 0, t.dy, t.x, sc, N, H, W, C, OC, K, K, s, p, ldy, ldx);
      clearScratch(k, r, t, bound);
    },
  };
}

// The forward on weights packed once (conv2d_pack, inference at load): every conv case plus 1-pixel outputs
// (igemm_4x8's one-row GEMV path: four panels at a time, then tail panels, a tail column block of 5), and 1x1
// convs of a 1x1 image (the generator's fc, a linear layer).
export const CONV_PACKED_CASES: ConvShape[] = [
  ...CONV_CASES,
  { N: 1, H: 2, W: 2, C: 24, OC: 45, K: 3, s: 2, p: 1, bias: true },
  { N: 1, H: 1, W: 1, C: 40, OC: 64, K: 3, s: 1, p: 1, ldy: 70 },
  { N: 1, H: 1, W: 1, C: 8, OC: 37, K: 1, s: 1, p: 0, bias: true },
  { N: 2, H: 2, W: 2, C: 32, OC: 70, K: 4, s: 2, p: 1, ldx: 36, bias: true },
];

/** A conv case whose forward packs w (conv2d_pack; the panels compared SIMD vs reference as a saved tensor) and
 * runs conv2d_forward_packed on them; the SIMD forward gets exactly conv2d_packed_scratch_size floats of scratch
 * with a canary after them. The backward passes are conv2d's (they read w). */
function convPackedCase(sh: ConvShape): OpCase {
  const c = convCase(sh);
  const { N, H, W, C, OC, K, s, p } = sh;
  const ldx = sh.ldx ?? C, ldy = sh.ldy ?? OC, bias = sh.bias ?? false;
  const TC = K * K * C, WP = OC <= 4 ? 4 * Math.ceil(TC / 4) * 4 : Math.ceil(OC / 8) * 8 * TC;
  const bound = c.tensors.scratch.size;
  const tensors = { ...c.tensors, wp: { size: WP, init: 'zero' as const } };
  return {
    ...c, tensors, saved: ['wp'],
    label: c.label.replace(/^conv2d/, 'conv2d_packed'),
    forward: (k, r, t, mem) => {
      if (k.conv2d_packed_size(K, K, C, OC) !== WP) throw new Error(`conv2d_packed: packed size ${k.conv2d_packed_size(K, K, C, OC)} floats, the test has ${WP}`);
      pick(k, r, 'conv2d_pack')(t.wp, t.w, K, K, C, OC);
      const need = k.conv2d_packed_scratch_size(N, H, W, C, OC, K, K, s, p);
      if (need + 16 > bound) throw new Error(`conv2d_packed: scratch ${need} floats exceeds the test's bound ${bound}`);
      const canary = mem.f32(t.scratch + need * 4, 16);
      canary.fill(12345);
      pick(k, r, 'conv2d_forward_packed')(t.y, t.x, t.wp, bias ? t.b : 0, t.scratch, N, H, W, C, OC, K, K, s, p, ldy, ldx);
      if (!canary.every((v) => v === 12345)) throw new Error(`conv2d_forward_packed wrote past conv2d_packed_scratch_size (${need} floats)`);
      canary.fill(0);
      clearScratch(k, r, t, bound);
    },
  };
}

// Conv-transpose of x (N, H, W, IC) -> y (N, Ho, Wo, OC), Ho = (H-1)*s - 2p + K; weights are HWIO of the dual
// conv (y -> x): [K][K][OC][IC]. forward = zero y, dual backward_input, bias; dx += dual forward; dw += dual
// backward_weight with x and dy swapped; db += sum dy.
function deconvCase(sh: ConvShape): OpCase {
  const { N, H, W, C: IC, OC, K, s, p } = sh;
  const ldx = sh.ldx ?? IC, ldy = sh.ldy ?? OC, bias = sh.bias ?? false;
  const Ho = deconvOut(H, K, s, p), Wo = deconvOut(W, K, s, p);
  const bound = scratchBound(N, Ho, Wo, OC, IC, K, s, p);
  const X = N * H * W * ldx, Y = N * Ho * Wo * ldy, Wn = K * K * OC * IC;
  const { tensors, grads } = convTensors(X, Wn, Y, OC, bias, bound);
  const P = N * Ho * Wo;
  return {
    label: `conv_transpose2d N${N} ${H}x${W}x${IC} -> ${Ho}x${Wo}x${OC} k${K} s${s} p${p} ldx${ldx} ldy${ldy}${bias ? ' bias' : ''}`,
    tensors, grads, outputs: { y: 'dy' },
    forward: (k, r, t) => {
      const sc = scratchFor(k, t, bound, N, Ho, Wo, OC, IC, K, s, p);
      pick(k, r, 'view_zero')(t.y, P, OC, ldy);
      pick(k, r, 'conv2d_backward_input')(t.y, t.x, t.w, sc, N, Ho, Wo, OC, IC, K, K, s, p, ldy, ldx);
      if (bias) pick(k, r, 'bias_add_forward')(t.y, t.b, P, OC, ldy);
      clearScratch(k, r, t, bound);
    },
    backward: (k, r, t) => {
      const sc = scratchFor(k, t, bound, N, Ho, Wo, OC, IC, K, s, p);
      pick(k, r, 'conv2d_forward_acc')(t.dx, t.dy, t.w, sc, N, Ho, Wo, OC, IC, K, K, s, p, ldx, ldy);
      clearScratch(k, r, t, bound);
      pick(k, r, 'conv2d_backward_weight')(t.dw, 0, t.x, t.dy, sc, N, Ho, Wo, OC, IC, K, K, s, p, ldx, ldy);
      clearScratch(k, r, t, bound);
      if (bias) pick(k, r, 'bias_backward')(t.db, t.dy, P, OC, ldy);
    },
  };
}

// Linear: x [N][IN] (row stride ldx) -> y [N][OUT] (row stride ldy), w [IN][OUT]: a 1x1 conv on 1x1 images.
function linearCase(c: (typeof LINEAR_CASES)[number]): OpCase {
  const { N, IN, OUT } = c;
  const ldx = c.ldx ?? IN, ldy = c.ldy ?? OUT, bias = c.bias ?? false;
  const bound = scratchBound(N, 1, 1, IN, OUT, 1, 1, 0);
  const tensors: OpCase['tensors'] = {
    x: { size: N * ldx }, w: { size: IN * OUT }, y: { size: N * ldy }, dx: { size: N * ldx }, dw: { size: IN * OUT }, dy: { size: N * ldy },
  };
  const grads: Record<string, string> = { x: 'dx', w: 'dw' };
  if (bias) { tensors.b = { size: OUT }; tensors.db = { size: OUT }; grads.b = 'db'; }
  tensors.scratch = { size: bound, init: 'zero' };
  tensors.guard = { size: 64 };
  return {
    label: `linear N${N} ${IN} -> ${OUT} ldx${ldx} ldy${ldy}${bias ? ' bias' : ''}`,
    tensors, grads, outputs: { y: 'dy' },
    forward: (k, r, t) => {
      const sc = scratchFor(k, t, bound, N, 1, 1, IN, OUT, 1, 1, 0);
      pick(k, r, 'conv2d_forward')(t.y, t.x, t.w, bias ? t.b : 0, sc, N, 1, 1, IN, OUT, 1, 1, 1, 0, ldy, ldx);
      clearScratch(k, r, t, bound);
    },
    backward: (k, r, t) => {
      const sc = scratchFor(k, t, bound, N, 1, 1, IN, OUT, 1, 1, 0);
      pick(k, r, 'conv2d_backward_input')(t.dx, t.dy, t.w, sc, N, 1, 1, IN, OUT, 1, 1, 1, 0, ldx, ldy);
      clearScratch(k, r, t, bound);
      pick(k, r, 'conv2d_backward_weight')(t.dw, bias ? t.db : 0, t.dy, t.x, sc, N, 1, 1, IN, OUT, 1, 1, 1, 0, ldy, ldx);
      clearScratch(k, r, t, bound);
    },
  };
}

export const convOps = {
  conv2d: {
    family: 'conv',
    kernels: ['conv2d_forward', 'conv2d_backward_input', 'conv2d_backward_weight'],
    cases: () => CONV_CASES.map(convCase),
    ...linearTol,
  },
  conv_transpose2d: {
    family: 'conv',
    kernels: ['view_zero', 'conv2d_backward_input', 'bias_add_forward', 'conv2d_forward_acc', 'conv2d_backward_weight', 'bias_backward'],
    cases: () => DECONV_CASES.map(deconvCase),
    ...linearTol,
  },
  // the forward on weights packed once (inference at load), conv2d's backward passes
  conv2d_packed: {
    family: 'conv',
    kernels: ['conv2d_pack', 'conv2d_forward_packed', 'conv2d_backward_input', 'conv2d_backward_weight'],
    cases: () => CONV_PACKED_CASES.map(convPackedCase),
    ...linearTol,
  },
  linear: {
    family: 'conv',
    kernels: ['conv2d_forward', 'conv2d_backward_input', 'conv2d_backward_weight'],
    cases: () => LINEAR_CASES.map(linearCase),
    ...linearTol,
  },
} satisfies Record<string, OpSpec>;
