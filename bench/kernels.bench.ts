// Conv/GEMM kernel benchmark: GFLOP/s (2*MACs / time, the dense count incl. padding) of conv forward,
// backward-input and backward-weight on every real layer shape (bench/shapes.ts), and of conv-transpose
// forward/backward on the official unet_128 decoder shapes; 1 thread, after warm-up (Liftoff -> TurboFan),
// median of several timed runs. Also a measured SIMD128 peak probe (so every figure is a % of peak: for the conv and
// conv-transpose rows, of the probe timed right before each run of that pass, so that the ratio holds on this
// shared host whose speed drifts within minutes; the probes before and after all rows are printed too) and
// tfjs-backend-wasm 4.22 (XNNPACK) conv2d / conv2dTranspose on the same shapes in the same run, as the anchor.
// `packed` (conv rows): the forward on weights packed once beforehand (conv2d_pack + conv2d_forward_packed, what
// src/infer runs for f32 weights at <= 64 output pixels; tfjs-backend-wasm also keeps its packed weights between
// calls), and `target`: met when every pass is at >= 70% of the peak or, for a tiny layer (<= 64 output pixels or
// <= 4 output channels), when its best forward (packed or not) is faster than tfjs.
// Upconv rows (names upsconv.*): the generator's upsample x2 + 3x3 conv layers (up1..up6, final), fused
// (upconv_*: per input pixel and channel pair 16 MACs forward, 9 backward) against upsample_nearest2x + conv2d
// (36 each), both rated by the direct conv's FLOPs ("effective" GFLOP/s), with the time ratio separate / fused,
// at batch 1 and (--upconv-batch N) batch N; then the generator's memory saved at batch 8.
// Winograd rows (names wino.*): the encoder's stride-1 3x3 convs and the discriminators' 4x4 stride-2 convs
// through the direct conv and through Winograd (F(2x2, 3x3), winograd3_*; F(2x2, 2x2) over the input phases,
// winograd_s2_*), timed interleaved (direct, Winograd, direct, ...: a busy spell hits both): median times and the
// median of the per-pair ratios, the max |difference| relative to max |direct output| per pass, and whether the
// layer dispatch (src/core/conv-dispatch.ts) takes Winograd there; at batch 1 and --wino-batch N (default 4). Rows
// wino42.*: the 4x4 stride-2 layers through F(2x2, 2x2) against F(4x4, 2x2) on the phases (winograd_s2f4_*).
// Upconv rows also time upconv_parts_forward (the parity parts on w's own taps, per call) against the fused and
// split forwards.
// Split rows: the 3x3 stride-2 layers (the generator's downs, the encoder's strided convs) through the direct conv
// and the taps split by parity (conv3s2_split_*), forward per call, forward on packed weights and backward-weight,
// timed the same way and at the same batches.
// Split4 rows: the generator's large layers at 128 and 256 px, batch 1, on weights transformed once (inference): the
// split taps by F(2, 2) (upconv_split_forward_packed, conv3s2_split_forward_packed) against F(4, 2) on the E parts
// (assembly/winograd_split4.ts), with splitF42's choice.
// Usage: npm run bench:kernels [-- --quick] [-- --build simd|relaxed] [-- --filter name-substring] [-- --upconv-batch 8]
//   [-- --wino-batch 4].
// Writes bench/out/kernels.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCore, resolveBuild } from '../src/core/load-node.js';
import { hasRelaxedSimd } from '../src/core/features.js';
import type { Core } from '../src/core/loader.js';
import { convKernels, splitF42, splitS2Wins, upconvBackwardInput, upconvBackwardWeight, upconvForward } from '../src/core/conv-dispatch.js';
import { CONV_SHAPES, DECONV_SHAPES, UPCONV_SHAPES, WINO_SHAPES, convMacs, deconvMacs, upconvDirectMacs, type BenchConv, type BenchDeconv, type BenchUpconv } from './shapes.js';
import { median } from './lib/timing.js';
import { kernelTarget } from './lib/report.js';

const quick = process.argv.includes('--quick');
const buildArg = process.argv.includes('--build') ? process.argv[process.argv.indexOf('--build') + 1] : 'auto';
const filter = process.argv.includes('--filter') ? process.argv[process.argv.indexOf('--filter') + 1] : '';
const winoBatch = process.argv.includes('--wino-batch') ? Number(process.argv[process.argv.indexOf('--wino-batch') + 1]) : 4;
const upBatch = process.argv.includes('--upconv-batch') ? Number(process.argv[process.argv.indexOf('--upconv-batch') + 1]) : 0;
const RUNS = quick ? 3 : 7;
const MIN_MS = quick ? 3 : 15;
const here = dirname(fileURLToPath(import.meta.url));


/** Seconds per call of fn over one run: fn repeated until minMs has passed. */
function oneRun(fn: () => void, minMs: number): number {
  let n = 0;
  const t0 = performance.now();
  let t1 = t0;
  do { fn(); n++; t1 = performance.now(); } while (t1 - t0 < minMs);
  return (t1 - t0) / 1000 / n;
}

/** Median seconds per call of fn over `runs` runs (after two warm-up calls). */
function timeIt(fn: () => void, runs = RUNS, minMs = MIN_MS): number {
  fn(); fn();
  const per: number[] = [];
  for (let r = 0; r < runs; r++) per.push(oneRun(fn, minMs));
  return median(per);
}

/** The peak probe the rows are rated against (set below: the build with the higher peak), and one timed probe
 * call of PROBE_ITERS iterations (PROBE_FLOP each, about 4 ms) in GFLOP/s. */
const PROBE_ITERS = 2_000_000, PROBE_FLOP = 96;
let probeCore: Core | null = null;
function probeGflops(): number {
  const t0 = performance.now();
  probeCore!.k.peak_probe(PROBE_ITERS);
  return (PROBE_FLOP * PROBE_ITERS) / ((performance.now() - t0) / 1000) / 1e9;
}

/** A pass rated against the peak of the same moment: each of the runs is a peak probe (the better of two calls)
 * and then the pass (repeated for MIN_MS), so a slow spell of this shared host slows both. Returns the pass's
 * median GFLOP/s and the median over runs of its GFLOP/s / that run's probe (a fraction of the peak). */
function timeVsPeak(fn: () => void, flop: number): { gflops: number; ofPeak: number } {
  fn(); fn();
  const rate: number[] = [], frac: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const pk = Math.max(probeGflops(), probeGflops());
    const g = flop / oneRun(fn, MIN_MS) / 1e9;
    rate.push(g); frac.push(g / pk);
  }
  return { gflops: median(rate), ofPeak: median(frac) };
}

/** The better of two measurements of one row, figure by figure (GFLOP/s and fractions of the peak: the larger). */
function better(a: Row, b: Row): Row {
  const mx = (p: number | null, q: number | null) => (p === null || q === null ? p ?? q : Math.max(p, q));
  return {
    ...a, fwd: Math.max(a.fwd, b.fwd), bwdIn: Math.max(a.bwdIn, b.bwdIn), bwdW: Math.max(a.bwdW, b.bwdW),
    fwdPacked: mx(a.fwdPacked, b.fwdPacked), tfjs: mx(a.tfjs, b.tfjs),
    ofPeak: { fwd: Math.max(a.ofPeak.fwd, b.ofPeak.fwd), fwdPacked: mx(a.ofPeak.fwdPacked, b.ofPeak.fwdPacked), bwdIn: Math.max(a.ofPeak.bwdIn, b.ofPeak.bwdIn), bwdW: Math.max(a.ofPeak.bwdW, b.ofPeak.bwdW) },
  };
}

