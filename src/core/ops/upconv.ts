// Op-table entry for the fused nearest-upsample x2 + 3x3 stride-1 pad-1 conv (assembly/upconv.ts):
// x (N, H, W, C) pixel stride ldx -> y (N, 2H, 2W, OC) pixel stride ldy, weight HWIO [3][3][C][OC], bias [OC].
// The SIMD kernels run the dual 4x4 stride-2 conv of conv2d.ts on derived weights; the reference twins run
// the 3x3 conv on the upsampled image read in place. Like the conv cases: a scratch buffer from a TS bound
// (checked against upconv_scratch_size) followed by a guard tensor, cleared after the SIMD run.
import type { Kernels } from '../kernels.gen.js';
import { pick, type OpCase, type OpSpec, type Ptrs } from '../op-spec.js';
import { scratchBound } from './conv.js';

/** `small`: weights drawn at PyTorch's init scale (U(+-1/sqrt(9C))) instead of N(0, 1), for K = 9*OC in the
 * thousands where f32 sums of unit-scale terms would differ from the reference by more than the tolerance. */
export interface UpconvShape { N: number; H: number; W: number; C: number; OC: number; ldx?: number; ldy?: number; bias?: boolean; small?: boolean }

// 1x1 and 2x2 inputs (every tap at a border), odd and non-square sizes, channels 1, 3, 4, 5, 64 and tails of
// 4 and 8, batch 1 and 2, channel-slice input and output; C >= 16 runs the indirect GEMM paths, C < 16 im2col,
// <= 4 channels the narrow dot-product kernels, enough pixels (> 64 per phase) the packed-panel mode.
export const UPCONV_CASES: UpconvShape[] = [
  // small images (N*H*W <= 8): upsample into scratch + the direct conv
  { N: 1, H: 1, W: 1, C: 3, OC: 4, bias: true },
  { N: 2, H: 1, W: 1, C: 20, OC: 13 },
  { N: 1, H: 2, W: 2, C: 5, OC: 9, ldx: 8, ldy: 12, bias: true },
  { N: 1, H: 2, W: 2, C: 64, OC: 64, bias: true },
  { N: 1, H: 1, W: 3, C: 17, OC: 8 },
  { N: 1, H: 2, W: 3, C: 4, OC: 1, bias: true },
  // the fused path, on the same edge sizes (1x1 and 2x2 images in a batch past 8 pixels)
  { N: 33, H: 1, W: 1, C: 20, OC: 17, ldx: 21, bias: true },
  { N: 9, H: 2, W: 2, C: 5, OC: 4, ldy: 6 },
  { N: 17, H: 1, W: 2, C: 64, OC: 3 },
  { N: 4, H: 3, W: 3, C: 3, OC: 20, bias: true },
  { N: 3, H: 5, W: 3, C: 1, OC: 5, ldy: 7 },
  { N: 3, H: 4, W: 4, C: 64, OC: 3, bias: true },
  { N: 4, H: 3, W: 3, C: 3, OC: 64, ldx: 5 },
  { N: 3, H: 3, W: 5, C: 4, OC: 1, bias: true },
  { N: 2, H: 7, W: 9, C: 20, OC: 12, ldx: 24, bias: true },
  { N: 2, H: 6, W: 5, C: 33, OC: 17, ldy: 20 },
  // backward-input, and the forward, in two row chunks (243 pixels > 65536 / 300)
  { N: 3, H: 9, W: 9, C: 2, OC: 300, small: true },
  { N: 3, H: 9, W: 9, C: 300, OC: 5, small: true },
];

/** The forward's kernels: 'phases' upconv_forward; 'packed' packs w into wd (upconv_pack, compared SIMD vs
 * reference as a saved tensor) and runs upconv_forward_packed on it; 'split' upconv_split_forward (the taps split by parity, EE/EP/PE/PP by
 * F(2, 2), assembly/winograd_split.ts); 'split_packed' upconv_split_pack into wd + upconv_split_forward_packed;
 * 'parts' upconv_parts_forward (the same parts on w's own taps, assembly/upconv_parts.ts); 'split4_packed' split4_pack into
 * wd + upconv_split4_forward_packed (the E parts by F(4, 2), assembly/winograd_split4.ts: inference); 'taps_packed'
 * upconv_taps_pack into wd + upconv_taps_forward_packed (one GEMM per tap over the x pixels, assembly/upconv_taps.ts:
 * inference on tiny images).
 * The backward passes are upconv.ts's for 'phases', 'packed' and 'parts', winograd_split.ts's for the split cases. */
