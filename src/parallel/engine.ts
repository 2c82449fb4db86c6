// The data-parallel training engine: one BicycleGAN step spread over a Piscina pool, with the same result as
// one thread on the whole batch up to float rounding (the worker count is a performance knob only).
//
// Memory: ONE shared WebAssembly.Memory (the `threads` wasm builds import a shared memory). The main thread
// instantiates the core over it and builds a batch-1 BicycleGAN whose parameter stores are THE parameters,
// Adam m/v and BN buffers (its gradients and activations are never written: they cost address space, not
// RSS); it initialises them from the seed exactly as LocalEngine does, and owns checkpoints, the RNG and the
// counters. After it come the staging area for a step's batch and noise, then each worker's arena: workers
// lay theirs out one after the other, so the ranges are disjoint. A worker builds the networks for its shard's
// rows with its stores pointed at the shared blocks (only its gradient block is its own) and keeps its wasm
// instance for the life of the pool.
//
// A step: the main thread draws the noise of the whole batch (same RNG sequence as LocalEngine), writes batch
// and noise to the staging area and runs one task per worker. Each worker copies its rows and runs the
// ordinary BicycleGAN step with StepSync hooks: BatchNorm exchanges per-channel partial sums through an
// Atomics all-reduce (forward and backward), mean losses weigh their gradients by the shard's share, and each
// optimizer step (E mid-step, then G, then D_VAE and D_LR) is: barrier, each worker sums one slice of the
// gradient in worker order 0..W-1 (into worker 0's block), Adam on that slice, barrier.
//
// The branch split (split 'branch', and 'auto' at batch 1 and 2): two workers, each with the networks of the
// whole batch, run the two branches of the pytorch-gan step side by side (BicycleGAN.branchStep, BranchSync in
// sync.ts): the only split there is for a batch of one image, and bit-identical to one thread. Measured on this
// 2-core machine at full widths, 128 px: see README (Data-parallel training).
//
// Failure: a worker that throws or dies rejects its task; the engine raises the abort flag (every worker
// waiting at or arriving at a barrier throws), waits for the other tasks to end, destroys the pool and
// rejects with a ParallelWorkerError naming the worker and the cause. The engine is closed afterwards.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import type { Build } from '../core/features.js';
import { createCore, type Core } from '../core/loader.js';
import { resolveBuild } from '../core/load-node.js';
import { ALIGN, PAGE } from '../core/memory.js';
import type { ModelConfig } from '../models/config.js';
import type { SharedParams } from '../nn/params.js';
import { BicycleGAN, NonFiniteLossError, type BicycleGANOptions, type StepLosses, type StepNoise } from '../train/bicyclegan.js';
import { checkpointBytes, loadCheckpoint, type LoadOptions, type TrainState } from '../train/checkpoint.js';
import type { TrainEngine } from '../train/engine.js';
import type { FaultInjection, Reply, Split, Staging, Task, WorkerInit, WorkerStepStats } from './protocol.js';
import { ABORTED, CTL, CTL_INTS, ERROR_BYTES, MAX_WORKERS, NETS, abortAll, chooseSplit, shardRows, slotFloats, type Net } from './sync.js';

export { chooseSplit } from './sync.js';

export interface ParallelEngineOptions extends BicycleGANOptions {
  /** worker threads; more than the batch size is clamped to the batch size (a shard has at least one row) */
  workers: number;
  /** 'batch': shards of the rows over the workers; 'branch': the two branches of the pytorch-gan step on two
   * workers (more workers are clamped to 2); 'auto' (default): 'branch' at batch 1 and 2 with 2 or more workers, else
   * 'batch' (see chooseSplit) */
  split?: Split | 'auto';
  /** wasm build: 'auto' picks relaxed SIMD where the runtime has it (threads variant of the build) */
  build?: Build | 'auto';
  /** upper bound of the shared memory in MiB (default 4096, the wasm32 ceiling) */
  maxMemoryMB?: number;
  /** seconds to wait for the workers to start (default 120) */
  startTimeoutS?: number;
  /** seconds a step (or sampling call) may take before the workers still running it count as failed and the
   * pool is torn down (default: no limit; a full-size step on one thread takes tens of seconds) */
  stepTimeoutS?: number;
  /** test hook: make a worker fail */
  fault?: FaultInjection;
}