/** max |a - b| / max |b| */
function maxRel(a: Float32Array, b: Float32Array): number {
  let d = 0, m = 0;
  for (let i = 0; i < a.length; i++) { d = Math.max(d, Math.abs(a[i] - b[i])); m = Math.max(m, Math.abs(b[i])); }
  return d / m;
}

function randFill(core: Core, ptr: number, n: number, seed: number): void {
  const v = core.f32(ptr, n);
  let a = seed >>> 0;
  for (let i = 0; i < n; i++) { a = (a * 1664525 + 1013904223) >>> 0; v[i] = (a / 2 ** 32) * 2 - 1; }
}

interface Row {
  name: string; kind: 'conv' | 'deconv'; shape: string; count: number; gflop: number;
  fwd: number; bwdIn: number; bwdW: number; // GFLOP/s, ours
  tfjs: number | null; // GFLOP/s, tfjs-wasm forward (conv2d or conv2dTranspose)
  fwdPacked: number | null; // GFLOP/s, ours on weights packed once (conv rows)
  tiny: boolean; // <= 64 output pixels or <= 4 output channels
  ofPeak: OfPeak; // each pass as a fraction of the peak probed beside it (timeVsPeak)
}
type OfPeak = { fwd: number; fwdPacked: number | null; bwdIn: number; bwdW: number };

// ---- our kernels ----
function benchConv(core: Core, sh: BenchConv): Omit<Row, 'tfjs'> {
  const { H, C, OC, K, s, p } = sh;
  const OH = Math.floor((H + 2 * p - K) / s) + 1;
  const k = core.k, a = core.arena, mark = a.mark();
  const X = H * H * C, Y = OH * OH * OC, Wn = K * K * C * OC;
  const x = a.alloc(X), w = a.alloc(Wn), b = a.alloc(OC), y = a.alloc(Y), dy = a.alloc(Y), dx = a.alloc(X), dw = a.alloc(Wn), db = a.alloc(OC);
  const sc = a.alloc(k.conv2d_scratch_size(1, H, H, C, OC, K, K, s, p));
  const wp = a.alloc(k.conv2d_packed_size(K, K, C, OC));
  randFill(core, x, X, 1); randFill(core, w, Wn, 2); randFill(core, b, OC, 3); randFill(core, dy, Y, 4);
  const flop = 2 * convMacs(sh);
  const fwd = timeVsPeak(() => k.conv2d_forward(y, x, w, b, sc, 1, H, H, C, OC, K, K, s, p, OC, C), flop);
  k.conv2d_pack(wp, w, K, K, C, OC);
  const fwdPacked = timeVsPeak(() => k.conv2d_forward_packed(y, x, wp, b, sc, 1, H, H, C, OC, K, K, s, p, OC, C), flop);
  const bwdIn = timeVsPeak(() => k.conv2d_backward_input(dx, dy, w, sc, 1, H, H, C, OC, K, K, s, p, C, OC), flop);
  const bwdW = timeVsPeak(() => k.conv2d_backward_weight(dw, db, dy, x, sc, 1, H, H, C, OC, K, K, s, p, OC, C), flop);
  a.reset(mark);
  return { name: sh.name, kind: 'conv', shape: `${H}²x${C}->${OH}²x${OC} k${K}s${s}p${p}`, count: sh.count, gflop: flop / 1e9,
    fwd: fwd.gflops, bwdIn: bwdIn.gflops, bwdW: bwdW.gflops, fwdPacked: fwdPacked.gflops, tiny: OH * OH <= 64 || OC <= 4,
    ofPeak: { fwd: fwd.ofPeak, fwdPacked: fwdPacked.ofPeak, bwdIn: bwdIn.ofPeak, bwdW: bwdW.ofPeak } };
}

// Conv-transpose x (H, H, C) -> y (Ho, Ho, OC): forward = zero + dual backward_input + bias; backward-input =
// dual forward (accumulating); backward-weight = dual backward_weight with x and dy swapped (+ db).
function benchDeconv(core: Core, sh: BenchDeconv): Omit<Row, 'tfjs'> {
  const { H, C: IC, OC, K, s, p } = sh;
  const Ho = (H - 1) * s - 2 * p + K;
  const k = core.k, a = core.arena, mark = a.mark();
  const X = H * H * IC, Y = Ho * Ho * OC, Wn = K * K * OC * IC, P = Ho * Ho;
  const x = a.alloc(X), w = a.alloc(Wn), b = a.alloc(OC), y = a.alloc(Y), dy = a.alloc(Y), dx = a.alloc(X), dw = a.alloc(Wn), db = a.alloc(OC);
  const sc = a.alloc(k.conv2d_scratch_size(1, Ho, Ho, OC, IC, K, K, s, p));
  randFill(core, x, X, 1); randFill(core, w, Wn, 2); randFill(core, b, OC, 3); randFill(core, dy, Y, 4);
  const flop = 2 * deconvMacs(sh);
  const fwd = timeVsPeak(() => {
    k.view_zero(y, P, OC, OC);
    k.conv2d_backward_input(y, x, w, sc, 1, Ho, Ho, OC, IC, K, K, s, p, OC, IC);
    k.bias_add_forward(y, b, P, OC, OC);
  }, flop);
  const bwdIn = timeVsPeak(() => k.conv2d_forward_acc(dx, dy, w, sc, 1, Ho, Ho, OC, IC, K, K, s, p, IC, OC), flop);
  const bwdW = timeVsPeak(() => {
    k.conv2d_backward_weight(dw, 0, x, dy, sc, 1, Ho, Ho, OC, IC, K, K, s, p, IC, OC);
    k.bias_backward(db, dy, P, OC, OC);
  }, flop);
  a.reset(mark);
  return { name: sh.name, kind: 'deconv', shape: `${H}²x${IC}->${Ho}²x${OC} k${K}s${s}p${p}`, count: sh.count, gflop: flop / 1e9,
    fwd: fwd.gflops, bwdIn: bwdIn.gflops, bwdW: bwdW.gflops, fwdPacked: null, tiny: Ho * Ho <= 64 || OC <= 4,
    ofPeak: { fwd: fwd.ofPeak, fwdPacked: null, bwdIn: bwdIn.ofPeak, bwdW: bwdW.ofPeak } };
}