type UpconvForward = 'phases' | 'packed' | 'split' | 'split_packed' | 'parts' | 'split4_packed' | 'taps_packed';
function upconvCase(sh: UpconvShape, fwd: UpconvForward = 'phases'): OpCase {
  const packed = fwd === 'packed', split4 = fwd === 'split4_packed', splitPacked = fwd === 'split_packed', split = fwd === 'split' || splitPacked || split4;
  const tapsPacked = fwd === 'taps_packed';
  const { N, H, W, C, OC } = sh;
  const ldx = sh.ldx ?? C, ldy = sh.ldy ?? OC, bias = sh.bias ?? false;
  const splitTiles = N * (Math.floor(H / 2) + 1) * (Math.floor(W / 2) + 1);
  const splitIn = N * Math.ceil(H / 2) * Math.ceil(W / 2);
  const splitBound = 1024 + 16 * C * (OC + 8) + Math.min(splitTiles, 256) * (17 * (C + 4) + 25 * (OC + 4) + 80) + 16 * (C + OC)
    + N * (2 * H + 1) * (2 * W + 1) * OC + 16 * OC * (C + 8) + Math.min(splitIn, 256) * (17 * (OC + 4) + 25 * (C + 4) + 80)
    + 16 * C * OC + Math.min(splitTiles, 256) * (17 * (C + 4) + 4 * (OC + 4) + 4 * (C + 4) + 4 * (OC + 8) + 40);
  const partsBound = 64 + C + Math.min(256, C) * (OC + 8) + 4 * (N * (H + 1) * (W + 1) * OC + 16) + 2 * (N * (H + 1) * (W + 1) + 16);
  const split4Bound = 2048 + 2 * (C + OC) + 81 * (Math.min(N * (Math.floor(H / 4) + 1) * (Math.floor(W / 4) + 1), 256) * (C + OC + 11) + 64);
  const tapsBound = 64 + C + 9 * N * H * W * (OC + 4) + 2 * (N * H * W + 16);
  const bound = Math.max(splitBound, partsBound, split4Bound, tapsBound, 16 * (C * OC + 16) + 4096 + scratchBound(N, 2 * H, 2 * W, OC, C, 4, 2, 1),
    N * 4 * H * W * C + 16 + scratchBound(N, 2 * H, 2 * W, C, OC, 3, 1, 1));
  const X = N * H * W * ldx, Y = N * 4 * H * W * ldy, Wn = 9 * C * OC;
  const tensors: OpCase['tensors'] = {
    x: { size: X }, w: { size: Wn, init: sh.small ? (_i, rnd) => (2 * rnd() - 1) / Math.sqrt(9 * C) : 'randn' }, y: { size: Y }, dx: { size: X }, dw: { size: Wn }, dy: { size: Y },
  };
  const grads: Record<string, string> = { x: 'dx', w: 'dw' };
  if (bias) { tensors.b = { size: OC }; tensors.db = { size: OC }; grads.b = 'db'; }
  if (packed) tensors.wd = { size: OC > 4 ? 16 * C * Math.ceil(OC / 8) * 8 : 16 * C * OC, init: 'zero' };
  if (splitPacked) tensors.wd = { size: 16 * C * Math.ceil(OC / 8) * 8, init: 'zero' };
  if (split4) tensors.wd = { size: 36 * C * Math.ceil(OC / 8) * 8, init: 'zero' };
  if (tapsPacked) tensors.wd = { size: 9 * C * Math.ceil(OC / 8) * 8, init: 'zero' };
  tensors.scratch = { size: bound, init: 'zero' };
  tensors.guard = { size: 64 };
  const scratch = (k: Kernels, t: Ptrs): number => {
    if (packed && k.upconv_packed_size(C, OC) !== tensors.wd.size) throw new Error(`upconv: packed size ${k.upconv_packed_size(C, OC)} floats, the test has ${tensors.wd.size}`);
    if (splitPacked && k.upconv_split_packed_size(C, OC) !== tensors.wd.size) throw new Error(`upconv: split weights ${k.upconv_split_packed_size(C, OC)} floats, the test has ${tensors.wd.size}`);
    if (split4 && k.split4_packed_size(C, OC) !== tensors.wd.size) throw new Error(`upconv: F(4, 2) split weights ${k.split4_packed_size(C, OC)} floats, the test has ${tensors.wd.size}`);
    if (tapsPacked && k.upconv_taps_packed_size(C, OC) !== tensors.wd.size) throw new Error(`upconv: packed taps ${k.upconv_taps_packed_size(C, OC)} floats, the test has ${tensors.wd.size}`);
    const need = Math.max(k.upconv_scratch_size(N, H, W, C, OC), k.upconv_packed_scratch_size(N, H, W, C, OC),
      k.upconv_split_scratch_size(N, H, W, C, OC), k.upconv_parts_forward_scratch_size(N, H, W, C, OC), k.upconv_split4_packed_scratch_size(N, H, W, C, OC),
      k.upconv_taps_scratch_size(N, H, W, C, OC));
    if (need > bound) throw new Error(`upconv: scratch ${need} floats exceeds the test's bound ${bound}`);
    return t.scratch;
  };
  const clear = (k: Kernels, r: boolean, t: Ptrs) => { if (!r) k.view_zero(t.scratch, 1, bound, bound); };
  return {
    label: `upsample_conv2d${fwd === 'phases' ? '' : `_${fwd}`} N${N} ${H}x${W}x${C} -> ${2 * H}x${2 * W}x${OC} ldx${ldx} ldy${ldy}${bias ? ' bias' : ''}`,
    tensors, grads, outputs: { y: 'dy' }, saved: packed || splitPacked || split4 || tapsPacked ? ['wd'] : [],
    forward: (k, r, t) => {
      if (packed) {
        pick(k, r, 'upconv_pack')(t.wd, t.w, scratch(k, t), C, OC);
        clear(k, r, t);
        pick(k, r, 'upconv_forward_packed')(t.y, t.x, t.w, t.wd, bias ? t.b : 0, scratch(k, t), N, H, W, C, OC, ldy, ldx);
      } else if (splitPacked) {
        pick(k, r, 'upconv_split_pack')(t.wd, t.w, scratch(k, t), C, OC, OC, 0);
        clear(k, r, t);
        pick(k, r, 'upconv_split_forward_packed')(t.y, t.x, t.wd, bias ? t.b : 0, scratch(k, t), N, H, W, C, OC, ldy, ldx);
      } else if (split4) {
        pick(k, r, 'split4_pack')(t.wd, t.w, scratch(k, t), C, OC, OC, 0);
        clear(k, r, t);
        pick(k, r, 'upconv_split4_forward_packed')(t.y, t.x, t.wd, bias ? t.b : 0, scratch(k, t), N, H, W, C, OC, ldy, ldx);
      } else if (tapsPacked) {
        pick(k, r, 'upconv_taps_pack')(t.wd, t.w, C, OC);
        pick(k, r, 'upconv_taps_forward_packed')(t.y, t.x, t.wd, bias ? t.b : 0, scratch(k, t), N, H, W, C, OC, ldy, ldx);
      } else if (fwd === 'parts') {
        pick(k, r, 'upconv_parts_forward')(t.y, t.x, t.w, bias ? t.b : 0, scratch(k, t), N, H, W, C, OC, ldy, ldx);
      } else if (fwd === 'split') {
        pick(k, r, 'upconv_split_forward')(t.y, t.x, t.w, bias ? t.b : 0, scratch(k, t), N, H, W, C, OC, ldy, ldx);
      } else {
        pick(k, r, 'upconv_forward')(t.y, t.x, t.w, bias ? t.b : 0, scratch(k, t), N, H, W, C, OC, ldy, ldx);
      }
      clear(k, r, t);
    },
    backward: (k, r, t) => {
      pick(k, r, split ? 'upconv_split_backward_input' : 'upconv_backward_input')(t.dx, t.dy, t.w, scratch(k, t), N, H, W, C, OC, ldx, ldy);
      clear(k, r, t);
      pick(k, r, split ? 'upconv_split_backward_weight' : 'upconv_backward_weight')(t.dw, bias ? t.db : 0, t.dy, t.x, scratch(k, t), N, H, W, C, OC, ldy, ldx);
      clear(k, r, t);
    },
  };
}