/** A worker failed (threw, or its thread died); the pool has been torn down. */
export class ParallelWorkerError extends Error {
  constructor(readonly worker: number | null, readonly during: string, readonly reason: Error) {
    super(`parallel engine: worker ${worker ?? '(unknown)'} failed during ${during}: ${reason.message}; the worker pool was shut down`, { cause: reason });
    this.name = 'ParallelWorkerError';
  }
}

/** Path of the threads build of a wasm build. */
export function threadsWasmPath(build: Build): string {
  const name = build === 'relaxed' ? 'core-threads-relaxed' : 'core-threads';
  return fileURLToPath(new URL(`../../build/${name}.wasm`, import.meta.url));
}

/** The worker entry: compiled JavaScript when present, else the TypeScript source run through tsx. */
function workerEntry(): { filename: string; execArgv: string[] } {
  const js = fileURLToPath(new URL('../../workers/train-worker.js', import.meta.url));
  if (existsSync(js)) return { filename: js, execArgv: [] };
  const ts = fileURLToPath(new URL('../../workers/train-worker.ts', import.meta.url));
  const tsx = createRequire(import.meta.url).resolve('tsx');
  return { filename: ts, execArgv: ['--import', pathToFileURL(tsx).href] };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class ParallelEngine implements TrainEngine {
  private closed: string | null = null;
  private busy = false;
  private eps: Float32Array;
  private zRandom: Float32Array;
  /** per worker (by rank): where its time went in the last completed step */
  lastStepStats: WorkerStepStats[] = [];

  private constructor(
    readonly core: Core,
    /** the shared parameters, Adam state, RNG and counters (batch-1 activations, unused) */
    readonly model: BicycleGAN,
    readonly workers: number,
    readonly batch: number,
    readonly split: Split,
    private readonly pool: Piscina,
    private readonly ctl: Int32Array,
    private readonly staging: Staging,
    private readonly stepTimeoutS: number,
  ) {
    const n = batch * model.cfg.latentDim;
    this.eps = new Float32Array(n);
    this.zRandom = new Float32Array(n);
  }

  static async create(o: ParallelEngineOptions): Promise<ParallelEngine> {
    const batch = o.batch;
    if (!Number.isInteger(batch) || batch < 1) throw new Error(`batch size must be a positive integer, got ${batch}`);
    if (!Number.isInteger(o.workers) || o.workers < 1 || o.workers > MAX_WORKERS)
      throw new Error(`workers must be an integer in [1, ${MAX_WORKERS}], got ${o.workers}`);
    const split = chooseSplit(o.split, o.model?.preset, o.workers, batch);
    const W = split === 'branch' ? 2 : Math.min(o.workers, batch);
    const build = resolveBuild(o.build);
    const path = threadsWasmPath(build);
    if (!existsSync(path)) throw new Error(`parallel engine: ${path} is missing; run \`npm run asbuild\` first`);
    const module = new WebAssembly.Module(readFileSync(path));
    const maxMemoryMB = o.maxMemoryMB ?? 4096;
    if (!(maxMemoryMB > 0 && maxMemoryMB <= 4096)) throw new Error(`maxMemoryMB must be in (0, 4096], got ${maxMemoryMB}`);
    const maximum = Math.floor((maxMemoryMB * 2 ** 20) / PAGE);
    const memory = new WebAssembly.Memory({ initial: 16, maximum, shared: true });
    const core = await createCore({ build, module }, { memory, maxMemoryMB });
    const { workers: _w, split: _s, build: _b, maxMemoryMB: _m, startTimeoutS, stepTimeoutS: _t, fault, ...modelOpts } = o;
    const model = new BicycleGAN(core, { ...modelOpts, batch: 1 });
    const cfg = model.cfg, px = batch * cfg.imageSize * cfg.imageSize * cfg.channels, L = batch * cfg.latentDim;
    const a = core.arena;
    const staging: Staging = { a: a.alloc(px, 'batch A'), b: a.alloc(px, 'batch B'), eps: a.alloc(L, 'eps'), zRandom: a.alloc(L, 'z_random') };
    const stores = { G: model.G.g.store, E: model.E.g.store, D_VAE: model.D_VAE.g.store, D_LR: model.D_LR.g.store };
    const blocks = Object.fromEntries(NETS.map((n) => [n, stores[n].shared()])) as Record<Net, SharedParams>;

    const ctlBuf = new SharedArrayBuffer(CTL_INTS * 4);
    const ctl = new Int32Array(ctlBuf);
    a.seal(); // the workers' ranges follow
    ctl[CTL.TOP] = Math.ceil(a.mark() / ALIGN);
    const slot = slotFloats(8 * Math.max(cfg.gBase, cfg.eBase, cfg.dBase));
    const init: WorkerInit = {
      build, module, memory, maxMemoryMB, ctl: ctlBuf, slots: new SharedArrayBuffer(2 * W * slot * 8), slotFloats: slot,
      errors: new SharedArrayBuffer(ERROR_BYTES), workers: W, batch, split,
      model: { model: o.model, adam: o.adam, lambdas: o.lambdas, seed: o.seed }, blocks, staging, fault,
    };
    const pool = new Piscina({
      ...workerEntry(), workerData: init, minThreads: W, maxThreads: W, idleTimeout: Infinity, concurrentTasksPerWorker: 1,
    });
    const startupErrors: Error[] = [];
    // a worker error outside a task (e.g. while loading): recorded for the start-up wait; a task it held rejects
    pool.on('error', (e: Error) => {
      startupErrors.push(e);
      abortAll(ctl);
    });
    // wait until every worker has laid out its arena and built its networks
    const deadline = Date.now() + (startTimeoutS ?? 120) * 1000;
    for (;;) {
      if (Atomics.load(ctl, CTL.TURN) >= W) break;
      const failed = Atomics.load(ctl, CTL.FAILED);
      if (failed || startupErrors.length || Date.now() > deadline) {
        abortAll(ctl);
        await pool.destroy().catch(() => {});
        const msg = failed ? new TextDecoder().decode(new Uint8Array(init.errors)).replace(/\0+$/, '')
          : startupErrors.length ? startupErrors[0].message : `workers did not start within ${startTimeoutS ?? 120} s`;
        throw new Error(`parallel engine: could not start ${W} workers: ${msg}`);
      }
      await sleep(5);
    }
    return new ParallelEngine(core, model, W, batch, split, pool, ctl, staging, o.stepTimeoutS ?? 0);
  }

  get cfg(): ModelConfig {
    return this.model.cfg;
  }
  get steps(): number {
    return this.model.steps;
  }
  /** Bytes of shared memory in use (parameters + every worker's arena). */
  get memoryBytes(): number {
    return Atomics.load(this.ctl, CTL.TOP) * ALIGN;
  }

  private check(what: string): void {
    if (this.closed) throw new Error(`parallel engine: cannot ${what}: ${this.closed}`);
    if (this.busy) throw new Error(`parallel engine: cannot ${what} while a step or sampling call is running (await it first)`);
  }

  setBatch(a: Float32Array, b: Float32Array): void {
    this.check('set a batch');
    const n = this.batch * this.cfg.imageSize ** 2 * this.cfg.channels;
    if (a.length !== n || b.length !== n)
      throw new Error(`setBatch: expected ${n} floats per side (batch ${this.batch} x ${this.cfg.imageSize}^2 x ${this.cfg.channels}), got ${a.length} and ${b.length}`);
    this.core.f32(this.staging.a, n).set(a);
    this.core.f32(this.staging.b, n).set(b);
  }

  /** Put a step's (or recalibration pass's) noise of the whole batch into the staging area. */
  private stageNoise(noise: StepNoise): void {
    const n = this.batch * this.cfg.latentDim;
    if (noise.eps.length !== n || noise.zRandom.length !== n) throw new Error(`step noise must have batch * latentDim = ${n} values each`);
    this.core.f32(this.staging.eps, n).set(noise.eps);
    this.core.f32(this.staging.zRandom, n).set(noise.zRandom);
  }

  async step(noise?: StepNoise, lr?: number): Promise<StepLosses> {
    this.check('step');
    const m = this.model;
    if (!noise) {
      m.rng.fillNormal(this.eps);
      m.rng.fillNormal(this.zRandom);
    }
    this.stageNoise(noise ?? { eps: this.eps, zRandom: this.zRandom });
    const stepNo = m.steps + 1;
    const adamSteps = { G: m.opt.G.step, E: m.opt.E.step, D_VAE: m.opt.D_VAE.step, D_LR: m.opt.D_LR.step };
    const replies = (await this.runAll(`step ${stepNo}`, (slot) => ({ kind: 'step', slot, step: stepNo, adamSteps, lr }))).sort((x, y) => x.rank - y.rank);
    for (const r of replies) if (r.kind !== 'step' && r.kind !== 'nonfinite' && r.kind !== 'stopped') throw new Error(`parallel engine: unexpected reply ${r.kind} to a step`);
    const r = replies[0] as Extract<Reply, { adamSteps: unknown }>;
    for (const net of NETS) m.opt[net].step = r.adamSteps[net];
    this.lastStepStats = replies.flatMap((x) => (x.kind === 'step' ? [x.stats] : []));
    // the first rank's non-finite loss (a branch split's rank 0 holds the terms ptgStep computes first)
    const bad = replies.find((x) => x.kind === 'nonfinite');
    if (bad) {
      // a branch-split worker stopped the other: clear the flag and the barrier it left half passed
      Atomics.store(this.ctl, CTL.STOP, 0);
      Atomics.store(this.ctl, CTL.COUNT, 0);
      throw new NonFiniteLossError(bad.term, bad.value, stepNo);
    }
    m.steps = stepNo;
    const losses = Object.assign({}, ...replies.map((x) => (x.kind === 'step' ? x.losses : {}))) as StepLosses;
    if (this.split === 'branch') losses.ge = m.geOf(losses);
    return losses;
  }

  /** Every worker runs the pass on its rows; BatchNorm sums the shards' statistics as in the step. */
  async recalibrationPass(k: number, noise: StepNoise): Promise<void> {
    this.check('recalibrate');
    this.stageNoise(noise);
    // branch split: every worker holds the whole batch, so one runs the pass (two would update the stats twice)
    await this.runAll(`recalibration pass ${k}`, (slot) => ({ kind: 'recalibrate', slot, k }), this.split === 'branch' ? 1 : this.workers);
  }

  async generate(images: Float32Array, z: Float32Array, n: number, batchStats = false): Promise<Float32Array> {
    this.check('generate');
    if (batchStats) throw new Error('generate: batch statistics need the one-thread engine (workers 1)');
    const per = this.cfg.imageSize ** 2 * this.cfg.channels, L = this.cfg.latentDim;
    if (!Number.isInteger(n) || n < 0 || images.length !== n * per || z.length !== n * L)
      throw new Error(`generate: expected ${n * per} image floats and ${n * L} code floats`);
    return this.spread('generate', n, per, (slot, i, k) => ({ kind: 'generate', slot, images: images.slice(i * per, (i + k) * per), z: z.slice(i * L, (i + k) * L), n: k }));
  }

  async encode(images: Float32Array, n: number, batchStats = false): Promise<Float32Array> {
    this.check('encode');
    if (batchStats) throw new Error('encode: batch statistics need the one-thread engine (workers 1)');
    const per = this.cfg.imageSize ** 2 * this.cfg.channels, L = this.cfg.latentDim;
    if (!Number.isInteger(n) || n < 0 || images.length !== n * per) throw new Error(`encode: expected ${n * per} image floats`);
    return this.spread('encode', n, L, (slot, i, k) => ({ kind: 'encode', slot, images: images.slice(i * per, (i + k) * per), n: k }));
  }

  /** n samples in contiguous parts, one task per worker; outputs of `outPer` floats each, in order. */
  private async spread(what: string, n: number, outPer: number, task: (slot: number, i: number, k: number) => Task): Promise<Float32Array> {
    const out = new Float32Array(n * outPer);
    if (n === 0) return out;
    const parts = shardRows(n, Math.min(this.workers, n));
    const starts = parts.map((_, j) => parts.slice(0, j).reduce((s, v) => s + v, 0));
    const replies = await this.runAll(what, (slot) => task(slot, starts[slot], parts[slot]), parts.length);
    replies.forEach((r, j) => {
      if (r.kind !== 'generate' && r.kind !== 'encode') throw new Error(`parallel engine: unexpected reply ${r.kind} to ${what}`);
      out.set(r.out, starts[j] * outPer);
    });
    return out;
  }

  /** Run one task per slot; on any failure abort all, tear the pool down and throw naming the worker. */
  private async runAll(what: string, make: (slot: number) => Task, count = this.workers): Promise<Reply[]> {
    this.busy = true;
    const ctl = this.ctl;
    for (let s = 0; s < count; s++) Atomics.store(ctl, CTL.TASK + s, 0);
    let failure: { slot: number; err: Error } | null = null;
    const aborted = (e: Error) => e.message.includes(ABORTED);
    const fail = (s: number, e: Error) => {
      if (!failure || (aborted(failure.err) && !aborted(e))) failure = { slot: s, err: e };
      abortAll(ctl); // workers waiting at a barrier for the failed one throw instead of hanging
    };
    const done = new Array<boolean>(count).fill(false);
    let timer: NodeJS.Timeout | undefined;
    try {
      const tasks = Array.from({ length: count }, (_, s) => (this.pool.run(make(s)) as Promise<Reply>).then((r) => {
        done[s] = true;
        return r;
      }, (err: unknown) => {
        done[s] = true;
        fail(s, err instanceof Error ? err : new Error(String(err)));
        throw err;
      }));
      let settled = Promise.allSettled(tasks);
      if (this.stepTimeoutS > 0) {
        // a worker stuck outside a barrier (a loop that never ends) cannot see the abort flag: past the limit,
        // release the workers waiting at barriers (they answer within a moment), name one that still has not
        // answered and terminate the pool, which stops its thread
        const after = (s: number) => new Promise<null>((r) => (timer = setTimeout(() => r(null), s * 1000).unref()));
        if ((await Promise.race([settled, after(this.stepTimeoutS)])) === null) {
          abortAll(ctl);
          await Promise.race([settled, after(2)]);
          const s = done.findIndex((d) => !d); // -1: all answered in the grace period (aborted); name slot 0's
          fail(Math.max(s, 0), new Error(`no answer within ${this.stepTimeoutS} s`));
          await this.shutdown('a worker did not answer');
          settled = Promise.allSettled(tasks);
        }
      }
      const results = await settled;
      const f = failure as { slot: number; err: Error } | null;
      if (f) {
        const rank = Atomics.load(ctl, CTL.TASK + f.slot) - 1;
        const err = new ParallelWorkerError(rank >= 0 ? rank : null, what, f.err);
        await this.shutdown(err.message);
        this.closed = err.message;
        throw err;
      }
      return results.map((s) => (s as PromiseFulfilledResult<Reply>).value);
    } finally {
      clearTimeout(timer);
      this.busy = false;
    }
  }

  checkpoint(state: { epoch: number; extra?: Record<string, unknown> }): Uint8Array {
    this.check('checkpoint');
    return checkpointBytes(this.model, state);
  }

  restore(bytes: Uint8Array, opts?: LoadOptions): TrainState | null {
    this.check('restore');
    return loadCheckpoint(this.model, bytes, opts);
  }

  private async shutdown(reason: string): Promise<void> {
    if (this.closed) return;
    this.closed = reason;
    abortAll(this.ctl);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([ // destroy terminates the threads; bounded in case one does not answer
      this.pool.destroy().catch(() => {}),
      new Promise<void>((r) => (timer = setTimeout(r, 10_000).unref())),
    ]);
    clearTimeout(timer);
  }

  async close(): Promise<void> {
    await this.shutdown('the engine is closed');
  }
}

/** The factory the trainer imports for --workers > 1. */
export function createParallelEngine(opts: ParallelEngineOptions): Promise<ParallelEngine> {
  return ParallelEngine.create(opts);
}
