// A Piscina worker of the ParallelEngine (src/parallel/engine.ts). On load it claims a rank, waits for its turn
// to lay out its arena in the ONE shared wasm memory, instantiates the core once and builds the BicycleGAN of
// its shard (parameters, Adam state and BN buffers point at the main thread's shared blocks; activations and
// gradients are its own). Tasks then carry only small messages; the batch and noise are read from the shared
// staging area. With the branch split (init.split) the two workers each build the whole batch and run one
// branch of the step (BicycleGAN.branchStep) through a BranchSync. Run as TypeScript through tsx (the engine passes `--import tsx`) or as compiled JavaScript.
import { workerData } from 'node:worker_threads'; // Piscina hands its workerData through unchanged
import { createCoreSync } from '../src/core/loader.js';
import { ALIGN } from '../src/core/memory.js';
import { BicycleGAN, NonFiniteLossError, type StepNoise } from '../src/train/bicyclegan.js';
import { recalibrationPass } from '../src/train/recalibrate.js';
import { BranchSync, CTL, NETS, StoppedError, WorkerSync, shardRows, stopAll, type Net } from '../src/parallel/sync.js';
import type { Reply, Task, WorkerInit } from '../src/parallel/protocol.js';

const init = workerData as WorkerInit;
const ctl = new Int32Array(init.ctl);
const rank = Atomics.add(ctl, CTL.RANK, 1);
const W = init.workers;

interface Shard {
  model: BicycleGAN;
  /** batch split: the shard's StepSync (set on the model); branch split: the step's BranchSync */
  sync: WorkerSync | BranchSync;
  row0: number;
  rows: number;
}

function fail(e: unknown): never {
  // tell the main thread why this worker could not start (it waits on TURN and FAILED)
  const text = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  const msg = new TextEncoder().encode(`worker ${rank}: ${text}`).subarray(0, 4000);
  const buf = new Uint8Array(init.errors);
  buf.set(msg);
  Atomics.store(ctl, CTL.FAILED, rank + 1);
  Atomics.add(ctl, CTL.TURN, 0);
  Atomics.notify(ctl, CTL.TURN);
  throw e;
}

function start(): Shard | null {
  if (rank >= W) return null; // a replacement thread after a failure: the pool is being torn down
  // one worker at a time lays out its arena after the previous one's (disjoint ranges of the shared memory)
  for (;;) {
    const turn = Atomics.load(ctl, CTL.TURN);
    if (turn === rank) break;
    if (Atomics.load(ctl, CTL.ABORT) !== 0 || Atomics.load(ctl, CTL.FAILED) !== 0) return null;
    Atomics.wait(ctl, CTL.TURN, turn, 1000);
  }
  try {
    const core = createCoreSync({ build: init.build, module: init.module },
      { memory: init.memory, maxMemoryMB: init.maxMemoryMB, arenaBase: Atomics.load(ctl, CTL.TOP) * ALIGN });
    const branch = init.split === 'branch';
    // the branch split runs both workers on the whole batch
    const rows = branch ? [init.batch, init.batch] : shardRows(init.batch, W);
    const row0 = branch ? 0 : rows.slice(0, rank).reduce((a, b) => a + b, 0);
    const model = new BicycleGAN(core, { ...init.model, batch: rows[rank], shared: init.blocks, branch });
    for (const [i, net] of NETS.entries()) {
      const s = { G: model.G, E: model.E, D_VAE: model.D_VAE, D_LR: model.D_LR }[net].g.store;
      Atomics.store(ctl, CTL.GRADS + rank * NETS.length + i, s.base.grad / ALIGN);
    }
    let sync: WorkerSync | BranchSync;
    if (branch) {
      const b = sync = new BranchSync(core, ctl, rank as 0 | 1, init.blocks, ALIGN);
      // rank 1's cLR backward accumulates G's weight gradients into rank 0's block (BicycleGAN.branchStep); its
      // own G gradient block stays untouched (no RSS). Rank 0 laid out and published its blocks before this turn.
      if (rank === 1) model.G.g.store.base.grad = b.gradOf(0, 'G');
    }
    else model.setSync(sync = new WorkerSync(core, ctl, new Float64Array(init.slots), init.slotFloats, rank, W, init.batch, rows[rank], init.blocks, ALIGN));
    core.arena.seal(); // the next worker's range starts here
    Atomics.store(ctl, CTL.TOP, Math.ceil(core.arena.mark() / ALIGN));
    Atomics.store(ctl, CTL.TURN, rank + 1);
    Atomics.notify(ctl, CTL.TURN);
    return { model, sync, row0, rows: rows[rank] };
  } catch (e) {
    fail(e);
  }
}

