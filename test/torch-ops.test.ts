// Every kernel op against PyTorch: the committed fixtures of test/fixtures/gen_ops.py (PyTorch layouts, f64
// results stored as F32) are converted to our layouts (NCHW -> NHWC, OIHW -> HWIO, ConvTranspose IOHW -> HWIO
// of the dual conv, Linear [out,in] -> [in,out]), run through the SIMD kernels, converted back and compared:
// forward |a-b| <= 1e-5*scale + 1e-4*|b|, gradients <= 1e-4*scale + 1e-3*|b| (scale = max |b| of the tensor).
// Forward outputs start as garbage (forward overwrites), gradient buffers start non-zero (backward accumulates).
// NHWC tensors run twice on the simd build: dense (ld = C) and as channel views (ld = C+3, padding must stay
// untouched); the relaxed build runs dense. A fixture whose kernel is not exported fails, naming the export.
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, test } from 'vitest';
import { loadCore } from '../src/core/load-node.js';
import type { Kernels } from '../src/core/kernels.gen.js';
import type { Core } from '../src/core/loader.js';
import { parseSafetensors, toF32, type Safetensors } from '../src/core/safetensors.js';

type Fn = (...args: number[]) => number;
type K = Record<string, Fn>;
type Params = Record<string, number | boolean | string>;

// ulp: within 2 f32 ulp (Adam against torch's own float32 run)
const TOL = { fwd: { rtol: 1e-4, atol: 1e-5 }, grad: { rtol: 1e-3, atol: 1e-4 }, ulp: { rtol: 2 ** -22, atol: 0 } } as const;
type Kind = keyof typeof TOL;

// ---------------------------------------------------------------- fixtures and layouts

function fixture(name: string): Safetensors {
  return parseSafetensors(new Uint8Array(readFileSync(new URL(`./fixtures/torch/${name}.safetensors`, import.meta.url))));
}
function caseList(fx: Safetensors): [string, Params][] {
  return Object.entries(fx.metadata)
    .filter(([k]) => k !== '__about__')
    .map(([k, v]) => [k, JSON.parse(v) as Params]);
}
function t(fx: Safetensors, c: string, name: string): Float32Array {
  const v = fx.tensors.get(`${c}/${name}`);
  if (!v) throw new Error(`fixture: tensor ${c}/${name} missing`);
  return toF32(v, `${c}/${name}`).slice();
}

/** [N][C][H][W] -> [N][H][W][C] */
function nchwToNhwc(a: Float32Array, N: number, C: number, H: number, W: number): Float32Array {
  const o = new Float32Array(a.length);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let p = 0; p < H * W; p++) o[(n * H * W + p) * C + c] = a[(n * C + c) * H * W + p];
  return o;
}
function nhwcToNchw(a: Float32Array, N: number, C: number, H: number, W: number): Float32Array {
  const o = new Float32Array(a.length);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let p = 0; p < H * W; p++) o[(n * C + c) * H * W + p] = a[(n * H * W + p) * C + c];
  return o;
}
/** conv weight [O][I][KH][KW] -> [KH][KW][I][O]. A ConvTranspose2d weight [IC_t][OC_t][KH][KW] read with
 *  O = IC_t, I = OC_t is the weight of its dual conv (OC_t -> IC_t), since conv_transpose2d is the adjoint
 *  of conv2d with the same tensor; so it becomes [KH][KW][OC_t][IC_t], no flip. */
function oihwToHwio(w: Float32Array, O: number, I: number, KH: number, KW: number): Float32Array {
  const o = new Float32Array(w.length);
  for (let a = 0; a < O; a++) for (let b = 0; b < I; b++) for (let h = 0; h < KH; h++) for (let x = 0; x < KW; x++) {
    o[((h * KW + x) * I + b) * O + a] = w[((a * I + b) * KH + h) * KW + x];
  }
  return o;
}
function hwioToOihw(w: Float32Array, O: number, I: number, KH: number, KW: number): Float32Array {
  const o = new Float32Array(w.length);
  for (let a = 0; a < O; a++) for (let b = 0; b < I; b++) for (let h = 0; h < KH; h++) for (let x = 0; x < KW; x++) {
    o[((a * I + b) * KH + h) * KW + x] = w[((h * KW + x) * I + b) * O + a];
  }
  return o;
}
/** [R][C] -> [C][R] (Linear [out][in] <-> our [in][out]) */
function transpose(a: Float32Array, R: number, C: number): Float32Array {
  const o = new Float32Array(a.length);
  for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) o[c * R + r] = a[r * C + c];
  return o;
}

// ---------------------------------------------------------------- wasm buffers

const SENTINEL = -7777.25; // padding channels of strided views: must come back bit-identical
const GARBAGE = 1234.5; // forward outputs start as this: forward overwrites
/** What gradient buffers hold before backward (exact in f32, so subtracting it back costs at most 1 ulp of 3/8). */
const base = (i: number) => ((i % 7) - 3) / 8;

class Mem {
  readonly k: Kernels; // typed: a changed kernel arity fails the typecheck here
  constructor(readonly core: Core, readonly pad: number) {
    this.k = core.k;
  }
  /** NHWC [P][C] data into a view with ld = C + pad (padding = SENTINEL). */
  view(data: Float32Array | null, P: number, C: number): View {
    const ld = C + this.pad;
    const ptr = this.core.arena.alloc(Math.max(1, P * ld));
    const m = this.core.f32(ptr, P * ld);
    m.fill(SENTINEL);
    for (let p = 0; p < P; p++) for (let c = 0; c < C; c++) m[p * ld + c] = data ? data[p * C + c] : 0;
    return { ptr, P, C, ld };
  }
  /** Dense channels of a view; throws if a padding value changed. */
  read(v: View, what: string): Float32Array {
    const m = this.core.f32(v.ptr, v.P * v.ld);
    const o = new Float32Array(v.P * v.C);
    for (let p = 0; p < v.P; p++) {
      for (let c = 0; c < v.C; c++) o[p * v.C + c] = m[p * v.ld + c];
      for (let c = v.C; c < v.ld; c++) {
        if (!Object.is(m[p * v.ld + c], SENTINEL)) {
          throw new Error(`${what}: wrote outside its channel view (pixel ${p}, channel ${c} of ld ${v.ld}: ${m[p * v.ld + c]})`);
        }
      }
    }
    return o;
  }
  /** A forward output view, its channels pre-filled with GARBAGE: the kernel must overwrite them. */
  out(P: number, C: number): View {
    const v = this.view(null, P, C);
    const m = this.core.f32(v.ptr, P * v.ld);
    for (let p = 0; p < P; p++) m.fill(GARBAGE, p * v.ld, p * v.ld + C);
    return v;
  }
  /** A gradient view pre-filled with base(i): backward kernels accumulate, readGrad subtracts it again. */
  grad(P: number, C: number): View {
    return this.view(Float32Array.from({ length: P * C }, (_, i) => base(i)), P, C);
  }
  readGrad(v: View, what: string): Float32Array {
    return this.read(v, what).map((g, i) => g - base(i));
  }
  flatGrad(n: number): number {
    return this.flat(Float32Array.from({ length: n }, (_, i) => base(i)), n);
  }
  getGrad(ptr: number, n: number): Float32Array {
    return this.get(ptr, n).map((g, i) => g - base(i));
  }
  /** A flat f32 buffer (parameters, flat losses); null data = zeros. */
  flat(data: Float32Array | null, n: number): number {
    const ptr = this.core.arena.alloc(Math.max(1, n));
    const m = this.core.f32(ptr, Math.max(1, n));
    if (data) m.set(data);
    else m.fill(0);
    return ptr;
  }
  get(ptr: number, n: number): Float32Array {
    return this.core.f32(ptr, n).slice();
  }
}
interface View { ptr: number; P: number; C: number; ld: number }