// Upsample x2 + 3x3 conv, x (N, H, H, C) -> y (N, 2H, 2H, OC): separate (upsample into a stored tensor, then
// the conv; backward-input = conv backward-input + upsample backward) against the fused upconv kernels.
// Returns effective GFLOP/s (direct conv FLOPs / time) of both.
interface UpRow {
  name: string; shape: string; N: number; count: number; gflop: number;
  sep: { fwd: number; bwdIn: number; bwdW: number }; fused: { fwd: number; bwdIn: number; bwdW: number };
  /** the forward on weights packed beforehand (upconv_pack: inference at load) */
  packed: { fwd: number };
  /** the forward with the taps split by parity (upconv_split_forward: weights transformed per call; packed:
   * upconv_split_forward_packed on weights transformed beforehand), its max |diff| / max |fused output|, and
   * whether the layer dispatch (upconvForward) takes it at this shape, per call and packed */
  split: { fwd: number; packed: number; err: number; wired: boolean; wiredPacked: boolean; bwdIn: number; bwdW: number; wiredIn: boolean; wiredW: boolean };
  /** the forward by the parity parts on w's own taps (upconv_parts_forward, per call), its max |diff| / max |fused
   * output|, and whether the per-call dispatch takes it */
  parts: { fwd: number; err: number; wired: boolean };
}
function benchUpconv(core: Core, sh: BenchUpconv, N: number): UpRow {
  const { H, C, OC } = sh, U = 2 * H;
  const k = core.k, a = core.arena, mark = a.mark();
  const X = N * H * H * C, UX = N * U * U * C, Y = N * U * U * OC, Wn = 9 * C * OC;
  const x = a.alloc(X), u = a.alloc(UX), du = a.alloc(UX), w = a.alloc(Wn), b = a.alloc(OC), y = a.alloc(Y), dy = a.alloc(Y);
  const dx = a.alloc(X), dw = a.alloc(Wn), db = a.alloc(OC);
  const sc = a.alloc(Math.max(k.conv2d_scratch_size(N, U, U, C, OC, 3, 3, 1, 1), k.upconv_scratch_size(N, H, H, C, OC),
    k.upconv_packed_scratch_size(N, H, H, C, OC), k.upconv_split_scratch_size(N, H, H, C, OC), k.upconv_parts_forward_scratch_size(N, H, H, C, OC)));
  const wd = a.alloc(Math.max(k.upconv_packed_size(C, OC), k.upconv_split_packed_size(C, OC))), y2 = a.alloc(Y);
  randFill(core, x, X, 1); randFill(core, w, Wn, 2); randFill(core, b, OC, 3); randFill(core, dy, Y, 4);
  k.upsample_nearest2x_forward(u, x, N, H, H, C, C, C);
  const flop = 2 * N * upconvDirectMacs(sh);
  const g = (t: number) => flop / t / 1e9;
  const sep = {
    fwd: g(timeIt(() => {
      k.upsample_nearest2x_forward(u, x, N, H, H, C, C, C);
      k.conv2d_forward(y, u, w, b, sc, N, U, U, C, OC, 3, 3, 1, 1, OC, C);
    })),
    bwdIn: g(timeIt(() => {
      k.view_zero(du, N * U * U, C, C); // the upsampled gradient is its own buffer, zeroed each step
      k.conv2d_backward_input(du, dy, w, sc, N, U, U, C, OC, 3, 3, 1, 1, C, OC);
      k.upsample_nearest2x_backward(dx, du, N, H, H, C, C, C);
    })),
    bwdW: g(timeIt(() => k.conv2d_backward_weight(dw, db, dy, u, sc, N, U, U, C, OC, 3, 3, 1, 1, OC, C))),
  };
  const fused = {
    fwd: g(timeIt(() => k.upconv_forward(y, x, w, b, sc, N, H, H, C, OC, OC, C))),
    bwdIn: g(timeIt(() => k.upconv_backward_input(dx, dy, w, sc, N, H, H, C, OC, C, OC))),
    bwdW: g(timeIt(() => k.upconv_backward_weight(dw, db, dy, x, sc, N, H, H, C, OC, OC, C))),
  };
  k.upconv_pack(wd, w, sc, C, OC);
  const packed = {
    fwd: g(timeIt(() => k.upconv_forward_packed(y, x, w, wd, b, sc, N, H, H, C, OC, OC, C))),
  };
  let split = { fwd: 0, packed: 0, err: 0, wired: upconvForward(N, H, H, C, OC) === 'split', wiredPacked: upconvForward(N, H, H, C, OC, true) === 'split',
    bwdIn: 0, bwdW: 0, wiredIn: upconvBackwardInput(N, H, H, C, OC) === 'split', wiredW: upconvBackwardWeight(N, H, H, C, OC) === 'split' };
  if (OC > 4) {
    k.upconv_forward(y, x, w, b, sc, N, H, H, C, OC, OC, C);
    k.upconv_split_forward(y2, x, w, b, sc, N, H, H, C, OC, OC, C);
    const err = maxRel(core.f32(y2, Y), core.f32(y, Y));
    const fwd = g(timeIt(() => k.upconv_split_forward(y, x, w, b, sc, N, H, H, C, OC, OC, C)));
    k.upconv_split_pack(wd, w, sc, C, OC, OC, 0);
    split = { ...split, fwd, err, packed: g(timeIt(() => k.upconv_split_forward_packed(y, x, wd, b, sc, N, H, H, C, OC, OC, C))),
      bwdIn: g(timeIt(() => k.upconv_split_backward_input(dx, dy, w, sc, N, H, H, C, OC, C, OC))),
      bwdW: g(timeIt(() => k.upconv_split_backward_weight(dw, db, dy, x, sc, N, H, H, C, OC, OC, C))) };
  }
  k.upconv_forward(y, x, w, b, sc, N, H, H, C, OC, OC, C);
  k.upconv_parts_forward(y2, x, w, b, sc, N, H, H, C, OC, OC, C);
  const parts = { fwd: g(timeIt(() => k.upconv_parts_forward(y2, x, w, b, sc, N, H, H, C, OC, OC, C))), err: maxRel(core.f32(y2, Y), core.f32(y, Y)),
    wired: upconvForward(N, H, H, C, OC) === 'parts' };
  a.reset(mark);
  return { name: sh.name, shape: `${H}²x${C}->${U}²x${OC}`, N, count: sh.count, gflop: flop / 1e9, sep, fused, packed, split, parts };
}

// f and g called alternately (a busy spell hits both): [median ms of f, median ms of g, median of the per-pair
// ratios f / g]
function pair(f: () => void, g: () => void): number[] {
  const runs = quick ? 3 : 7, tf: number[] = [], tg: number[] = [], r: number[] = [];
  f(); g();
  for (let i = 0; i < runs; i++) { const p = timeIt(f, 1, MIN_MS), q = timeIt(g, 1, MIN_MS); tf.push(p); tg.push(q); r.push(p / q); }
  return [median(tf) * 1e3, median(tg) * 1e3, median(r)];
}
// a pair's cell: the two times and the ratio
const pairCell = (v: number[]) => `${v[0].toFixed(2).padStart(5)} ${v[1].toFixed(2).padStart(5)} ${v[2].toFixed(2).padStart(4)}x`;

