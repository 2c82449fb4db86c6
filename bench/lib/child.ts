// One benchmark configuration in its own process (so its peak RSS is its own): bench/run.ts bundles this
// file with esbuild to build/bench/child.mjs and runs `node build/bench/child.mjs '<json job>'`. The last
// stdout line is `@@RESULT <json>`. Jobs:
//   prep   build our pytorch-gan Generator at `size`, init it from the seeded RNG, move its BN running stats
//          with a few train-mode forwards on random inputs (so eval-mode BN is not the identity-like init),
//          write its weights (PyTorch names and layouts) to `weights` as safetensors.
//   gen    generator inference in eval mode: ours (src/models/generator.ts; on more than one thread the
//          inference API with `threads`, f32 weights, BatchNorm folded), onnxruntime-node (native) or
//          onnxruntime-web (wasm) on the ONNX export of the same weights. With `check`, run the given input
//          once and write the output (NHWC f32) instead of timing.
//   train  our BicycleGAN.step (1 worker) on a random batch at `size`.
//   profile       where our time goes: the generator's layers (inference API) and the training step's (per batch).
//   ort-profile   onnxruntime-node's own profiler on the same generator, batch 1, 1 thread: median ms per node.
// gen and train with `turns`: after the warm-up, one timed run per `run` line on stdin (bench/lib/timing.ts timeTurns),
// so that bench/run.ts can have a configuration's runtimes take turns run by run.
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { loadCore } from '../../src/core/load-node.js';
import type { Core } from '../../src/core/loader.js';
import { Rng } from '../../src/core/rng.js';
import { parseSafetensors, serializeSafetensors, toF32 } from '../../src/core/safetensors.js';
import { DEFAULT_MODEL, type ModelConfig } from '../../src/models/config.js';
import { Generator } from '../../src/models/generator.js';
import { profileStep, type StepProfile } from './step-profile.js';
import { initNetwork } from '../../src/models/init.js';
import type { ParamStore } from '../../src/nn/params.js';
import { BicycleGAN } from '../../src/train/bicyclegan.js';
import { lcgFill, timeRuns, timeTurns, type RunPolicy, type Timing } from './timing.js';

export type GenRuntime = 'ours' | 'ort-node' | 'ort-web';

export interface CheckIO {
  /** NHWC f32 image file, f32 z file (n * latent), output file to write (NHWC f32) */
  image: string;
  z: string;
  out: string;
  n: number;
}

export type ChildJob =
  | { mode: 'prep'; size: number; weights: string; seed: number; passes: number }
  | { mode: 'gen'; runtime: GenRuntime; size: number; batch: number; threads: number; weights: string; onnx: string; policy: RunPolicy; check?: CheckIO; turns?: boolean }
  | { mode: 'train'; size: number; batch: number; workers?: number; policy: RunPolicy; turns?: boolean }
  | { mode: 'profile'; size: number; weights: string; batches: number[]; runs: number }
  | { mode: 'ort-profile'; size: number; onnx: string; runs: number; dir: string };

export interface ChildResult {
  timing?: Timing;
  /** mode profile: where the time goes (generator inference per layer, training steps per layer and pass) */
  profile?: ProfileResult;
  /** peak resident set of the process, KiB */
  maxRssKB: number;
  info?: Record<string, unknown>;
}

/** Time fn under the policy on its own (timeRuns) or, with `turns`, run by run as stdin says (timeTurns). */
function measure(fn: () => unknown, policy: RunPolicy, turns = false): Promise<Timing> {
  if (!turns) return timeRuns(fn, policy);
  return timeTurns(fn, policy, createInterface({ input: process.stdin, terminal: false }), (s) => process.stdout.write(s));
}

const modelAt = (size: number): ModelConfig => ({ ...DEFAULT_MODEL, imageSize: size });

async function core(): Promise<Core> {
  return loadCore({ maxMemoryMB: 4096 });
}

/** Load generator weights (PyTorch names/layouts, as written by prep) into a store; every entry must be there. */
export function loadStore(store: ParamStore, bytes: Uint8Array): void {
  const st = parseSafetensors(bytes);
  for (const e of store.entries) {
    const t = st.tensors.get(e.name);
    if (!t) throw new Error(`weights: ${e.name} missing`);
    store.fromTorch(e, toF32(t, e.name)); // toF32 reads I64 (num_batches_tracked) too
  }
  if (st.tensors.size !== store.entries.length) throw new Error(`weights: ${st.tensors.size} tensors, the generator has ${store.entries.length}`);
}