// ---------------------------------------------------------------- comparison and the report

/** slack: an extra per-element absolute allowance */
interface Cmp { name: string; got: Float32Array; want: Float32Array; kind: Kind; slack?: Float32Array }
/** Per op: worst max|a-b|/scale and worst (|a-b| - atol)/(rtol |b|) ratio seen (<= 1 passes). */
const report = new Map<string, Record<Kind | 'ratio', number>>();

function compare(op: string, label: string, cmps: Cmp[]): string[] {
  const errs: string[] = [];
  const r = report.get(op) ?? { fwd: 0, grad: 0, ulp: 0, ratio: 0 };
  for (const { name, got, want, kind, slack } of cmps) {
    if (got.length !== want.length) {
      errs.push(`${label} ${name}: length ${got.length}, expected ${want.length}`);
      continue;
    }
    const { rtol, atol: aFrac } = TOL[kind];
    let scale = 0;
    for (const v of want) scale = Math.max(scale, Math.abs(v));
    const atol = aFrac * scale;
    let worst = -1, worstRatio = 0, maxAbs = 0;
    for (let i = 0; i < want.length; i++) {
      const d = Math.abs(got[i] - want[i]);
      const allowed = atol + rtol * Math.abs(want[i]) + (slack ? slack[i] : 0);
      const ratio = Number.isNaN(d) ? Infinity : allowed > 0 ? d / allowed : d > 0 ? Infinity : 0;
      maxAbs = Math.max(maxAbs, Number.isNaN(d) ? Infinity : d);
      if (ratio > worstRatio) [worstRatio, worst] = [ratio, i];
    }
    r[kind] = Math.max(r[kind], maxAbs / Math.max(scale, 1e-30));
    r.ratio = Math.max(r.ratio, worstRatio);
    if (worstRatio > 1) {
      errs.push(`${label} ${name} [${kind}]: flat index ${worst} (PyTorch layout) got ${got[worst]}, expected ${want[worst]} ` +
        `(|diff| ${Math.abs(got[worst] - want[worst]).toExponential(2)}, tensor scale ${scale.toExponential(2)}, ` +
        `allowed ${(atol + rtol * Math.abs(want[worst]) + (slack ? slack[worst] : 0)).toExponential(2)})`);
    }
  }
  report.set(op, r);
  return errs;
}

// ---------------------------------------------------------------- ops

interface Op {
  file: string;
  /** exports the op needs (a missing one skips the op) */
  needs(p: Params): string[];
  /** runs one case and returns the comparisons (in PyTorch layouts) */
  run(m: Mem, fx: Safetensors, c: string, p: Params): Cmp[];
}
const num = (p: Params, k: string) => p[k] as number;

/** The buffers of a conv2d fixture case, in our layouts (NHWC views, HWIO weights), for `convFixture`. */
interface ConvIO {
  N: number; H: number; W: number; C: number; OC: number; K: number; stride: number; pad: number;
  x: View; y: View; dy: View; dx: View; w: number; dw: number; b: number; db: number;
}

/** One conv2d fixture case through a kernel family: `passes` runs its forward, backward-input and
 * backward-weight on the case's buffers; y, dx, dw (and db) are compared with PyTorch's. */
function convFixture(m: Mem, fx: Safetensors, c: string, p: Params, passes: (io: ConvIO) => void): Cmp[] {
  const [N, H, W, C, OC, K, stride, pad, OH, OW] = ['N', 'H', 'W', 'C', 'OC', 'K', 'stride', 'pad', 'OH', 'OW'].map((k) => num(p, k));
  const bias = p.bias as boolean;
  const x = m.view(nchwToNhwc(t(fx, c, 'x'), N, C, H, W), N * H * W, C);
  const y = m.out(N * OH * OW, OC);
  const dy = m.view(nchwToNhwc(t(fx, c, 'dy'), N, OC, OH, OW), N * OH * OW, OC);
  const dx = m.grad(N * H * W, C);
  const wn = K * K * C * OC;
  const w = m.flat(oihwToHwio(t(fx, c, 'w'), OC, C, K, K), wn);
  const dw = m.flatGrad(wn);
  const b = bias ? m.flat(t(fx, c, 'b'), OC) : 0;
  const db = bias ? m.flatGrad(OC) : 0;
  passes({ N, H, W, C, OC, K, stride, pad, x, y, dy, dx, w, dw, b, db });
  const out: Cmp[] = [
    { name: 'y', kind: 'fwd', got: nhwcToNchw(m.read(y, 'y'), N, OC, OH, OW), want: t(fx, c, 'y') },
    { name: 'dx', kind: 'grad', got: nhwcToNchw(m.readGrad(dx, 'dx'), N, C, H, W), want: t(fx, c, 'dx') },
    { name: 'dw', kind: 'grad', got: hwioToOihw(m.getGrad(dw, wn), OC, C, K, K), want: t(fx, c, 'dw') },
  ];
  if (bias) out.push({ name: 'db', kind: 'grad', got: m.getGrad(db, OC), want: t(fx, c, 'db') });
  m.read(x, 'x');
  m.read(dy, 'dy');
  return out;
}

const conv2d: Op = {
  file: 'conv2d',
  needs: () => ['conv2d_scratch_size', 'conv2d_forward', 'conv2d_backward_input', 'conv2d_backward_weight'],
  run: (m, fx, c, p) =>
    convFixture(m, fx, c, p, ({ N, H, W, C, OC, K, stride: s, pad: pd, x, y, dy, dx, w, dw, b, db }) => {
      const k = m.k;
      const scratch = m.flat(null, k.conv2d_scratch_size(N, H, W, C, OC, K, K, s, pd));
      k.conv2d_forward(y.ptr, x.ptr, w, b, scratch, N, H, W, C, OC, K, K, s, pd, y.ld, x.ld);
      k.conv2d_backward_input(dx.ptr, dy.ptr, w, scratch, N, H, W, C, OC, K, K, s, pd, dx.ld, dy.ld);
      k.conv2d_backward_weight(dw, db, dy.ptr, x.ptr, scratch, N, H, W, C, OC, K, K, s, pd, dy.ld, x.ld);
    }),
};