// Direct conv against Winograd on one layer at batch N (3x3 stride 1: F(2x2, 3x3); 4x4 stride 2: F(2x2, 2x2) over
// the phases): per pass [direct ms, Winograd ms, median of the per-pair ratios direct / Winograd], and
// max |Winograd - direct| / max |direct| per output.
interface WinoRow {
  name: string; shape: string; N: number; wired: string;
  fwd: number[]; bwdIn: number[]; bwdW: number[]; err: { y: number; dx: number; dw: number };
}
// f42: F(2x2, 2x2) against F(4x4, 2x2) on the phases (winograd_s2 against winograd_s2f4) instead of direct
// against Winograd (the 4x4 stride-2 shapes; rows wino42.*).
function benchWino(core: Core, sh: BenchConv, N: number, f42 = false): WinoRow {
  const { H, C, OC, K, s } = sh;
  const s2 = K === 4;
  const OH = Math.floor((H + 2 - K) / s) + 1;
  const k = core.k, a = core.arena, mark = a.mark();
  const kk = k as unknown as Record<string, (...v: number[]) => number>;
  const X = N * H * H * C, Y = N * OH * OH * OC, Wn = K * K * C * OC;
  const x = a.alloc(X), w = a.alloc(Wn), b = a.alloc(OC), y = a.alloc(Y), y2 = a.alloc(Y), dy = a.alloc(Y);
  const dx = a.alloc(X), dx2 = a.alloc(X), dw = a.alloc(Wn), dw2 = a.alloc(Wn), db = a.alloc(OC);
  const kn = f42 ? 'winograd_s2f4' : s2 ? 'winograd_s2' : 'winograd3';
  const sc = a.alloc(Math.max(k.conv2d_scratch_size(N, H, H, C, OC, K, K, s, 1), kk[`${kn}_scratch_size`](N, H, H, C, OC),
    f42 ? k.winograd_s2_scratch_size(N, H, H, C, OC) : 0));
  const [wf, wbi, wbw] = [kk[`${kn}_forward`], kk[`${kn}_backward_input`], kk[`${kn}_backward_weight`]];
  randFill(core, x, X, 1); randFill(core, w, Wn, 2); randFill(core, b, OC, 3); randFill(core, dy, Y, 4);
  // the baseline of each pair: the direct conv, or F(2x2, 2x2)
  const base = f42
    ? { fwd: () => k.winograd_s2_forward(y, x, w, b, sc, N, H, H, C, OC, OC, C), bwdIn: () => k.winograd_s2_backward_input(dx, dy, w, sc, N, H, H, C, OC, C, OC),
      bwdW: () => k.winograd_s2_backward_weight(dw, db, dy, x, sc, N, H, H, C, OC, OC, C) }
    : { fwd: () => k.conv2d_forward(y, x, w, b, sc, N, H, H, C, OC, K, K, s, 1, OC, C), bwdIn: () => k.conv2d_backward_input(dx, dy, w, sc, N, H, H, C, OC, K, K, s, 1, C, OC),
      bwdW: () => k.conv2d_backward_weight(dw, db, dy, x, sc, N, H, H, C, OC, K, K, s, 1, OC, C) };
  const fwd = pair(base.fwd, () => wf(y2, x, w, b, sc, N, H, H, C, OC, OC, C));
  const bwdIn = pair(base.bwdIn, () => wbi(dx2, dy, w, sc, N, H, H, C, OC, C, OC));
  const bwdW = pair(base.bwdW, () => wbw(dw2, db, dy, x, sc, N, H, H, C, OC, OC, C));
  // one clean run of each pass for the error (the backward passes accumulate)
  const rel = (p: number, q: number, n: number) => maxRel(core.f32(p, n), core.f32(q, n));
  for (const [p, n] of [[dx, X], [dx2, X], [dw, Wn], [dw2, Wn]]) k.view_zero(p, 1, n, n);
  k.conv2d_forward(y, x, w, b, sc, N, H, H, C, OC, K, K, s, 1, OC, C); wf(y2, x, w, b, sc, N, H, H, C, OC, OC, C);
  k.conv2d_backward_input(dx, dy, w, sc, N, H, H, C, OC, K, K, s, 1, C, OC); wbi(dx2, dy, w, sc, N, H, H, C, OC, C, OC);
  k.conv2d_backward_weight(dw, 0, dy, x, sc, N, H, H, C, OC, K, K, s, 1, OC, C); wbw(dw2, 0, dy, x, sc, N, H, H, C, OC, OC, C);
  const err = { y: rel(y2, y, Y), dx: rel(dx2, dx, X), dw: rel(dw2, dw, Wn) };
  a.reset(mark);
  const kern = convKernels(N, H, H, C, OC, K, s, 1);
  const wired = [kern.fwd, kern.bwdIn, kern.bwdW].map((v) => ((f42 ? v === 'wino_s2f4' : v !== 'direct') ? 'y' : 'n')).join('/');
  return { name: sh.name.replace(/^(resnet|patchgan)\./, f42 ? 'wino42.' : 'wino.'), shape: `${H}²x${C}->${OH}²x${OC}${s2 ? ' k4s2' : ''}`, N, wired, fwd, bwdIn, bwdW, err };
}

// Direct conv against the split taps (assembly/conv3s2_split.ts) on one 3x3 stride-2 layer at batch N: per pass
// [direct ms, split ms, median of the per-pair ratios direct / split]: the forward with the weights transformed per
// call, the forward on weights packed beforehand (conv2d_forward_packed against conv3s2_split_forward_packed), the
// backward-weight; max |split - direct| / max |direct| of y and dw; wired = the dispatch takes it (per call / packed /
// backward-weight).
interface SplitS2Row {
  name: string; shape: string; N: number; wired: string;
  fwd: number[]; packed: number[]; bwdW: number[]; err: { y: number; dw: number };
}
function benchSplitS2(core: Core, sh: BenchConv, N: number): SplitS2Row {
  const { H, C, OC } = sh, OH = Math.ceil(H / 2);
  const k = core.k, a = core.arena, mark = a.mark();
  const X = N * H * H * C, Y = N * OH * OH * OC, Wn = 9 * C * OC;
  const x = a.alloc(X), w = a.alloc(Wn), b = a.alloc(OC), y = a.alloc(Y), y2 = a.alloc(Y), dy = a.alloc(Y);
  const dw = a.alloc(Wn), dw2 = a.alloc(Wn), db = a.alloc(OC);
  const wp = a.alloc(k.conv2d_packed_size(3, 3, C, OC)), U = a.alloc(k.upconv_split_packed_size(C, OC));
  const sc = a.alloc(Math.max(k.conv2d_scratch_size(N, H, H, C, OC, 3, 3, 2, 1), k.conv2d_packed_scratch_size(N, H, H, C, OC, 3, 3, 2, 1),
    k.conv3s2_split_forward_scratch_size(N, H, H, C, OC), k.conv3s2_split_packed_scratch_size(N, H, H, C, OC), k.conv3s2_split_backward_weight_scratch_size(N, H, H, C, OC)));
  randFill(core, x, X, 1); randFill(core, w, Wn, 2); randFill(core, b, OC, 3); randFill(core, dy, Y, 4);
  k.conv2d_pack(wp, w, 3, 3, C, OC); k.upconv_split_pack(U, w, sc, C, OC, OC, 0);
  const fwd = pair(() => k.conv2d_forward(y, x, w, b, sc, N, H, H, C, OC, 3, 3, 2, 1, OC, C), () => k.conv3s2_split_forward(y2, x, w, b, sc, N, H, H, C, OC, OC, C));
  const packed = pair(() => k.conv2d_forward_packed(y, x, wp, b, sc, N, H, H, C, OC, 3, 3, 2, 1, OC, C), () => k.conv3s2_split_forward_packed(y2, x, U, b, sc, N, H, H, C, OC, OC, C));
  const bwdW = pair(() => k.conv2d_backward_weight(dw, db, dy, x, sc, N, H, H, C, OC, 3, 3, 2, 1, OC, C), () => k.conv3s2_split_backward_weight(dw2, db, dy, x, sc, N, H, H, C, OC, OC, C));
  const rel = (p: number, q: number, n: number) => maxRel(core.f32(p, n), core.f32(q, n));
  for (const [p, n] of [[dw, Wn], [dw2, Wn]]) k.view_zero(p, 1, n, n);
  k.conv2d_forward(y, x, w, b, sc, N, H, H, C, OC, 3, 3, 2, 1, OC, C); k.conv3s2_split_forward(y2, x, w, b, sc, N, H, H, C, OC, OC, C);
  k.conv2d_backward_weight(dw, 0, dy, x, sc, N, H, H, C, OC, 3, 3, 2, 1, OC, C); k.conv3s2_split_backward_weight(dw2, 0, dy, x, sc, N, H, H, C, OC, OC, C);
  const err = { y: rel(y2, y, Y), dw: rel(dw2, dw, Wn) };
  a.reset(mark);
  const yn = (v: boolean) => (v ? 'y' : 'n');
  const wired = [splitS2Wins('fwd', N, H, H, C, OC, 3, 2, 1), splitS2Wins('fwd', N, H, H, C, OC, 3, 2, 1, true), splitS2Wins('bwdW', N, H, H, C, OC, 3, 2, 1)].map(yn).join('/');
  return { name: sh.name, shape: `${H}²x${C}->${OH}²x${OC} k3s2`, N, wired, fwd, packed, bwdW, err };
}