// Built synchronously while the module loads: Piscina's worker blocks its event loop in Atomics.wait between
// tasks (so a promise-based start would never finish), and top-level await breaks tsx's loader under Piscina.
let shard: Shard | null = null;
let startError: unknown = null;
try {
  shard = start();
} catch (e) {
  startError = e; // also reported through the control block
}

function adamSteps(m: BicycleGAN): Record<Net, number> {
  return { G: m.opt.G.step, E: m.opt.E.step, D_VAE: m.opt.D_VAE.step, D_LR: m.opt.D_LR.step };
}

/** Copy this shard's rows of the staged batch into the model's inputs; returns its rows of the staged noise. */
function takeRows(s: Shard): StepNoise {
  const { model: m, row0, rows } = s, core = m.core;
  const px = m.realA.size / rows, L = m.cfg.latentDim, st = init.staging;
  core.f32(m.realA.ptr, m.realA.size).set(core.f32(st.a + row0 * px * 4, rows * px));
  core.f32(m.realB.ptr, m.realB.size).set(core.f32(st.b + row0 * px * 4, rows * px));
  return { eps: core.f32(st.eps + row0 * L * 4, rows * L).slice(), zRandom: core.f32(st.zRandom + row0 * L * 4, rows * L).slice() };
}

function step(s: Shard, t: Extract<Task, { kind: 'step' }>): Reply {
  const { model: m, rows } = s, t0 = performance.now();
  s.sync.takeStats(); // count this step only
  for (const net of NETS) m.opt[net].step = t.adamSteps[net];
  const { eps, zRandom } = takeRows(s);
  const f = init.fault;
  if (f && f.worker === rank && f.step === t.step) {
    if (f.kind === 'exit') process.exit(70);
    if (f.kind === 'hang') for (;;); // only terminating the thread ends this
    throw new Error(`injected fault at step ${t.step}`);
  }
  const sync = s.sync;
  try {
    const losses = sync instanceof BranchSync ? m.branchStep(sync, { eps, zRandom }, t.lr) : m.step({ eps, zRandom }, t.lr);
    const stats = { rank, rows, taskMs: performance.now() - t0, ...sync.takeStats() };
    return { kind: 'step', rank, losses, adamSteps: adamSteps(m), stats };
  } catch (e) {
    if (e instanceof NonFiniteLossError) {
      if (sync instanceof BranchSync) stopAll(ctl); // the other branch is (or will be) waiting for this one
      return { kind: 'nonfinite', rank, term: e.term, value: e.value, adamSteps: adamSteps(m) };
    }
    if (e instanceof StoppedError) return { kind: 'stopped', rank, adamSteps: adamSteps(m) };
    throw e;
  }
}

/** Eval-mode G (or E) over n samples in chunks of this shard's batch, as LocalEngine does. */
function sample(s: Shard, t: Extract<Task, { kind: 'generate' | 'encode' }>): Reply {
  const { model: m } = s, core = m.core, L = m.cfg.latentDim, B = s.rows;
  if (t.kind === 'generate') {
    const G = m.G, per = G.image.size / B, out = new Float32Array(t.n * per);
    for (let i = 0; i < t.n; i += B) {
      const k = Math.min(B, t.n - i);
      core.f32(G.image.ptr, G.image.size).fill(0).set(t.images.subarray(i * per, (i + k) * per));
      core.f32(G.z.ptr, B * L).fill(0).set(t.z.subarray(i * L, (i + k) * L));
      G.g.forward(false);
      out.set(core.f32(G.out.ptr, k * per), i * per);
    }
    return { kind: 'generate', rank, out };
  }
  const E = m.E, per = E.image.size / B, out = new Float32Array(t.n * L);
  E.image.needsGrad = false;
  for (let i = 0; i < t.n; i += B) {
    const k = Math.min(B, t.n - i);
    core.f32(E.image.ptr, E.image.size).fill(0).set(t.images.subarray(i * per, (i + k) * per));
    E.g.forward(false);
    out.set(core.f32(E.mu.ptr, k * L), i * L);
  }
  return { kind: 'encode', rank, out };
}

export default function run(t: Task): Reply {
  Atomics.store(ctl, CTL.TASK + t.slot, rank + 1);
  if (startError) throw startError;
  if (!shard) throw new Error(`worker ${rank} is not part of the pool (${W} workers)`);
  switch (t.kind) {
    case 'step':
      return step(shard, t);
    case 'recalibrate':
      recalibrationPass(shard.model, t.k, takeRows(shard));
      return { kind: 'recalibrate', rank };
    case 'generate':
    case 'encode':
      return sample(shard, t);
    default:
      throw new Error(`worker ${rank}: unknown task ${JSON.stringify(t satisfies never)}`);
  }
}