// The conv2d fixtures' 3x3 stride-1 pad-1 cases through Winograd F(2x2, 3x3) (assembly/winograd.ts) and the
// 4x4 stride-2 pad-1 cases through F(2x2, 2x2) and F(4x4, 2x2) over the phases (assembly/winograd_s2.ts,
// winograd_s2f4.ts): the kernels conv layers
// of those shapes run where src/core/conv-dispatch.ts says so (other cases skipped below). The 3x3 stride-2 pad-1
// cases through the split taps (assembly/conv3s2_split.ts): forward on weights transformed per call and once,
// the direct backward-input, the split backward-weight.
function winogradConv2d(kn: 'winograd3' | 'winograd_s2' | 'winograd_s2f4'): Op {
  return {
    file: 'conv2d',
    needs: () => [`${kn}_scratch_size`, `${kn}_forward`, `${kn}_backward_input`, `${kn}_backward_weight`],
    run: (m, fx, c, p) =>
      convFixture(m, fx, c, p, ({ N, H, W, C, OC, x, y, dy, dx, w, dw, b, db }) => {
        const k = m.k as unknown as Record<string, (...a: number[]) => number>;
        const scratch = m.flat(null, k[`${kn}_scratch_size`](N, H, W, C, OC));
        k[`${kn}_forward`](y.ptr, x.ptr, w, b, scratch, N, H, W, C, OC, y.ld, x.ld);
        k[`${kn}_backward_input`](dx.ptr, dy.ptr, w, scratch, N, H, W, C, OC, dx.ld, dy.ld);
        k[`${kn}_backward_weight`](dw, db, dy.ptr, x.ptr, scratch, N, H, W, C, OC, dy.ld, x.ld);
      }),
  };
}

// ConvTranspose2d(C -> OC) as the dual conv (OC -> C, input OH x OW, output H x W, weight [K][K][OC][C]):
// forward = view_zero(y), conv2d_backward_input(y, x, w_dual) + bias_add; dx += conv2d_forward_acc(dy) of the
// dual; dw += conv2d_backward_weight of the dual with (dy_dual = x, x_dual = dy); db += bias_backward(dy).
const convTranspose2d: Op = {
  file: 'conv_transpose2d',
  needs: (p) => ['conv2d_scratch_size', 'view_zero', 'conv2d_forward_acc', 'conv2d_backward_input', 'conv2d_backward_weight',
    ...(p.bias ? ['bias_add_forward', 'bias_backward'] : [])],
  run(m, fx, c, p) {
    const [N, H, W, C, OC, K, s, pd, OH, OW] = ['N', 'H', 'W', 'C', 'OC', 'K', 'stride', 'pad', 'OH', 'OW'].map((k) => num(p, k));
    const bias = p.bias as boolean;
    expect(Math.floor((OH + 2 * pd - K) / s) + 1, 'dual conv output size').toBe(H);
    expect(Math.floor((OW + 2 * pd - K) / s) + 1, 'dual conv output size').toBe(W);
    const k = m.k;
    const x = m.view(nchwToNhwc(t(fx, c, 'x'), N, C, H, W), N * H * W, C);
    const y = m.out(N * OH * OW, OC);
    const dy = m.view(nchwToNhwc(t(fx, c, 'dy'), N, OC, OH, OW), N * OH * OW, OC);
    const dx = m.grad(N * H * W, C);
    const wn = K * K * C * OC;
    const w = m.flat(oihwToHwio(t(fx, c, 'w'), C, OC, K, K), wn); // IOHW read as the dual's OIHW
    const dw = m.flatGrad(wn);
    const b = bias ? m.flat(t(fx, c, 'b'), OC) : 0;
    const db = bias ? m.flatGrad(OC) : 0;
    const scratch = m.flat(null, k.conv2d_scratch_size(N, OH, OW, OC, C, K, K, s, pd));
    k.view_zero(y.ptr, N * OH * OW, OC, y.ld);
    k.conv2d_backward_input(y.ptr, x.ptr, w, scratch, N, OH, OW, OC, C, K, K, s, pd, y.ld, x.ld);
    if (bias) k.bias_add_forward(y.ptr, b, N * OH * OW, OC, y.ld);
    k.conv2d_forward_acc(dx.ptr, dy.ptr, w, scratch, N, OH, OW, OC, C, K, K, s, pd, dx.ld, dy.ld);
    k.conv2d_backward_weight(dw, 0, x.ptr, dy.ptr, scratch, N, OH, OW, OC, C, K, K, s, pd, x.ld, dy.ld);
    if (bias) k.bias_backward(db, dy.ptr, N * OH * OW, OC, dy.ld);
    const out: Cmp[] = [
      { name: 'y', kind: 'fwd', got: nhwcToNchw(m.read(y, 'y'), N, OC, OH, OW), want: t(fx, c, 'y') },
      { name: 'dx', kind: 'grad', got: nhwcToNchw(m.readGrad(dx, 'dx'), N, C, H, W), want: t(fx, c, 'dx') },
      { name: 'dw', kind: 'grad', got: hwioToOihw(m.getGrad(dw, wn), C, OC, K, K), want: t(fx, c, 'dw') },
    ];
    if (bias) out.push({ name: 'db', kind: 'grad', got: m.getGrad(db, OC), want: t(fx, c, 'db') });
    return out;
  },
};

// nn.Upsample(2, nearest) + Conv2d(C -> OC, 3x3, s1, p1) as the fused upconv kernels: x (N, H, W, C) ->
// y (N, 2H, 2W, OC), weight OIHW -> HWIO like conv2d; no upsampled tensor anywhere. `split`: the forward with the
// taps split by parity (assembly/winograd_split.ts), as layers of winning shapes run it; `split4`: with F(4, 2) on the
// E parts on weights transformed once (split4_pack, assembly/winograd_split4.ts), as inference runs large layers;
// `taps`: one GEMM per tap on weights packed once (upconv_taps_pack, assembly/upconv_taps.ts), as inference runs tiny
// images.
const upsampleConv2d = (fwd: 'upconv_forward' | 'upconv_split_forward' | 'upconv_parts_forward' | 'upconv_split4_forward_packed' | 'upconv_taps_forward_packed'): Op => ({
  file: 'upsample_conv2d',
  needs: () => ['upconv_scratch_size', fwd, ...(fwd === 'upconv_split4_forward_packed' ? ['split4_pack' as const] : fwd === 'upconv_taps_forward_packed' ? ['upconv_taps_pack' as const] : []),
    'upconv_backward_input', 'upconv_backward_weight'],
  run(m, fx, c, p) {
    const [N, H, W, C, OC, OH, OW] = ['N', 'H', 'W', 'C', 'OC', 'OH', 'OW'].map((k) => num(p, k));
    expect([OH, OW], 'upsampled size').toEqual([2 * H, 2 * W]);
    const bias = p.bias as boolean;
    const k = m.k;
    const x = m.view(nchwToNhwc(t(fx, c, 'x'), N, C, H, W), N * H * W, C);
    const y = m.out(N * OH * OW, OC);
    const dy = m.view(nchwToNhwc(t(fx, c, 'dy'), N, OC, OH, OW), N * OH * OW, OC);
    const dx = m.grad(N * H * W, C);
    const w = m.flat(oihwToHwio(t(fx, c, 'w'), OC, C, 3, 3), 9 * C * OC);
    const dw = m.flatGrad(9 * C * OC);
    const b = bias ? m.flat(t(fx, c, 'b'), OC) : 0;
    const db = bias ? m.flatGrad(OC) : 0;
    const scratch = m.flat(null, Math.max(k.upconv_scratch_size(N, H, W, C, OC), k.upconv_split_forward_scratch_size(N, H, W, C, OC),
      k.upconv_parts_forward_scratch_size(N, H, W, C, OC), k.upconv_split4_packed_scratch_size(N, H, W, C, OC), k.upconv_taps_scratch_size(N, H, W, C, OC)));
    if (fwd === 'upconv_taps_forward_packed') {
      const wp = m.flat(null, k.upconv_taps_packed_size(C, OC));
      k.upconv_taps_pack(wp, w, C, OC);
      k.upconv_taps_forward_packed(y.ptr, x.ptr, wp, b, scratch, N, H, W, C, OC, y.ld, x.ld);
    } else if (fwd === 'upconv_split4_forward_packed') {
      const U = m.flat(null, k.split4_packed_size(C, OC));
      k.split4_pack(U, w, scratch, C, OC, OC, 0);
      k.upconv_split4_forward_packed(y.ptr, x.ptr, U, b, scratch, N, H, W, C, OC, y.ld, x.ld);
    } else k[fwd](y.ptr, x.ptr, w, b, scratch, N, H, W, C, OC, y.ld, x.ld);
    k.upconv_backward_input(dx.ptr, dy.ptr, w, scratch, N, H, W, C, OC, dx.ld, dy.ld);
    k.upconv_backward_weight(dw, db, dy.ptr, x.ptr, scratch, N, H, W, C, OC, dy.ld, x.ld);
    const out: Cmp[] = [
      { name: 'y', kind: 'fwd', got: nhwcToNchw(m.read(y, 'y'), N, OC, OH, OW), want: t(fx, c, 'y') },
      { name: 'dx', kind: 'grad', got: nhwcToNchw(m.readGrad(dx, 'dx'), N, C, H, W), want: t(fx, c, 'dx') },
      { name: 'dw', kind: 'grad', got: hwioToOihw(m.getGrad(dw, 9 * C * OC), OC, C, 3, 3), want: t(fx, c, 'dw') },
    ];
    if (bias) out.push({ name: 'db', kind: 'grad', got: m.getGrad(db, OC), want: t(fx, c, 'db') });
    m.read(x, 'x');
    m.read(dy, 'dy');
    return out;
  },
});