// F(2, 2) against F(4, 2) split taps on weights transformed once (inference) on one layer at batch 1: [F(2, 2) ms,
// F(4, 2) ms, median of the per-pair ratios], max |y - reference| / max |reference| of each (the reference: the
// direct conv, or the fused phases for an upconv), and whether splitF42 takes F(4, 2) there.
interface Split4Row { name: string; shape: string; pair: number[]; err: { f22: number; f42: number }; wired: boolean }
function benchSplit4(core: Core, name: string, op: 'upconv' | 's2', H: number, C: number, OC: number): Split4Row {
  const k = core.k, a = core.arena, mark = a.mark(), up = op === 'upconv';
  const OH = up ? 2 * H : Math.ceil(H / 2), X = H * H * C, Y = OH * OH * OC, Wn = 9 * C * OC;
  const x = a.alloc(X), w = a.alloc(Wn), b = a.alloc(OC), y = a.alloc(Y), y2 = a.alloc(Y), y4 = a.alloc(Y);
  const U2 = a.alloc(k.upconv_split_packed_size(C, OC)), U4 = a.alloc(k.split4_packed_size(C, OC));
  const sc = a.alloc(Math.max(up ? k.upconv_scratch_size(1, H, H, C, OC) : k.conv2d_scratch_size(1, H, H, C, OC, 3, 3, 2, 1),
    up ? k.upconv_split_packed_scratch_size(1, H, H, C, OC) : k.conv3s2_split_packed_scratch_size(1, H, H, C, OC),
    up ? k.upconv_split4_packed_scratch_size(1, H, H, C, OC) : k.conv3s2_split4_packed_scratch_size(1, H, H, C, OC)));
  randFill(core, x, X, 1); randFill(core, w, Wn, 2); randFill(core, b, OC, 3);
  k.upconv_split_pack(U2, w, sc, C, OC, OC, 0); k.split4_pack(U4, w, sc, C, OC, OC, 0);
  const f22 = () => (up ? k.upconv_split_forward_packed : k.conv3s2_split_forward_packed)(y2, x, U2, b, sc, 1, H, H, C, OC, OC, C);
  const f42 = () => (up ? k.upconv_split4_forward_packed : k.conv3s2_split4_forward_packed)(y4, x, U4, b, sc, 1, H, H, C, OC, OC, C);
  const timed = pair(f22, f42);
  if (up) k.upconv_forward(y, x, w, b, sc, 1, H, H, C, OC, OC, C);
  else k.conv2d_forward(y, x, w, b, sc, 1, H, H, C, OC, 3, 3, 2, 1, OC, C);
  f22(); f42();
  const err = { f22: maxRel(core.f32(y2, Y), core.f32(y, Y)), f42: maxRel(core.f32(y4, Y), core.f32(y, Y)) };
  a.reset(mark);
  return { name, shape: `${H}²x${C}->${OH}²x${OC}${up ? ' up' : ' k3s2'}`, pair: timed, err, wired: splitF42(op, 1, H, H, C, OC) };
}

// The split taps (F(2, 2)) against one GEMM per tap over the x pixels (upconv_taps_forward_packed) on weights packed
// once (inference) for a tiny-image upconv at batch N: [split ms, taps ms, median of the per-pair ratios], max |y -
// fused phases| / max |fused| of each, and whether upconvForward(..., packed) takes the taps there. The two alternate,
// so each reads its weights after the other has read its own (16/9 of w and w: 32 + 18 MiB for up2 at 128 px).
interface TapsRow { name: string; shape: string; pair: number[]; err: { split: number; taps: number }; wired: boolean }
function benchTaps(core: Core, name: string, N: number, H: number, C: number, OC: number): TapsRow {
  const k = core.k, a = core.arena, mark = a.mark();
  const X = N * H * H * C, Y = N * 4 * H * H * OC, Wn = 9 * C * OC;
  const x = a.alloc(X), w = a.alloc(Wn), b = a.alloc(OC), y = a.alloc(Y), y2 = a.alloc(Y), y3 = a.alloc(Y);
  const U = a.alloc(k.upconv_split_packed_size(C, OC)), T = a.alloc(k.upconv_taps_packed_size(C, OC));
  const sc = a.alloc(Math.max(k.upconv_scratch_size(N, H, H, C, OC), k.upconv_split_packed_scratch_size(N, H, H, C, OC), k.upconv_taps_scratch_size(N, H, H, C, OC)));
  randFill(core, x, X, 1); randFill(core, w, Wn, 2); randFill(core, b, OC, 3);
  k.upconv_split_pack(U, w, sc, C, OC, OC, 0); k.upconv_taps_pack(T, w, C, OC);
  const split = () => k.upconv_split_forward_packed(y2, x, U, b, sc, N, H, H, C, OC, OC, C);
  const taps = () => k.upconv_taps_forward_packed(y3, x, T, b, sc, N, H, H, C, OC, OC, C);
  const timed = pair(split, taps);
  k.upconv_forward(y, x, w, b, sc, N, H, H, C, OC, OC, C);
  split(); taps();
  const err = { split: maxRel(core.f32(y2, Y), core.f32(y, Y)), taps: maxRel(core.f32(y3, Y), core.f32(y, Y)) };
  a.reset(mark);
  return { name, shape: `N${N} ${H}²x${C}->${2 * H}²x${OC} up`, pair: timed, err, wired: upconvForward(N, H, H, C, OC, true) === 'taps' };
}

function peak(core: Core): number {
  core.k.peak_probe(1000); core.k.peak_probe(PROBE_ITERS);
  const t = timeIt(() => core.k.peak_probe(PROBE_ITERS), quick ? 5 : 9, 20);
  return (PROBE_FLOP * PROBE_ITERS) / t / 1e9;
}

// ---- tfjs-backend-wasm anchor ----
type TF = typeof import('@tensorflow/tfjs-core');
async function loadTf(): Promise<TF | null> {
  try {
    const require = createRequire(import.meta.url);
    const tf = require('@tensorflow/tfjs-core') as TF;
    const wasm = require('@tensorflow/tfjs-backend-wasm') as { setWasmPaths(p: string): void };
    const dir = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + '/';
    wasm.setWasmPaths(dir);
    if (!(await tf.setBackend('wasm'))) return null;
    await tf.ready();
    return tf;
  } catch (e) {
    console.warn(`tfjs-backend-wasm unavailable: ${(e as Error).message}`);
    return null;
  }
}

function tfConv(tf: TF, sh: BenchConv): number {
  const { H, C, OC, K, s, p } = sh;
  const x = tf.randomUniform([1, H, H, C], -1, 1) as import('@tensorflow/tfjs-core').Tensor4D;
  const f = tf.randomUniform([K, K, C, OC], -1, 1) as import('@tensorflow/tfjs-core').Tensor4D;
  const pad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [p, p], [p, p], [0, 0]];
  const t = timeIt(() => { const y = tf.conv2d(x, f, s, pad); y.dataSync(); y.dispose(); });
  x.dispose(); f.dispose();
  return (2 * convMacs(sh)) / t / 1e9;
}

function tfDeconv(tf: TF, sh: BenchDeconv): number {
  const { H, C: IC, OC, K, s } = sh;
  const Ho = (H - 1) * s - 2 * sh.p + K;
  // 'same' with k4 s2 gives Ho = 2H and one pixel of padding per side, i.e. p = 1
  if (!(K === 4 && s === 2 && sh.p === 1)) return NaN;
  const x = tf.randomUniform([1, H, H, IC], -1, 1) as import('@tensorflow/tfjs-core').Tensor4D;
  const f = tf.randomUniform([K, K, OC, IC], -1, 1) as import('@tensorflow/tfjs-core').Tensor4D;
  const t = timeIt(() => { const y = tf.conv2dTranspose(x, f, [1, Ho, Ho, OC], s, 'same'); y.dataSync(); y.dispose(); }, quick ? 1 : 3, quick ? 1 : 5);
  x.dispose(); f.dispose();
  return (2 * deconvMacs(sh)) / t / 1e9;
}