async function prep(job: Extract<ChildJob, { mode: 'prep' }>): Promise<ChildResult> {
  const c = await core();
  const G = new Generator(c, modelAt(job.size), 2);
  const rng = new Rng(job.seed);
  initNetwork(G.g.store, rng, 'ptg-normal');
  const img = c.f32(G.image.ptr, G.image.size), z = c.f32(G.z.ptr, G.z.size);
  for (let i = 0; i < job.passes; i++) {
    lcgFill(img, job.seed * 1000 + 2 * i + 1);
    rng.fillNormal(z);
    G.g.forward(true); // train-mode BN: running mean/var move toward the real statistics
  }
  const bytes = serializeSafetensors(G.g.store.tensorEntries(), { format: 'bicyclegan-wasm/1', config: JSON.stringify(modelAt(job.size)), net: 'G' });
  writeFileSync(job.weights, bytes);
  return { maxRssKB: process.resourceUsage().maxRSS, info: { build: c.build, tensors: G.g.store.entries.length, params: G.g.store.parameterCount } };
}

const nhwcToNchw = (x: Float32Array, N: number, S: number, C: number): Float32Array => {
  const out = new Float32Array(x.length), P = S * S;
  for (let n = 0; n < N; n++) for (let p = 0; p < P; p++) for (let ch = 0; ch < C; ch++) out[(n * C + ch) * P + p] = x[(n * P + p) * C + ch];
  return out;
};
const nchwToNhwc = (x: Float32Array, N: number, S: number, C: number): Float32Array => {
  const out = new Float32Array(x.length), P = S * S;
  for (let n = 0; n < N; n++) for (let p = 0; p < P; p++) for (let ch = 0; ch < C; ch++) out[(n * P + p) * C + ch] = x[(n * C + ch) * P + p];
  return out;
};
const readF32 = (path: string): Float32Array => {
  const b = readFileSync(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};

interface GenRunner {
  /** run on NHWC images and codes of `n` images; returns NHWC output */
  run(images: Float32Array, z: Float32Array, n: number): Promise<Float32Array>;
  /** timed call on the inputs already in place */
  timed(): Promise<void> | void;
  info: Record<string, unknown>;
  /** stop worker threads, if any */
  dispose?(): Promise<void>;
}

async function oursGen(job: Extract<ChildJob, { mode: 'gen' }>, batch: number): Promise<GenRunner> {
  // one image: the inference API (what a user runs: BN folded, weights packed once); a batch on one thread:
  // the training graph in eval mode at that batch (the inference API runs a batch image by image)
  if (job.threads > 1 || batch === 1) return oursInfer(job, batch);
  const c = await core();
  const cfg = modelAt(job.size);
  const G = new Generator(c, cfg, batch);
  loadStore(G.g.store, new Uint8Array(readFileSync(job.weights)));
  const per = job.size * job.size * cfg.channels;
  return {
    info: { build: c.build },
    async run(images, z, n) {
      if (n !== batch) throw new Error('ours: batch mismatch');
      c.f32(G.image.ptr, n * per).set(images);
      c.f32(G.z.ptr, n * cfg.latentDim).set(z);
      G.g.forward(false);
      return c.f32(G.out.ptr, n * per).slice();
    },
    timed() {
      G.g.forward(false);
    },
  };
}

/** Ours through the inference API (src/infer) on the same weights, converted to an f32 inference file (BN folded,
 * the weights packed once at load); on `threads` intra-op threads (each layer's output channels split over the
 * threads, one shared wasm memory); a batch runs image by image. */
async function oursInfer(job: Extract<ChildJob, { mode: 'gen' }>, batch: number): Promise<GenRunner> {
  const { BicycleGANInference, convertWeights } = await import('../../src/infer/index.js');
  const weights = convertWeights(new Uint8Array(readFileSync(job.weights)), { storage: 'f32', config: modelAt(job.size), nets: ['G'] });
  const m = await BicycleGANInference.create({ weights, threads: job.threads, maxMemoryMB: 4096 });
  if (m.threads !== job.threads) throw new Error(`ours: ${job.threads} threads requested, the model runs on ${m.threads}`);
  const per = job.size * job.size * 3, L = m.cfg.latentDim;
  let xs: Float32Array[] = [], zs: Float32Array[] = [], ys: Float32Array[] = [];
  return {
    info: { build: m.core.build, threads: m.threads, path: 'src/infer (f32, BatchNorm folded, weights packed at load)', packedMiB: m.memory().packedBytes / 2 ** 20 },
    dispose: () => m.dispose(),
    async run(images, z, n) {
      if (n !== batch) throw new Error('ours: batch mismatch');
      xs = Array.from({ length: n }, (_, i) => images.slice(i * per, (i + 1) * per));
      zs = Array.from({ length: n }, (_, i) => z.slice(i * L, (i + 1) * L));
      const out = new Float32Array(n * per);
      ys = Array.from({ length: n }, (_, i) => out.subarray(i * per, (i + 1) * per));
      for (let i = 0; i < n; i++) m.generate(xs[i], zs[i], ys[i]);
      return out;
    },
    // into arrays kept from run(), as a serving loop would (onnxruntime-node's runs fault no page either)
    timed() {
      for (let i = 0; i < xs.length; i++) m.generate(xs[i], zs[i], ys[i]);
    },
  };
}

type Ort = typeof import('onnxruntime-node');
async function ortGen(job: Extract<ChildJob, { mode: 'gen' }>, runtime: 'ort-node' | 'ort-web'): Promise<GenRunner> {
  const require = createRequire(import.meta.url);
  let ort: Ort;
  let opts: Record<string, unknown>;
  if (runtime === 'ort-node') {
    ort = require('onnxruntime-node') as Ort;
    opts = { executionProviders: ['cpu'], intraOpNumThreads: job.threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' };
  } else {
    ort = (await import('onnxruntime-web')) as unknown as Ort;
    const env = ort.env as unknown as { wasm: { numThreads: number; simd?: boolean } };
    env.wasm.numThreads = job.threads;
    opts = { executionProviders: ['wasm'], graphOptimizationLevel: 'all' };
  }
  const session = await ort.InferenceSession.create(job.onnx, opts);
  const S = job.size, C = 3, L = DEFAULT_MODEL.latentDim;
  let feeds: Record<string, InstanceType<Ort['Tensor']>> = {};
  const setFeeds = (images: Float32Array, z: Float32Array, n: number) => {
    feeds = { image: new ort.Tensor('float32', nhwcToNchw(images, n, S, C), [n, C, S, S]), z: new ort.Tensor('float32', z, [n, L]) };
  };
  setFeeds(lcgFill(new Float32Array(job.batch * S * S * C), 11), lcgFill(new Float32Array(job.batch * L), 12), job.batch);
  return {
    info: { inputs: session.inputNames, outputs: session.outputNames },
    async run(images, z, n) {
      setFeeds(images, z, n);
      const r = await session.run(feeds);
      return nchwToNhwc(r.out.data as Float32Array, n, S, C);
    },
    async timed() {
      const r = await session.run(feeds);
      (r.out as { dispose?: () => void }).dispose?.();
    },
  };
}

/** max |inference API - training graph| on the check batch (both f32; BN folded vs applied: ~1e-7 measured) */
const API_TOL = 1e-5;

async function gen(job: Extract<ChildJob, { mode: 'gen' }>): Promise<ChildResult> {
  const batch = job.check ? job.check.n : job.batch;
  const r = job.runtime === 'ours' ? await oursGen(job, batch) : await ortGen(job, job.runtime);
  if (job.check) {
    const image = readF32(job.check.image), z = readF32(job.check.z), n = job.check.n;
    const out = await r.run(image, z, n);
    writeFileSync(job.check.out, new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
    if (job.runtime !== 'ours') return { maxRssKB: process.resourceUsage().maxRSS, info: r.info };
    // ours: the batch above ran on the training graph; the timed batch-1 rows run the inference API (1 and 2
    // threads), which must give the same outputs (it is checked against this one, this one against PyTorch)
    const apiMaxAbs: Record<string, number> = {};
    for (const threads of [1, 2]) {
      const api = await oursInfer({ ...job, threads }, n);
      const o = await api.run(image, z, n);
      let d = 0;
      for (let i = 0; i < o.length; i++) d = Math.max(d, Math.abs(o[i] - out[i]));
      if (!(d <= API_TOL)) throw new Error(`ours: the inference API on ${threads} thread(s) differs from the training graph by ${d} (> ${API_TOL})`);
      apiMaxAbs[`${threads}`] = d;
      await api.dispose?.();
    }
    return { maxRssKB: process.resourceUsage().maxRSS, info: { ...r.info, apiMaxAbs } };
  }
  if (job.runtime === 'ours') {
    // random inputs in place once; the timed call is the forward alone (as the ORT session.run on fixed feeds)
    const S = job.size, per = S * S * 3;
    await r.run(lcgFill(new Float32Array(batch * per), 11), lcgFill(new Float32Array(batch * DEFAULT_MODEL.latentDim), 12), batch);
  }
  const timing = await measure(() => r.timed(), job.policy, job.turns);
  return { timing, maxRssKB: process.resourceUsage().maxRSS, info: r.info };
}

async function train(job: Extract<ChildJob, { mode: 'train' }>): Promise<ChildResult> {
  const workers = job.workers ?? 1;
  if (workers > 1) return trainParallel(job, workers);
  const c = await core();
  const m = new BicycleGAN(c, { batch: job.batch, seed: 1, model: { imageSize: job.size } });
  lcgFill(c.f32(m.realA.ptr, m.realA.size), 21);
  lcgFill(c.f32(m.realB.ptr, m.realB.size), 22);
  let last: Record<string, number> = {};
  const timing = await measure(() => {
    last = m.step() as unknown as Record<string, number>;
  }, job.policy, job.turns);
  for (const [k, v] of Object.entries(last)) if (!Number.isFinite(v)) throw new Error(`train: loss ${k} = ${v}`);
  return { timing, maxRssKB: process.resourceUsage().maxRSS, info: { build: c.build, steps: m.steps, losses: last } };
}

/** The same step over `workers` Piscina workers (src/parallel): the worker threads count in this process's RSS. */
async function trainParallel(job: Extract<ChildJob, { mode: 'train' }>, workers: number): Promise<ChildResult> {
  const { createParallelEngine } = await import('../../src/parallel/engine.js');
  const e = await createParallelEngine({ batch: job.batch, seed: 1, model: { imageSize: job.size }, workers });
  const n = job.batch * job.size * job.size * 3;
  e.setBatch(lcgFill(new Float32Array(n), 21), lcgFill(new Float32Array(n), 22));
  let last: Record<string, number> = {};
  try {
    const timing = await measure(async () => {
      last = (await e.step()) as unknown as Record<string, number>;
    }, job.policy, job.turns);
    for (const [k, v] of Object.entries(last)) if (!Number.isFinite(v)) throw new Error(`train: loss ${k} = ${v}`);
    return { timing, maxRssKB: process.resourceUsage().maxRSS, info: { workers: e.workers, split: e.split, steps: e.steps, losses: last } };
  } finally {
    await e.close();
  }
}

export interface ProfileResult {
  /** ours, generator at `size`, batch 1, 1 thread, through the inference API: median ms per layer */
  gen: { size: number; layers: { name: string; ms: number }[] };
  /** one-thread training steps at `size`, full widths, per batch */
  train: StepProfile[];
  /** the anchors' own profiles of the same work (bench/run.ts adds them): onnxruntime-node's generator nodes
   * (mode ort-profile) and PyTorch's training step by op class (bench/lib/torch_child.py train-profile) */
  ortGen?: OrtProfile | { skipped: string };
  torchTrain?: TorchStepProfile[] | { skipped: string };
}

/** onnxruntime-node's profiler on the generator at `size`, batch 1, 1 thread: median ms per node (its names:
 * the ONNX export's module paths, e.g. /up4/model/model.3/Relu_output_0_nchwc after its fusions). */
export interface OrtProfile {
  size: number;
  nodes: { name: string; ms: number }[];
  /** median ms of a whole run with the profiler on */
  runMs: number;
}

/** PyTorch's one-thread bicycle_step by op class (torch.profiler; inclusive ms of each class's top ops), and the
 * direct-conv FLOPs of the conv passes it runs. */
export interface TorchStepProfile {
  batch: number;
  size: number;
  ms: { conv_fwd: number; conv_bwd: number; norm: number; upsample: number; adam: number; profiled: number; plain: number };
  flops: { fwd: number; bwd: number };
  /** the ISA of its oneDNN conv kernels (ONEDNN_VERBOSE, from torch_child.py's info job: bench/run.ts adds it) */
  onednn: string;
}

/** Where our time goes: the generator's layers through the inference API (profileGenerate), and the training
 * step's layers and passes (bench/lib/step-profile.ts) at each batch. */
async function profile(job: Extract<ChildJob, { mode: 'profile' }>): Promise<ChildResult> {
  const { BicycleGANInference, convertWeights } = await import('../../src/infer/index.js');
  const weights = convertWeights(new Uint8Array(readFileSync(job.weights)), { storage: 'f32', config: modelAt(job.size), nets: ['G'] });
  const m = await BicycleGANInference.create({ weights, threads: 1, maxMemoryMB: 4096 });
  const x = lcgFill(new Float32Array(job.size * job.size * 3), 31), z = lcgFill(new Float32Array(m.cfg.latentDim), 32);
  m.profileGenerate(x, z, 2); // warm-up
  const gen = { size: job.size, layers: m.profileGenerate(x, z, job.runs) };
  const train: StepProfile[] = [];
  for (const batch of job.batches) train.push(await profileStep(await core(), { batch, size: job.size, steps: batch >= 8 ? 1 : 2 }));
  return { maxRssKB: process.resourceUsage().maxRSS, profile: { gen, train } };
}

/** onnxruntime-node's own profiler (enableProfiling) over `runs` runs of the generator, batch 1, 1 thread: the
 * median of each node's kernel time over the runs after the first five (its warm-up). */
async function ortProfile(job: Extract<ChildJob, { mode: 'ort-profile' }>): Promise<ChildResult> {
  const ort = createRequire(import.meta.url)('onnxruntime-node') as Ort;
  const prefix = join(job.dir, 'ort-profile');
  const session = await ort.InferenceSession.create(job.onnx, { executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all', enableProfiling: true, profileFilePrefix: prefix });
  const S = job.size, L = DEFAULT_MODEL.latentDim;
  const feeds = { image: new ort.Tensor('float32', lcgFill(new Float32Array(S * S * 3), 31), [1, 3, S, S]), z: new ort.Tensor('float32', lcgFill(new Float32Array(L), 32), [1, L]) };
  const runs: number[] = [];
  for (let i = 0; i < job.runs + 5; i++) {
    const t = performance.now();
    await session.run(feeds);
    if (i >= 5) runs.push(performance.now() - t);
  }
  session.endProfiling();
  await session.release();
  const file = readdirSync(job.dir).filter((f) => f.startsWith('ort-profile') && f.endsWith('.json')).map((f) => join(job.dir, f));
  if (file.length !== 1) throw new Error(`ort-profile: expected one profile file in ${job.dir}, found ${file.length}`);
  const events = JSON.parse(readFileSync(file[0], 'utf8')) as { cat: string; name: string; dur: number }[];
  rmSync(file[0]);
  const per = new Map<string, number[]>();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const name = e.name.slice(0, -'_kernel_time'.length);
    per.set(name, [...(per.get(name) ?? []), e.dur / 1000]);
  }
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1];
  const nodes = [...per].map(([name, v]) => ({ name, ms: median(v.slice(5)) }));
  return { maxRssKB: process.resourceUsage().maxRSS, info: { ortProfile: { size: S, nodes, runMs: median(runs) } satisfies OrtProfile } };
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? '') as ChildJob;
  const res = job.mode === 'prep' ? await prep(job) : job.mode === 'gen' ? await gen(job) : job.mode === 'profile' ? await profile(job)
    : job.mode === 'ort-profile' ? await ortProfile(job) : await train(job);
  process.stdout.write(`@@RESULT ${JSON.stringify(res)}\n`);
  // onnxruntime-web keeps worker threads alive: leave without waiting for them
  process.exit(0);
}

if (process.argv[1] && /child\.(mjs|ts|js)$/.test(process.argv[1])) {
  main().catch((e: unknown) => {
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  });
}