// Linear = 1x1 conv on N pixels of H = W = 1, weight [IN][OUT].
const linear: Op = {
  file: 'linear',
  needs: () => ['conv2d_scratch_size', 'conv2d_forward', 'conv2d_backward_input', 'conv2d_backward_weight'],
  run(m, fx, c, p) {
    const [N, IN, OUT] = ['N', 'IN', 'OUT'].map((k) => num(p, k));
    const bias = p.bias as boolean;
    const k = m.k;
    const x = m.view(t(fx, c, 'x'), N, IN);
    const y = m.out(N, OUT);
    const dy = m.view(t(fx, c, 'dy'), N, OUT);
    const dx = m.grad(N, IN);
    const w = m.flat(transpose(t(fx, c, 'w'), OUT, IN), IN * OUT);
    const dw = m.flatGrad(IN * OUT);
    const b = bias ? m.flat(t(fx, c, 'b'), OUT) : 0;
    const db = bias ? m.flatGrad(OUT) : 0;
    const scratch = m.flat(null, k.conv2d_scratch_size(N, 1, 1, IN, OUT, 1, 1, 1, 0));
    k.conv2d_forward(y.ptr, x.ptr, w, b, scratch, N, 1, 1, IN, OUT, 1, 1, 1, 0, y.ld, x.ld);
    k.conv2d_backward_input(dx.ptr, dy.ptr, w, scratch, N, 1, 1, IN, OUT, 1, 1, 1, 0, dx.ld, dy.ld);
    k.conv2d_backward_weight(dw, db, dy.ptr, x.ptr, scratch, N, 1, 1, IN, OUT, 1, 1, 1, 0, dy.ld, x.ld);
    const out: Cmp[] = [
      { name: 'y', kind: 'fwd', got: m.read(y, 'y'), want: t(fx, c, 'y') },
      { name: 'dx', kind: 'grad', got: m.readGrad(dx, 'dx'), want: t(fx, c, 'dx') },
      { name: 'dw', kind: 'grad', got: transpose(m.getGrad(dw, IN * OUT), IN, OUT), want: t(fx, c, 'dw') },
    ];
    if (bias) out.push({ name: 'db', kind: 'grad', got: m.getGrad(db, OUT), want: t(fx, c, 'db') });
    return out;
  },
};

// BatchNorm2d, two ways: the one-call kernels, and the sharded path (stats and backward sums accumulated over
// two halves of the batch, as data-parallel workers do, then finished once) when the case has N >= 2.
function batchNormRun(split: boolean): Op['run'] {
  return (m, fx, c, p) => {
    const [N, C, H, W, eps, mom] = ['N', 'C', 'H', 'W', 'eps', 'momentum'].map((k) => num(p, k));
    const training = p.training ? 1 : 0;
    const k = m.k;
    const P = N * H * W;
    const x = m.view(nchwToNhwc(t(fx, c, 'x'), N, C, H, W), P, C);
    const y = m.out(P, C);
    const dy = m.view(nchwToNhwc(t(fx, c, 'dy'), N, C, H, W), P, C);
    const dx = m.grad(P, C);
    const gamma = m.flat(t(fx, c, 'gamma'), C), beta = m.flat(t(fx, c, 'beta'), C);
    const dgamma = m.flatGrad(C), dbeta = m.flatGrad(C);
    const rm = m.flat(t(fx, c, 'running_mean'), C), rv = m.flat(t(fx, c, 'running_var'), C);
    const mean = m.flat(null, C), rstd = m.flat(null, C);
    const sums = m.flat(null, 4 * C); // f64[2C]
    if (!split) {
      k.batchnorm_forward(y.ptr, mean, rstd, rm, rv, sums, x.ptr, gamma, beta, eps, mom, training, P, C, y.ld, x.ld);
      m.core.f32(sums, 4 * C).fill(0);
      k.batchnorm_backward(dx.ptr, dgamma, dbeta, sums, dy.ptr, x.ptr, gamma, mean, rstd, training, P, C, dx.ld, dy.ld);
    } else {
      const P1 = Math.floor(N / 2) * H * W; // shard 0: the first N/2 images, shard 1: the rest
      const off = (v: View, p0: number) => v.ptr + 4 * p0 * v.ld;
      const shards: [number, number][] = [[0, P1], [P1, P - P1]];
      if (training) {
        for (const [p0, n] of shards) k.batchnorm_stats_partial(sums, off(x, p0), n, C, x.ld);
        k.batchnorm_stats_finish(mean, rstd, rm, rv, sums, P, eps, mom, C);
      } else {
        k.batchnorm_eval_stats(mean, rstd, rm, rv, eps, C);
      }
      for (const [p0, n] of shards) k.batchnorm_apply(off(y, p0), off(x, p0), mean, rstd, gamma, beta, n, C, y.ld, x.ld);
      m.core.f32(sums, 4 * C).fill(0);
      for (const [p0, n] of shards) k.batchnorm_backward_partial(sums, off(dy, p0), off(x, p0), mean, rstd, n, C, dy.ld, x.ld);
      k.batchnorm_backward_params(dgamma, dbeta, sums, C);
      for (const [p0, n] of shards) {
        k.batchnorm_backward_apply(off(dx, p0), off(dy, p0), off(x, p0), gamma, mean, rstd, sums, P, training, n, C, dx.ld, dy.ld);
      }
    }
    return [
      { name: 'y', kind: 'fwd', got: nhwcToNchw(m.read(y, 'y'), N, C, H, W), want: t(fx, c, 'y') },
      { name: 'running_mean', kind: 'fwd', got: m.get(rm, C), want: t(fx, c, 'running_mean_out') },
      { name: 'running_var', kind: 'fwd', got: m.get(rv, C), want: t(fx, c, 'running_var_out') },
      { name: 'dx', kind: 'grad', got: nhwcToNchw(m.readGrad(dx, 'dx'), N, C, H, W), want: t(fx, c, 'dx') },
      { name: 'dgamma', kind: 'grad', got: m.getGrad(dgamma, C), want: t(fx, c, 'dgamma') },
      { name: 'dbeta', kind: 'grad', got: m.getGrad(dbeta, C), want: t(fx, c, 'dbeta') },
    ];
  };
}
const batchNorm: Op = { file: 'batch_norm', needs: () => ['batchnorm_forward', 'batchnorm_backward'], run: batchNormRun(false) };
const batchNormSharded: Op = {
  file: 'batch_norm',
  needs: () => ['batchnorm_stats_partial', 'batchnorm_stats_finish', 'batchnorm_eval_stats', 'batchnorm_apply',
    'batchnorm_backward_partial', 'batchnorm_backward_params', 'batchnorm_backward_apply'],
  run: batchNormRun(true),
};