// ---- main ----
const build = resolveBuild(buildArg as 'simd' | 'relaxed' | 'auto');
const core = await loadCore({ build, maxMemoryMB: 1024 });
// the peak probe runs on both builds where relaxed SIMD is available (FMA gives the true SIMD128 ceiling; the
// mul+add probe is latency-bound), and every % is of the larger
const other = build === 'relaxed' ? await loadCore({ build: 'simd', maxMemoryMB: 256 })
  : hasRelaxedSimd() ? await loadCore({ build: 'relaxed', maxMemoryMB: 256 }) : null;
const tf = await loadTf();
// the rows are rated against the relaxed build's probe where there is one (its FMA probe is the SIMD128 ceiling)
probeCore = build === 'relaxed' || other?.build !== 'relaxed' ? core : other;

// warm-up: tier every kernel up to TurboFan before anything is timed
for (let i = 0; i < 3; i++) {
  benchConv(core, { name: 'warm', H: 16, C: 64, OC: 64, K: 3, s: 1, p: 1, count: 1 });
  benchConv(core, { name: 'warm', H: 16, C: 3, OC: 16, K: 4, s: 2, p: 1, count: 1 });
  benchDeconv(core, { name: 'warm', H: 8, C: 64, OC: 32, K: 4, s: 2, p: 1, count: 1 });
}
// measured before and after the shapes: the host is shared and noisy, a busy spell shows up as a gap
const peaks: Record<string, number> = { [build]: peak(core) };
if (other) peaks[other.build] = peak(other);
let PEAK = Math.max(...Object.values(peaks));
console.log(`peak_probe: ${Object.entries(peaks).map(([b, g]) => `${b} ${g.toFixed(1)} GFLOP/s`).join(', ')}; % of peak below is of ${PEAK.toFixed(1)}`);
console.log(`build ${build}, ${RUNS} runs per median, ${quick ? 'quick' : 'full'} pass, tfjs-backend-wasm ${tf ? tf.getBackend() : 'missing'}\n`);

const pickShapes = <T extends { name: string }>(all: T[], every: number): T[] =>
  filter ? all.filter((s) => s.name.includes(filter)) : quick ? all.filter((_, i) => i % every === every - 1) : all;
const shapes = pickShapes(CONV_SHAPES, 3);
const dshapes = pickShapes(DECONV_SHAPES, 2);
const rows: Row[] = [];
const pct = (g: number) => (Number.isFinite(g) ? `${((100 * g) / PEAK).toFixed(0)}%` : '-');
const f1 = (g: number | null) => (g === null || Number.isNaN(g) ? '-' : g.toFixed(1));
const head = `${'layer'.padEnd(28)} ${'shape'.padEnd(28)} ${'MFLOP'.padStart(7)} | ${'fwd'.padStart(5)} ${'%pk'.padStart(4)} | ${'packed'.padStart(6)} ${'%pk'.padStart(4)} | ${'bwdIn'.padStart(5)} ${'%pk'.padStart(4)} | ${'bwdW'.padStart(5)} ${'%pk'.padStart(4)} | ${'tfjs'.padStart(5)} ${'x tfjs'.padStart(6)} ${'xp tfjs'.padStart(7)} | target`;
console.log(head);
console.log('-'.repeat(head.length));
const xt = (g: number | null, t: number | null) => (g !== null && t ? (g / t).toFixed(2) + 'x' : '-');
// a row's % is of the peak probed beside each of its runs (timeVsPeak)
const of = (f: number | null) => (f === null ? '-' : `${(100 * f).toFixed(0)}%`);
const print = (r: Row) => console.log(`${r.name.padEnd(28)} ${r.shape.padEnd(28)} ${(r.gflop * 1e3).toFixed(1).padStart(7)} | ${f1(r.fwd).padStart(5)} ${of(r.ofPeak.fwd).padStart(4)} | ${f1(r.fwdPacked).padStart(6)} ${of(r.ofPeak.fwdPacked).padStart(4)} | ${f1(r.bwdIn).padStart(5)} ${of(r.ofPeak.bwdIn).padStart(4)} | ${f1(r.bwdW).padStart(5)} ${of(r.ofPeak.bwdW).padStart(4)} | ${f1(r.tfjs).padStart(5)} ${xt(r.fwd, r.tfjs).padStart(6)} ${xt(r.fwdPacked, r.tfjs).padStart(7)} | ${kernelTarget(r, PEAK).text}`);
// the first row once more, discarded: in one run (2026-12-01 02:24) the table's first forward measured 37.5
// GFLOP/s and tfjs's 7.3 against 47.6 for the same kernel timed a moment later (its packed-weights twin) and
// 15 for tfjs in earlier runs; whatever the first timing pays (tier-up, first touch of the buffers) it pays here
if (shapes.length > 0) { benchConv(core, shapes[0]); if (tf) tfConv(tf, shapes[0]); }
// Two passes over the rows, minutes apart (one with --quick): this host's speed drifts, and in the 12:56 run of
// 2026-12-01 a slow spell took unet.down3 to 28.5 GFLOP/s against 45-48 in every other run, while the peak probed
// beside it (registers only, no memory traffic) lost far less. Each figure is the better of the passes' medians,
// ours and tfjs alike; every pass is printed and kept in kernels.json.
const PASSES = quick ? 1 : 2;
const passes: Row[][] = [];
for (let pass = 0; pass < PASSES; pass++) {
  if (PASSES > 1) console.log(`pass ${pass + 1} of ${PASSES}`);
  const these: Row[] = [];
  for (const sh of shapes) {
    const r: Row = { ...benchConv(core, sh), tfjs: tf ? tfConv(tf, sh) : null };
    these.push(r); print(r);
  }
  if (dshapes.length) console.log('conv-transpose (official unet_128 decoder, ConvTranspose 4x4 s2 p1): fwd = deconv forward, bwdIn = its input gradient, tfjs = conv2dTranspose');
  for (const sh of dshapes) {
    const r: Row = { ...benchDeconv(core, sh), tfjs: tf ? tfDeconv(tf, sh) : null };
    these.push(r); print(r);
  }
  passes.push(these);
}
rows.push(...passes[0].map((r, i) => passes.slice(1).reduce((a, p) => better(a, p[i]), r)));
if (PASSES > 1) {
  console.log(`the better of the ${PASSES} passes, per figure:`);
  rows.forEach(print);
}

// FLOP-weighted totals over the layers as they occur in the nets (time = sum flop / rate)
function total(kind: 'conv' | 'deconv', key: 'fwd' | 'bwdIn' | 'bwdW' | 'tfjs'): number {
  let f = 0, t = 0;
  for (const r of rows) {
    const g = r[key];
    if (r.kind !== kind || g === null || Number.isNaN(g)) continue;
    f += r.gflop * r.count; t += (r.gflop * r.count) / g;
  }
  return f / t;
}
const totals = Object.fromEntries((['conv', 'deconv'] as const).map((kd) => [kd, Object.fromEntries((['fwd', 'bwdIn', 'bwdW', 'tfjs'] as const).map((key) => [key, total(kd, key)]))]));
console.log('-'.repeat(head.length));
for (const kd of ['conv', 'deconv'] as const) {
  const t = totals[kd];
  if (!rows.some((r) => r.kind === kd)) continue;
  console.log(`${('all ' + kd + ' layers, weighted').padEnd(57)} ${''.padStart(7)} | ${f1(t.fwd).padStart(5)} ${pct(t.fwd).padStart(4)} | ${''.padStart(11)} | ${f1(t.bwdIn).padStart(5)} ${pct(t.bwdIn).padStart(4)} | ${f1(t.bwdW).padStart(5)} ${pct(t.bwdW).padStart(4)} | ${f1(t.tfjs).padStart(5)} ${(t.tfjs ? (t.fwd / t.tfjs).toFixed(2) + 'x' : '-').padStart(6)}`);
}