export const upconvOps = {
  upsample_conv2d: {
    family: 'conv',
    kernels: ['upconv_forward', 'upconv_backward_input', 'upconv_backward_weight'],
    cases: () => UPCONV_CASES.map((sh) => upconvCase(sh)),
    tol: { rtol: 1e-4, atol: 1e-4 },
    fd: { eps: 5e-2, rtol: 5e-3, atol: 3e-3 },
  },
  // the forward on weights packed once (inference at load); every other case
  upsample_conv2d_packed: {
    family: 'conv',
    kernels: ['upconv_pack', 'upconv_forward_packed', 'upconv_backward_input', 'upconv_backward_weight'],
    cases: () => UPCONV_CASES.filter((_, i) => i % 2 === 0).map((sh) => upconvCase(sh, 'packed')),
    tol: { rtol: 1e-4, atol: 1e-4 },
    fd: { eps: 5e-2, rtol: 5e-3, atol: 3e-3 },
  },
  // the forward by the parity parts on w's own taps (training at few x pixels), every case; upconv.ts's backward
  upsample_conv2d_parts: {
    family: 'conv',
    kernels: ['upconv_parts_forward', 'upconv_backward_input', 'upconv_backward_weight'],
    cases: () => UPCONV_CASES.map((sh) => upconvCase(sh, 'parts')),
    tol: { rtol: 1e-4, atol: 1e-4 },
    fd: { eps: 5e-2, rtol: 5e-3, atol: 3e-3 },
  },
  // the three passes with the taps split by parity (training: weights transformed per call), on every
  // case but the two 300-channel ones (the matrix-formula reference takes a minute on them; test/winograd.test.ts runs
  // larger shapes against the phases), half with the forward on weights transformed per call and half once (inference)
  upsample_conv2d_split: {
    family: 'conv',
    kernels: ['upconv_split_forward', 'upconv_split_backward_input', 'upconv_split_backward_weight'],
    cases: () => UPCONV_CASES.filter((sh, i) => i % 2 === 1 && !sh.small).map((sh) => upconvCase(sh, 'split')),
    tol: { rtol: 1e-4, atol: 1e-4 },
    fd: { eps: 5e-2, rtol: 5e-3, atol: 3e-3 },
  },
  upsample_conv2d_split_packed: {
    family: 'conv',
    kernels: ['upconv_split_pack', 'upconv_split_forward_packed', 'upconv_split_backward_input', 'upconv_split_backward_weight'],
    cases: () => UPCONV_CASES.filter((sh, i) => i % 2 === 0 && !sh.small).map((sh) => upconvCase(sh, 'split_packed')),
    tol: { rtol: 1e-4, atol: 1e-4 },
    fd: { eps: 5e-2, rtol: 5e-3, atol: 3e-3 },
  },
  // the forward with the E parts by F(4, 2) on weights transformed once (inference on large images), every case but
  // the 300-channel ones; the split backward passes
  upsample_conv2d_split4_packed: {
    family: 'conv',
    kernels: ['split4_pack', 'upconv_split4_forward_packed', 'upconv_split_backward_input', 'upconv_split_backward_weight'],
    cases: () => UPCONV_CASES.filter((sh) => !sh.small).map((sh) => upconvCase(sh, 'split4_packed')),
    tol: { rtol: 1e-4, atol: 1e-4 },
    fd: { eps: 5e-2, rtol: 5e-3, atol: 3e-3 },
  },
  // the forward by one GEMM per tap over the x pixels on the taps packed once (inference on tiny images), every
  // case; upconv.ts's backward
  upsample_conv2d_taps_packed: {
    family: 'conv',
    kernels: ['upconv_taps_pack', 'upconv_taps_forward_packed', 'upconv_backward_input', 'upconv_backward_weight'],
    cases: () => UPCONV_CASES.map((sh) => upconvCase(sh, 'taps_packed')),
    tol: { rtol: 1e-4, atol: 1e-4 },
    fd: { eps: 5e-2, rtol: 5e-3, atol: 3e-3 },
  },
} satisfies Record<string, OpSpec>;