const instanceNorm: Op = {
  file: 'instance_norm',
  needs: () => ['instancenorm_forward', 'instancenorm_backward'],
  run(m, fx, c, p) {
    const [N, C, H, W, eps] = ['N', 'C', 'H', 'W', 'eps'].map((k) => num(p, k));
    const k = m.k;
    const P = N * H * W;
    const x = m.view(nchwToNhwc(t(fx, c, 'x'), N, C, H, W), P, C);
    const y = m.out(P, C);
    const dy = m.view(nchwToNhwc(t(fx, c, 'dy'), N, C, H, W), P, C);
    const dx = m.grad(P, C);
    const mean = m.flat(null, N * C), rstd = m.flat(null, N * C);
    k.instancenorm_forward(y.ptr, mean, rstd, x.ptr, eps, N, H * W, C, y.ld, x.ld);
    k.instancenorm_backward(dx.ptr, dy.ptr, x.ptr, mean, rstd, N, H * W, C, dx.ld, dy.ld);
    return [
      { name: 'y', kind: 'fwd', got: nhwcToNchw(m.read(y, 'y'), N, C, H, W), want: t(fx, c, 'y') },
      { name: 'dx', kind: 'grad', got: nhwcToNchw(m.readGrad(dx, 'dx'), N, C, H, W), want: t(fx, c, 'dx') },
    ];
  },
};

// Elementwise activations; tanh/sigmoid backward take y, relu/leaky take x.
const act: Op = {
  file: 'act',
  needs: (p) => [`${p.op}_forward`, `${p.op}_backward`],
  run(m, fx, c, p) {
    const [N, C, H, W] = ['N', 'C', 'H', 'W'].map((k) => num(p, k));
    const k = m.k;
    const P = N * H * W;
    const x = m.view(nchwToNhwc(t(fx, c, 'x'), N, C, H, W), P, C);
    const y = m.out(P, C);
    const dy = m.view(nchwToNhwc(t(fx, c, 'dy'), N, C, H, W), P, C);
    const dx = m.grad(P, C);
    const op = p.op as string;
    if (op === 'leaky_relu') {
      const slope = num(p, 'slope');
      k.leaky_relu_forward(y.ptr, x.ptr, slope, P, C, y.ld, x.ld);
      k.leaky_relu_backward(dx.ptr, dy.ptr, x.ptr, slope, P, C, dx.ld, dy.ld);
    } else {
      const kk = k as unknown as K;
      kk[`${op}_forward`](y.ptr, x.ptr, P, C, y.ld, x.ld);
      const saved = op === 'relu' ? x : y;
      kk[`${op}_backward`](dx.ptr, dy.ptr, saved.ptr, P, C, dx.ld, dy.ld);
    }
    return [
      { name: 'y', kind: 'fwd', got: nhwcToNchw(m.read(y, 'y'), N, C, H, W), want: t(fx, c, 'y') },
      { name: 'dx', kind: 'grad', got: nhwcToNchw(m.readGrad(dx, 'dx'), N, C, H, W), want: t(fx, c, 'dx') },
    ];
  },
};

const pool: Op = {
  file: 'pool',
  needs: (p) => (p.op === 'avg' ? ['avgpool2d_forward', 'avgpool2d_backward'] : ['maxpool2d_forward', 'maxpool2d_backward']),
  run(m, fx, c, p) {
    const [N, C, H, W, K, s, pd] = ['N', 'C', 'H', 'W', 'K', 'stride', 'pad'].map((k) => num(p, k));
    const OH = Math.floor((H + 2 * pd - K) / s) + 1, OW = Math.floor((W + 2 * pd - K) / s) + 1;
    const k = m.k;
    const x = m.view(nchwToNhwc(t(fx, c, 'x'), N, C, H, W), N * H * W, C);
    const y = m.out(N * OH * OW, C);
    const dy = m.view(nchwToNhwc(t(fx, c, 'dy'), N, C, OH, OW), N * OH * OW, C);
    const dx = m.grad(N * H * W, C);
    if (p.op === 'avg') {
      const cip = p.countIncludePad ? 1 : 0;
      k.avgpool2d_forward(y.ptr, x.ptr, N, H, W, C, K, s, pd, cip, y.ld, x.ld);
      k.avgpool2d_backward(dx.ptr, dy.ptr, N, H, W, C, K, s, pd, cip, dx.ld, dy.ld);
    } else {
      const argmax = m.flat(null, N * OH * OW * C); // i32
      k.maxpool2d_forward(y.ptr, argmax, x.ptr, N, H, W, C, K, s, pd, y.ld, x.ld);
      k.maxpool2d_backward(dx.ptr, dy.ptr, argmax, N, H, W, C, K, s, pd, dx.ld, dy.ld);
    }
    return [
      { name: 'y', kind: 'fwd', got: nhwcToNchw(m.read(y, 'y'), N, C, OH, OW), want: t(fx, c, 'y') },
      { name: 'dx', kind: 'grad', got: nhwcToNchw(m.readGrad(dx, 'dx'), N, C, H, W), want: t(fx, c, 'dx') },
    ];
  },
};