// fused upsample + conv vs the two layers (effective GFLOP/s on the direct conv's FLOPs; x = separate time / fused time)
const upShapes = filter ? UPCONV_SHAPES.filter((s) => s.name.includes(filter)) : UPCONV_SHAPES;
const upRows: UpRow[] = [];
if (upShapes.length) {
  benchUpconv(core, { name: 'warm', H: 8, C: 64, OC: 64, count: 1 }, 1);
  console.log('\nupsample x2 + conv3x3, effective GFLOP/s (direct conv FLOPs / time): sep = upsample_nearest2x + conv2d, fused = upconv_*,\n' +
    'packed = upconv_forward_packed on weights packed beforehand (x: separate time / fused time);\n' +
    'split = upconv_split_forward (the taps split by parity, weights transformed per call), splitP = on weights transformed beforehand\n' +
    '(x: fused time / split time, packed / splitP), err = max |split - fused| / max |fused|, wired = the layer dispatch takes split (per call, packed);\n' +
    'splitIn, splitW = upconv_split_backward_input / _weight (x: fused time / split time), wired: taken in training;\n' +
    'parts = upconv_parts_forward (the parity parts on w\'s own taps, per call; x: fused time / parts time, split time / parts time), wired: taken per call');
  const uh = `${'layer'.padEnd(28)} ${'N shape'.padEnd(28)} ${'MFLOP'.padStart(7)} | ${'fwd sep'.padStart(7)} ${'fused'.padStart(6)} ${'x'.padStart(5)} ${'packed'.padStart(6)} ${'x'.padStart(5)} | ${'bwdIn sep'.padStart(9)} ${'fused'.padStart(6)} ${'x'.padStart(5)} | ${'bwdW sep'.padStart(8)} ${'fused'.padStart(6)} ${'x'.padStart(5)} | ${'split'.padStart(6)} ${'x'.padStart(5)} ${'splitP'.padStart(6)} ${'x'.padStart(5)} ${'err'.padStart(8)} wired    | ${'splitIn'.padStart(7)} ${'x'.padStart(5)} ${'splitW'.padStart(6)} ${'x'.padStart(5)} wired    | ${'parts'.padStart(6)} ${'x'.padStart(5)} ${'xs'.padStart(5)} wired`;
  console.log(uh);
  console.log('-'.repeat(uh.length));
  const cell = (sep: number, fu: number, w: number) => `${f1(sep).padStart(w)} ${f1(fu).padStart(6)} ${(fu / sep).toFixed(2).padStart(5)}`;
  const pk = (sep: number, p: number) => `${f1(p).padStart(6)} ${(p / sep).toFixed(2).padStart(5)}`;
  const yn = (b: boolean) => (b ? 'yes' : 'no');
  const wn = (r: UpRow) => r.split.fwd ? `${pk(r.fused.fwd, r.split.fwd)} ${pk(r.packed.fwd, r.split.packed)} ${r.split.err.toExponential(1).padStart(8)} ${`${yn(r.split.wired)}, ${yn(r.split.wiredPacked)}`.padEnd(8)} | ${pk(r.fused.bwdIn, r.split.bwdIn).padStart(13)} ${pk(r.fused.bwdW, r.split.bwdW)} ${yn(r.split.wiredIn)}, ${yn(r.split.wiredW)}` : '-';
  const pw = (r: UpRow) => `${pk(r.fused.fwd, r.parts.fwd)} ${r.split.fwd ? (r.parts.fwd / r.split.fwd).toFixed(2).padStart(5) : '    -'} ${yn(r.parts.wired)}`;
  const printUp = (r: UpRow) => console.log(`${r.name.padEnd(28)} ${(`N${r.N} ` + r.shape).padEnd(28)} ${(r.gflop * 1e3).toFixed(1).padStart(7)} | ${cell(r.sep.fwd, r.fused.fwd, 7)} ${pk(r.sep.fwd, r.packed.fwd)} | ${cell(r.sep.bwdIn, r.fused.bwdIn, 9)} | ${cell(r.sep.bwdW, r.fused.bwdW, 8)} | ${wn(r)} | ${pw(r)}`);
  for (const N of upBatch > 1 ? [1, upBatch] : [1]) {
    const these: UpRow[] = [];
    for (const sh of upShapes) { const r = benchUpconv(core, sh, N); these.push(r); upRows.push(r); printUp(r); }
    const tot = (get: (r: UpRow) => number) => {
      let f = 0, t = 0;
      for (const r of these) { f += r.gflop * r.count; t += (r.gflop * r.count) / get(r); }
      return f / t;
    };
    const sf = [tot((r) => r.sep.fwd), tot((r) => r.sep.bwdIn), tot((r) => r.sep.bwdW)];
    const ff = [tot((r) => r.fused.fwd), tot((r) => r.fused.bwdIn), tot((r) => r.fused.bwdW)];
    const pf = [tot((r) => r.packed.fwd)];
    console.log(`${`all, weighted, N${N}`.padEnd(57)} ${''.padStart(7)} | ${cell(sf[0], ff[0], 7)} ${pk(sf[0], pf[0])} | ${cell(sf[1], ff[1], 9)} | ${cell(sf[2], ff[2], 8)}`);
  }
}

// Winograd F(2x2, 3x3) against the direct conv on the encoder's stride-1 3x3 layers
const winoShapes = filter ? WINO_SHAPES.filter((s) => s.name.includes(filter) || 'wino'.includes(filter)) : WINO_SHAPES;
const winoRows: WinoRow[] = [];
if (winoShapes.length) {
  console.log('\nWinograd vs direct conv (3x3 stride 1: F(2x2, 3x3); 4x4 stride 2: F(2x2, 2x2) over the input phases): ms direct / ms Winograd, x = median of interleaved pairs (direct / Winograd);\n' +
    'rows wino42.*: F(2x2, 2x2) / F(4x4, 2x2) on the phases instead (winograd_s2 / winograd_s2f4);\n' +
    'err = max |Winograd - direct| / max |direct| (y, dx, dw); wired = the layer dispatch takes Winograd (wino42: F(4x4, 2x2)) at this shape (fwd/bwdIn/bwdW)');
  const wh = `${'layer'.padEnd(28)} ${'N shape'.padEnd(28)} | ${'fwd'.padStart(17)} | ${'bwdIn'.padStart(17)} | ${'bwdW'.padStart(17)} | ${'err y / dx / dw'.padEnd(26)} | wired`;
  console.log(wh);
  console.log('-'.repeat(wh.length));
  for (const N of winoBatch > 1 ? [1, winoBatch] : [1]) {
    for (const sh of winoShapes) {
      for (const f42 of sh.K === 4 ? [false, true] : [false]) {
        const r = benchWino(core, sh, N, f42);
        winoRows.push(r);
        console.log(`${r.name.padEnd(28)} ${(`N${N} ` + r.shape).padEnd(28)} | ${pairCell(r.fwd)} | ${pairCell(r.bwdIn)} | ${pairCell(r.bwdW)} | ${[r.err.y, r.err.dx, r.err.dw].map((e) => e.toExponential(1)).join(' / ').padEnd(26)} | ${r.wired}`);
      }
    }
  }
}

// the split taps against the direct conv on the 3x3 stride-2 layers (the generator's downs, the encoder's strided convs)
const splitShapes = CONV_SHAPES.filter((c) => c.K === 3 && c.s === 2 && c.p === 1 && c.C > 4 && (!filter || c.name.includes(filter) || 'split'.includes(filter)));
const splitRows: SplitS2Row[] = [];
if (splitShapes.length) {
  console.log('\nSplit taps vs direct conv (3x3 stride 2, assembly/conv3s2_split.ts): ms direct / ms split, x = median of interleaved pairs (direct / split);\n' +
    'packed = both forwards on weights packed beforehand (inference); err = max |split - direct| / max |direct| (y, dw); wired = the dispatch takes it (per call / packed / bwdW)');
  const sh = `${'layer'.padEnd(28)} ${'N shape'.padEnd(28)} | ${'fwd'.padStart(17)} | ${'fwd packed'.padStart(17)} | ${'bwdW'.padStart(17)} | ${'err y / dw'.padEnd(17)} | wired`;
  console.log(sh);
  console.log('-'.repeat(sh.length));
  for (const N of winoBatch > 1 ? [1, winoBatch] : [1]) {
    for (const shp of splitShapes) {
      const r = benchSplitS2(core, shp, N);
      splitRows.push(r);
      console.log(`${r.name.padEnd(28)} ${(`N${N} ` + r.shape).padEnd(28)} | ${pairCell(r.fwd)} | ${pairCell(r.packed)} | ${pairCell(r.bwdW)} | ${[r.err.y, r.err.dw].map((e) => e.toExponential(1)).join(' / ').padEnd(17)} | ${r.wired}`);
    }
  }
}

// the split taps by F(2, 2) against F(4, 2), on weights transformed once (inference), at 128 and 256 px
const SPLIT4_SHAPES: [string, 'upconv' | 's2', number, number, number][] = [128, 256].flatMap((px) => {
  const f = px / 128;
  return [['up3', 'upconv', 4, 1024, 512], ['up4', 'upconv', 8, 1024, 256], ['up5', 'upconv', 16, 512, 128], ['up6', 'upconv', 32, 256, 64],
    ['down2', 's2', 64, 64, 128], ['down3', 's2', 32, 128, 256], ['down4', 's2', 16, 256, 512], ['down5', 's2', 8, 512, 512]]
    .map(([n, op, H, C, OC]) => [`unet.${n} @${px}`, op, (H as number) * f, C, OC] as [string, 'upconv' | 's2', number, number, number]);
}).filter(([n]) => !filter || n.includes(filter) || 'split4'.includes(filter));
const split4Rows: Split4Row[] = [];
if (SPLIT4_SHAPES.length) {
  console.log('\nSplit taps F(2, 2) vs F(4, 2) on weights transformed once (inference, batch 1): ms F(2, 2) / ms F(4, 2), x = median of interleaved pairs;\n' +
    'err = max |y - reference| / max |reference| (direct conv; fused phases for an upconv); wired = splitF42 takes F(4, 2)');
  const sh = `${'layer'.padEnd(20)} ${'shape'.padEnd(26)} | ${'F22 / F42'.padStart(17)} | ${'err F22 / F42'.padEnd(17)} | wired`;
  console.log(sh);
  console.log('-'.repeat(sh.length));
  for (const [n, op, H, C, OC] of SPLIT4_SHAPES) {
    const r = benchSplit4(core, n, op, H, C, OC);
    split4Rows.push(r);
    console.log(`${r.name.padEnd(20)} ${r.shape.padEnd(26)} | ${pairCell(r.pair)} | ${[r.err.f22, r.err.f42].map((e) => e.toExponential(1)).join(' / ').padEnd(17)} | ${r.wired ? 'yes' : 'no'}`);
  }
}

// the tiny-image upconvs of the generator (up1 at 256 px, up2, up3) and a batch of them
const TAPS_SHAPES: [string, number, number, number, number][] = ([
  ['unet.up1 @256', 1, 2, 512, 512], ['unet.up2 @128', 1, 2, 1024, 512], ['unet.up2 @128', 2, 2, 1024, 512],
  ['unet.up2 @256', 1, 4, 1024, 512], ['unet.up3 @128', 1, 4, 1024, 512], ['unet.up2 @128', 4, 2, 1024, 512],
] as [string, number, number, number, number][]).filter(([n]) => !filter || n.includes(filter) || 'taps'.includes(filter));
const tapsRows: TapsRow[] = [];
if (TAPS_SHAPES.length) {
  console.log('\nSplit taps F(2, 2) vs one GEMM per tap over the x pixels on weights packed once (inference): ms split / ms taps, x = median of\n' +
    'interleaved pairs; err = max |y - fused phases| / max |fused|; wired = upconvForward(..., packed) takes the taps (conv-dispatch.ts TAPS_P)');
  const sh = `${'layer'.padEnd(20)} ${'shape'.padEnd(26)} | ${'split / taps'.padStart(17)} | ${'err split / taps'.padEnd(17)} | wired`;
  console.log(sh);
  console.log('-'.repeat(sh.length));
  for (const [n, N, H, C, OC] of TAPS_SHAPES) {
    const r = benchTaps(core, n, N, H, C, OC);
    tapsRows.push(r);
    console.log(`${r.name.padEnd(20)} ${r.shape.padEnd(26)} | ${pairCell(r.pair)} | ${[r.err.split, r.err.taps].map((e) => e.toExponential(1)).join(' / ').padEnd(17)} | ${r.wired ? 'yes' : 'no'}`);
  }
}

// memory of the generator's up layers at 128 px, batch 8: the upsampled activations (and their gradients) the
// separate layers store, against the scratch the fused kernels need instead (the graph's scratch is the max)
if (UPCONV_SHAPES.length) {
  const N = 8, MiB = (f: number) => `${((f * 4) / 2 ** 20).toFixed(1)} MiB`;
  let upF = 0, scSep = 0, scFused = 0;
  for (const s of UPCONV_SHAPES) {
    upF += N * 4 * s.H * s.H * s.C;
    scSep = Math.max(scSep, core.k.conv2d_scratch_size(N, 2 * s.H, 2 * s.H, s.C, s.OC, 3, 3, 1, 1));
    const split = upconvForward(N, s.H, s.H, s.C, s.OC) === 'split' || upconvBackwardInput(N, s.H, s.H, s.C, s.OC) === 'split'
      || upconvBackwardWeight(N, s.H, s.H, s.C, s.OC) === 'split';
    scFused = Math.max(scFused, core.k.upconv_scratch_size(N, s.H, s.H, s.C, s.OC), split ? core.k.upconv_split_scratch_size(N, s.H, s.H, s.C, s.OC) : 0);
  }
  console.log(`memory, generator up1..up6 + final at 128 px, batch 8: separate layers store ${MiB(upF)} of upsampled activations + ` +
    `${MiB(upF)} of their gradients; the fused layers store none and need ${MiB(scFused)} of scratch (the separate convs ${MiB(scSep)}): ` +
    `${MiB(2 * upF - Math.max(0, scFused - scSep))} saved at most (less where other layers' scratch is larger)`);
}

const peaksAfter: Record<string, number> = { [build]: peak(core) };
if (other) peaksAfter[other.build] = peak(other);
const after = Math.max(...Object.values(peaksAfter));
console.log(`peak_probe again after the shapes: ${Object.entries(peaksAfter).map(([b, g]) => `${b} ${g.toFixed(1)}`).join(', ')} GFLOP/s` +
  (Math.abs(after - PEAK) > 0.15 * Math.max(after, PEAK) ? ' -- differs by >15%: the host was busy, rerun for clean figures' : ''));
PEAK = Math.max(PEAK, after);

const outDir = join(here, 'out');
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'kernels.json'), JSON.stringify({
  date: new Date().toISOString(), node: process.version, build, quick, runs: RUNS, peaks, peaksAfter, peak: PEAK,
  tfjs: tf ? '@tensorflow/tfjs-backend-wasm 4.22.0 (1 thread)' : null, passes: PASSES, rows, rowsByPass: passes, totals, upconv: upRows, winograd: winoRows, splitS2: splitRows, split4: split4Rows, taps: tapsRows,
}, null, 2));
console.log(`\nwrote ${join(outDir, 'kernels.json')}`);