const upsample: Op = {
  file: 'upsample',
  needs: () => ['upsample_nearest2x_forward', 'upsample_nearest2x_backward'],
  run(m, fx, c, p) {
    const [N, C, H, W] = ['N', 'C', 'H', 'W'].map((k) => num(p, k));
    const k = m.k;
    const x = m.view(nchwToNhwc(t(fx, c, 'x'), N, C, H, W), N * H * W, C);
    const y = m.out(N * 4 * H * W, C);
    const dy = m.view(nchwToNhwc(t(fx, c, 'dy'), N, C, 2 * H, 2 * W), N * 4 * H * W, C);
    const dx = m.grad(N * H * W, C);
    k.upsample_nearest2x_forward(y.ptr, x.ptr, N, H, W, C, y.ld, x.ld);
    k.upsample_nearest2x_backward(dx.ptr, dy.ptr, N, H, W, C, dx.ld, dy.ld);
    return [
      { name: 'y', kind: 'fwd', got: nhwcToNchw(m.read(y, 'y'), N, C, 2 * H, 2 * W), want: t(fx, c, 'y') },
      { name: 'dx', kind: 'grad', got: nhwcToNchw(m.readGrad(dx, 'dx'), N, C, H, W), want: t(fx, c, 'dx') },
    ];
  },
};

// Losses over flat arrays (layout-free); `scale` is the upstream gradient of the loss (fixture `dloss`).
const loss: Op = {
  file: 'loss',
  needs: (p) => [`${p.op}_loss_forward`, `${p.op}_loss_backward`],
  run(m, fx, c, p) {
    const n = num(p, 'n');
    const k = m.k;
    const lossPtr = m.flat(new Float32Array([GARBAGE]), 1);
    const scale = t(fx, c, 'dloss')[0];
    const out: Cmp[] = [];
    if (p.op === 'l1') {
      const a = m.flat(t(fx, c, 'a'), n), b = m.flat(t(fx, c, 'b'), n);
      const da = m.flatGrad(n), db = m.flatGrad(n);
      k.l1_loss_forward(lossPtr, a, b, n);
      k.l1_loss_backward(da, scale, a, b, n);
      k.l1_loss_backward(db, scale, b, a, n); // d/db |a-b| = d/db |b-a|
      out.push({ name: 'da', kind: 'grad', got: m.getGrad(da, n), want: t(fx, c, 'da') });
      out.push({ name: 'db', kind: 'grad', got: m.getGrad(db, n), want: t(fx, c, 'db') });
    } else if (p.op === 'mse') {
      const x = m.flat(t(fx, c, 'x'), n), dx = m.flatGrad(n);
      k.mse_loss_forward(lossPtr, x, num(p, 'target'), n);
      k.mse_loss_backward(dx, scale, x, num(p, 'target'), n);
      out.push({ name: 'dx', kind: 'grad', got: m.getGrad(dx, n), want: t(fx, c, 'dx') });
    } else {
      const mu = m.flat(t(fx, c, 'mu'), n), lv = m.flat(t(fx, c, 'logvar'), n);
      const dmu = m.flatGrad(n), dlv = m.flatGrad(n);
      k.kl_loss_forward(lossPtr, mu, lv, n);
      k.kl_loss_backward(dmu, dlv, scale, mu, lv, n);
      out.push({ name: 'dmu', kind: 'grad', got: m.getGrad(dmu, n), want: t(fx, c, 'dmu') });
      out.push({ name: 'dlogvar', kind: 'grad', got: m.getGrad(dlv, n), want: t(fx, c, 'dlogvar') });
    }
    out.unshift({ name: 'loss', kind: 'fwd', got: m.get(lossPtr, 1), want: t(fx, c, 'loss') });
    return out;
  },
};

// Adam: the step (param - param0) against torch in f64, with one f32 ulp of the parameter as extra slack
// (an f32 parameter holds its step only to that); the parameters against torch's own float32 run within
// 2 ulp; exp_avg and exp_avg_sq after 3 steps.
const adam: Op = {
  file: 'adam',
  needs: () => ['adam_update'],
  run(m, fx, c, p) {
    const n = num(p, 'n');
    const k = m.k;
    const p0 = t(fx, c, 'param0');
    const ulp = p0.map((v) => Math.max(Math.abs(v), 2 ** -126) * 2 ** -23);
    const param = m.flat(p0, n), grad = m.flat(null, n), mm = m.flat(null, n), vv = m.flat(null, n);
    const out: Cmp[] = [];
    for (let step = 1; step <= 3; step++) {
      m.core.f32(grad, n).set(t(fx, c, `grad${step}`));
      k.adam_update(param, grad, mm, vv, num(p, 'lr'), num(p, 'beta1'), num(p, 'beta2'), num(p, 'eps'), step, n);
      if (step === 2) continue;
      const got = m.get(param, n);
      out.push({ name: `delta${step}`, kind: 'fwd', got: got.map((v, i) => v - p0[i]), want: t(fx, c, `delta${step}`), slack: ulp });
      out.push({ name: `param${step} vs torch f32`, kind: 'ulp', got, want: t(fx, c, `param${step}_f32`) });
    }
    out.push({ name: 'exp_avg', kind: 'fwd', got: m.get(mm, n), want: t(fx, c, 'exp_avg3') });
    out.push({ name: 'exp_avg_sq', kind: 'fwd', got: m.get(vv, n), want: t(fx, c, 'exp_avg_sq3') });
    return out;
  },
};

const tensorOps: Op = {
  file: 'tensor',
  needs: (p) => (p.op === 'add' ? ['add_forward', 'add_backward'] : ['copy_forward', 'copy_backward']),
  run(m, fx, c, p) {
    const k = m.k;
    if (p.op === 'add') {
      const [N, C, H, W] = ['N', 'C', 'H', 'W'].map((q) => num(p, q));
      const P = N * H * W;
      const a = m.view(nchwToNhwc(t(fx, c, 'a'), N, C, H, W), P, C), b = m.view(nchwToNhwc(t(fx, c, 'b'), N, C, H, W), P, C);
      const y = m.out(P, C), dy = m.view(nchwToNhwc(t(fx, c, 'dy'), N, C, H, W), P, C);
      const da = m.grad(P, C), db = m.grad(P, C);
      k.add_forward(y.ptr, a.ptr, b.ptr, P, C, y.ld, a.ld, b.ld);
      k.add_backward(da.ptr, db.ptr, dy.ptr, P, C, da.ld, db.ld, dy.ld);
      return [
        { name: 'y', kind: 'fwd', got: nhwcToNchw(m.read(y, 'y'), N, C, H, W), want: t(fx, c, 'y') },
        { name: 'da', kind: 'grad', got: nhwcToNchw(m.readGrad(da, 'da'), N, C, H, W), want: t(fx, c, 'da') },
        { name: 'db', kind: 'grad', got: nhwcToNchw(m.readGrad(db, 'db'), N, C, H, W), want: t(fx, c, 'db') },
      ];
    }
    // cat along channels: y is one [P][Ca+Cb] buffer (plus padding), a and b are copied into its two slices
    const [N, Ca, Cb, H, W] = ['N', 'Ca', 'Cb', 'H', 'W'].map((q) => num(p, q));
    const P = N * H * W, Cy = Ca + Cb;
    const a = m.view(nchwToNhwc(t(fx, c, 'a'), N, Ca, H, W), P, Ca), b = m.view(nchwToNhwc(t(fx, c, 'b'), N, Cb, H, W), P, Cb);
    const y = m.out(P, Cy), dy = m.view(nchwToNhwc(t(fx, c, 'dy'), N, Cy, H, W), P, Cy);
    const da = m.grad(P, Ca), db = m.grad(P, Cb);
    k.copy_forward(y.ptr, a.ptr, P, Ca, y.ld, a.ld);
    k.copy_forward(y.ptr + 4 * Ca, b.ptr, P, Cb, y.ld, b.ld);
    k.copy_backward(da.ptr, dy.ptr, P, Ca, da.ld, dy.ld);
    k.copy_backward(db.ptr, dy.ptr + 4 * Ca, P, Cb, db.ld, dy.ld);
    return [
      { name: 'y', kind: 'fwd', got: nhwcToNchw(m.read(y, 'y'), N, Cy, H, W), want: t(fx, c, 'y') },
      { name: 'da', kind: 'grad', got: nhwcToNchw(m.readGrad(da, 'da'), N, Ca, H, W), want: t(fx, c, 'da') },
      { name: 'db', kind: 'grad', got: nhwcToNchw(m.readGrad(db, 'db'), N, Cb, H, W), want: t(fx, c, 'db') },
    ];
  },
};

// The 3x3 stride-2 conv with its taps split by parity (assembly/conv3s2_split.ts) on the conv2d fixtures' k3 s2 p1
// cases: the forward per call (and on weights transformed once: the same bits), the direct backward-input, the split
// backward-weight; `f42`: y from F(4, 2) on the E parts (assembly/winograd_split4.ts, inference's large layers).
const splitS2Conv2d = (f42: boolean): Op => ({
  file: 'conv2d',
  needs: () => ['conv3s2_split_forward_scratch_size', 'conv3s2_split_forward', 'conv3s2_split_forward_packed', 'upconv_split_pack', 'conv2d_backward_input', 'conv3s2_split_backward_weight',
    ...(f42 ? ['split4_pack', 'conv3s2_split4_forward_packed'] as const : [])],
  run: (m, fx, c, p) =>
    convFixture(m, fx, c, p, ({ N, H, W, C, OC, x, y, dy, dx, w, dw, b, db }) => {
      const k = m.k;
      const scratch = m.flat(null, Math.max(k.conv3s2_split_forward_scratch_size(N, H, W, C, OC), k.conv3s2_split_packed_scratch_size(N, H, W, C, OC),
        k.conv3s2_split_backward_weight_scratch_size(N, H, W, C, OC), k.conv2d_scratch_size(N, H, W, C, OC, 3, 3, 2, 1)));
      const U = m.flat(null, k.upconv_split_packed_size(C, OC));
      k.conv3s2_split_forward(y.ptr, x.ptr, w, b, scratch, N, H, W, C, OC, y.ld, x.ld);
      const once = m.out(N * Math.ceil(H / 2) * Math.ceil(W / 2), OC);
      k.upconv_split_pack(U, w, scratch, C, OC, OC, 0);
      k.conv3s2_split_forward_packed(once.ptr, x.ptr, U, b, scratch, N, H, W, C, OC, once.ld, x.ld);
      if (!m.read(once, 'y once').every((v, i) => v === m.read(y, 'y')[i])) throw new Error('conv3s2_split_forward_packed differs from the per-call forward');
      if (f42) {
        // y by F(4, 2) on the E parts (what PyTorch's y is compared with)
        const U4 = m.flat(null, k.split4_packed_size(C, OC)), s4 = m.flat(null, k.conv3s2_split4_packed_scratch_size(N, H, W, C, OC));
        k.split4_pack(U4, w, s4, C, OC, OC, 0);
        k.conv3s2_split4_forward_packed(y.ptr, x.ptr, U4, b, s4, N, H, W, C, OC, y.ld, x.ld);
      }
      k.conv2d_backward_input(dx.ptr, dy.ptr, w, scratch, N, H, W, C, OC, 3, 3, 2, 1, dx.ld, dy.ld);
      k.conv3s2_split_backward_weight(dw, db, dy.ptr, x.ptr, scratch, N, H, W, C, OC, dy.ld, x.ld);
    }),
});

const OPS: Record<string, Op> = {
  split_s2_conv2d: splitS2Conv2d(false), split4_s2_conv2d: splitS2Conv2d(true), conv2d, winograd3_conv2d: winogradConv2d('winograd3'), winograd_s2_conv2d: winogradConv2d('winograd_s2'), winograd_s2f4_conv2d: winogradConv2d('winograd_s2f4'), conv_transpose2d: convTranspose2d, upsample_conv2d: upsampleConv2d('upconv_forward'), upsample_conv2d_split: upsampleConv2d('upconv_split_forward'),
  upsample_conv2d_split4: upsampleConv2d('upconv_split4_forward_packed'),
  upsample_conv2d_parts: upsampleConv2d('upconv_parts_forward'), upsample_conv2d_taps: upsampleConv2d('upconv_taps_forward_packed'), linear, batch_norm: batchNorm, batch_norm_sharded: batchNormSharded,
  instance_norm: instanceNorm, act, pool, upsample, loss, adam, tensor: tensorOps,
};

// ---------------------------------------------------------------- naive conv in our layouts (checks the conversions)

// Plain loops over dense NHWC / HWIO, f64 sums: no kernel involved, so these tests pin the layout conversions
// (above all the ConvTranspose -> dual conv mapping) against PyTorch even before the conv kernels exist.
interface ConvDims { N: number; H: number; W: number; C: number; OC: number; K: number; s: number; p: number; OH: number; OW: number }
/** Calls f(xi, yi, wi) for every (input, output, weight) index triple of the conv. */
function convTaps(d: ConvDims, f: (xi: number, yi: number, wi: number) => void): void {
  for (let n = 0; n < d.N; n++) for (let oh = 0; oh < d.OH; oh++) for (let ow = 0; ow < d.OW; ow++) {
    for (let kh = 0; kh < d.K; kh++) {
      const ih = oh * d.s - d.p + kh;
      if (ih < 0 || ih >= d.H) continue;
      for (let kw = 0; kw < d.K; kw++) {
        const iw = ow * d.s - d.p + kw;
        if (iw < 0 || iw >= d.W) continue;
        for (let c = 0; c < d.C; c++) for (let oc = 0; oc < d.OC; oc++) {
          f(((n * d.H + ih) * d.W + iw) * d.C + c, ((n * d.OH + oh) * d.OW + ow) * d.OC + oc, ((kh * d.K + kw) * d.C + c) * d.OC + oc);
        }
      }
    }
  }
}
const naive = {
  forward(d: ConvDims, x: Float32Array, w: Float32Array, b: Float32Array | null): Float32Array {
    const y = new Float64Array(d.N * d.OH * d.OW * d.OC);
    if (b) for (let i = 0; i < y.length; i++) y[i] = b[i % d.OC];
    convTaps(d, (xi, yi, wi) => (y[yi] += x[xi] * w[wi]));
    return Float32Array.from(y);
  },
  backwardInput(d: ConvDims, dy: Float32Array, w: Float32Array): Float32Array {
    const dx = new Float64Array(d.N * d.H * d.W * d.C);
    convTaps(d, (xi, yi, wi) => (dx[xi] += dy[yi] * w[wi]));
    return Float32Array.from(dx);
  },
  backwardWeight(d: ConvDims, dy: Float32Array, x: Float32Array): Float32Array {
    const dw = new Float64Array(d.K * d.K * d.C * d.OC);
    convTaps(d, (xi, yi, wi) => (dw[wi] += dy[yi] * x[xi]));
    return Float32Array.from(dw);
  },
};
const biasGrad = (dy: Float32Array, C: number) => {
  const db = new Float64Array(C);
  dy.forEach((v, i) => (db[i % C] += v));
  return Float32Array.from(db);
};

describe('layout conversions: naive NHWC/HWIO conv in JS vs PyTorch', () => {
  const dims = (p: Params): ConvDims => ({ N: num(p, 'N'), H: num(p, 'H'), W: num(p, 'W'), C: num(p, 'C'), OC: num(p, 'OC'),
    K: num(p, 'K'), s: num(p, 'stride'), p: num(p, 'pad'), OH: num(p, 'OH'), OW: num(p, 'OW') });
  const fxc = fixture('conv2d');
  for (const [c, p] of caseList(fxc)) {
    test(`conv2d ${c}`, () => {
      const d = dims(p);
      const x = nchwToNhwc(t(fxc, c, 'x'), d.N, d.C, d.H, d.W), dy = nchwToNhwc(t(fxc, c, 'dy'), d.N, d.OC, d.OH, d.OW);
      const w = oihwToHwio(t(fxc, c, 'w'), d.OC, d.C, d.K, d.K);
      const b = p.bias ? t(fxc, c, 'b') : null;
      const cmps: Cmp[] = [
        { name: 'y', kind: 'fwd', got: nhwcToNchw(naive.forward(d, x, w, b), d.N, d.OC, d.OH, d.OW), want: t(fxc, c, 'y') },
        { name: 'dx', kind: 'grad', got: nhwcToNchw(naive.backwardInput(d, dy, w), d.N, d.C, d.H, d.W), want: t(fxc, c, 'dx') },
        { name: 'dw', kind: 'grad', got: hwioToOihw(naive.backwardWeight(d, dy, x), d.OC, d.C, d.K, d.K), want: t(fxc, c, 'dw') },
      ];
      if (b) cmps.push({ name: 'db', kind: 'grad', got: biasGrad(dy, d.OC), want: t(fxc, c, 'db') });
      const errs = compare('naive conv2d', c, cmps);
      expect(errs, errs.join('\n')).toEqual([]);
    });
  }
  const fxt = fixture('conv_transpose2d');
  for (const [c, p] of caseList(fxt)) {
    test(`conv_transpose2d ${c} as the dual conv`, () => {
      const e = dims(p); // transposed conv C -> OC, H x W -> OH x OW
      const d: ConvDims = { ...e, H: e.OH, W: e.OW, C: e.OC, OC: e.C, OH: e.H, OW: e.W }; // the dual conv
      const x = nchwToNhwc(t(fxt, c, 'x'), e.N, e.C, e.H, e.W), dy = nchwToNhwc(t(fxt, c, 'dy'), e.N, e.OC, e.OH, e.OW);
      const w = oihwToHwio(t(fxt, c, 'w'), e.C, e.OC, e.K, e.K); // [KH][KW][OC_t][IC_t]
      const y = naive.backwardInput(d, x, w);
      if (p.bias) { const b = t(fxt, c, 'b'); y.forEach((v, i) => (y[i] = v + b[i % e.OC])); }
      const cmps: Cmp[] = [
        { name: 'y', kind: 'fwd', got: nhwcToNchw(y, e.N, e.OC, e.OH, e.OW), want: t(fxt, c, 'y') },
        { name: 'dx', kind: 'grad', got: nhwcToNchw(naive.forward(d, dy, w, null), e.N, e.C, e.H, e.W), want: t(fxt, c, 'dx') },
        { name: 'dw', kind: 'grad', got: hwioToOihw(naive.backwardWeight(d, x, dy), e.C, e.OC, e.K, e.K), want: t(fxt, c, 'dw') },
      ];
      if (p.bias) cmps.push({ name: 'db', kind: 'grad', got: biasGrad(dy, e.OC), want: t(fxt, c, 'db') });
      const errs = compare('naive conv_transpose2d', c, cmps);
      expect(errs, errs.join('\n')).toEqual([]);
    });
  }
});

// ---------------------------------------------------------------- the tests

const cores = { simd: await loadCore({ build: 'simd' }), relaxed: await loadCore({ build: 'relaxed' }) };
const variants: { label: string; core: Core; pad: number }[] = [
  { label: 'simd', core: cores.simd, pad: 0 },
  { label: 'simd, ld=C+3 views', core: cores.simd, pad: 3 },
  { label: 'relaxed', core: cores.relaxed, pad: 0 },
];

for (const [opName, op] of Object.entries(OPS)) {
  const fx = fixture(op.file);
  describe(`${opName} vs PyTorch`, () => {
    for (const [c, p] of caseList(fx)) {
      if (opName === 'batch_norm_sharded' && num(p, 'N') < 2) continue;
      if (opName === 'winograd3_conv2d' && !(num(p, 'K') === 3 && num(p, 'stride') === 1 && num(p, 'pad') === 1)) continue;
      if ((opName === 'winograd_s2_conv2d' || opName === 'winograd_s2f4_conv2d') && !(num(p, 'K') === 4 && num(p, 'stride') === 2 && num(p, 'pad') === 1)) continue;
      if ((opName === 'split_s2_conv2d' || opName === 'split4_s2_conv2d') && !(num(p, 'K') === 3 && num(p, 'stride') === 2 && num(p, 'pad') === 1)) continue;
      const missing = op.needs(p).filter((n) => typeof (cores.simd.k as unknown as K)[n] !== 'function');
      if (missing.length) {
        // a fixture without its kernel is a failure, not a silent skip (a dropped export would hide its check)
        test(c, () => {
          throw new Error(`${c}: the core does not export ${missing.join(', ')}, which this PyTorch fixture checks`);
        });
        continue;
      }
      test(c, () => {
        const errs: string[] = [];
        for (const v of variants) {
          const mark = v.core.arena.mark();
          try {
            errs.push(...compare(opName, `[${v.label}] ${c}`, op.run(new Mem(v.core, v.pad), fx, c, p)));
          } finally {
            v.core.arena.reset(mark);
          }
        }
        expect(errs, errs.join('\n')).toEqual([]);
      });
    }
  });
}

afterAll(() => {
  const rows = [...report].map(([op, r]) =>
    `  ${op.padEnd(20)} fwd max|diff|/scale ${r.fwd.toExponential(1)}   grad ${r.grad.toExponential(1)}` +
    (op === 'adam' ? `   vs torch f32 ${r.ulp.toExponential(1)}` : '') + `   worst |diff|/allowed ${r.ratio.toFixed(3)}`);
  if (rows.length) console.log(`kernels vs PyTorch (fwd: ${JSON.stringify(TOL.fwd)}, grad: ${JSON.stringify(TOL.grad)}; atol x tensor scale)\n${rows.join('\n')}`);
});
