// The synchronisation of data-parallel workers over SharedArrayBuffers: a barrier and an all-reduce built on
// Atomics, so BatchNorm's per-layer exchanges cost a few microseconds, not a message round trip each.
// The control block (Int32Array) also carries the start-up handshake (ranks, the turn to lay out memory),
// the abort flag the main thread raises when a worker fails, and which worker took which task.
// Sums are taken in worker order 0, 1, ..., W-1 in every worker, so all workers hold bit-identical results.
import type { Adam } from '../train/adam.js';
import type { BranchSync as BranchHooks, StepSync } from '../train/bicyclegan.js';
import type { Core } from '../core/loader.js';
import type { SharedParams } from '../nn/params.js';
import type { Split } from './protocol.js';
import { spinFor, waitWhile } from '../core/wait.js';

/** Int32 slots of the control block. */
export const CTL = {
  /** barrier: arrivals in the current generation, and the generation */
  COUNT: 0,
  GEN: 1,
  /** set (with a GEN bump) by the main thread to make every waiting or arriving worker throw */
  ABORT: 2,
  /** next rank to hand out: each worker thread claims one when its module loads */
  RANK: 3,
  /** rank whose turn it is to lay out its arena (W when all are done) */
  TURN: 4,
  /** end of the arenas laid out so far, in ALIGN units */
  TOP: 5,
  /** rank + 1 of a worker that failed to start (its message is in the error buffer) */
  FAILED: 6,
  /** set (with a GEN bump) by a branch-split worker whose step stopped on a non-finite loss: the other worker's
   * barriers throw STOPPED; the main thread clears it (and the barrier count) before the next task */
  STOP: 7,
  /** per task slot: rank + 1 of the worker that took it */
  TASK: 8,
  /** per rank and network: gradient block base in ALIGN units (after TASK + MAX_WORKERS) */
  GRADS: 8 + 64,
} as const;
export const MAX_WORKERS = 64;
export const NETS = ['G', 'E', 'D_VAE', 'D_LR'] as const;
export type Net = (typeof NETS)[number];
export const CTL_INTS = CTL.GRADS + MAX_WORKERS * NETS.length;
/** f64 per all-reduce slot: 2 * channels of the widest BatchNorm (8 * base width) */
export function slotFloats(maxChannels: number): number {
  return Math.ceil((2 * maxChannels) / 8) * 8;
}
export const ERROR_BYTES = 4096;

/** Thrown in a worker whose wait was cut short because another worker failed. */
export const ABORTED = '[aborted]';

/** Thrown in a branch-split worker whose wait was cut short because the other one stopped on a non-finite loss. */
export class StoppedError extends Error {
  constructor() {
    super('[stopped] the other branch stopped the step');
    this.name = 'StoppedError';
  }
}

/** Stop the step in every worker (a branch-split worker that met a non-finite loss). */
export function stopAll(ctl: Int32Array): void {
  Atomics.store(ctl, CTL.STOP, 1);
  Atomics.add(ctl, CTL.GEN, 1);
  Atomics.notify(ctl, CTL.GEN);
}

export class Barrier {
  /** barriers passed and milliseconds spent waiting in them, and in the updates between them (the step
   * statistics of the sync that owns this barrier) */
  passed = 0;
  waitMs = 0;
  updateMs = 0;

  /** The statistics since the last call, and start counting afresh. */
  takeStats(): SyncStats {
    const r = { barriers: this.passed, waitMs: this.waitMs, updateMs: this.updateMs };
    this.passed = this.waitMs = this.updateMs = 0;
    return r;
  }

  /** ms to spin before sleeping: SPIN_MS while every worker can have a core */
  private readonly spinMs: number;

  constructor(readonly ctl: Int32Array, readonly W: number) {
    this.spinMs = spinFor(W);
  }

  wait(): void {
    const c = this.ctl, t0 = performance.now();
    if (Atomics.load(c, CTL.ABORT) !== 0) throw new Error(`${ABORTED} another worker failed`);
    if (Atomics.load(c, CTL.STOP) !== 0) throw new StoppedError();
    const gen = Atomics.load(c, CTL.GEN);
    this.passed++;
    if (Atomics.add(c, CTL.COUNT, 1) === this.W - 1) {
      Atomics.store(c, CTL.COUNT, 0);
      Atomics.add(c, CTL.GEN, 1);
      Atomics.notify(c, CTL.GEN);
    } else {
      waitWhile(c, CTL.GEN, gen, true, undefined, this.spinMs);
    }
    this.waitMs += performance.now() - t0;
    if (Atomics.load(c, CTL.ABORT) !== 0) throw new Error(`${ABORTED} another worker failed`);
    if (Atomics.load(c, CTL.STOP) !== 0) throw new StoppedError();
  }
}

/** Raise the abort flag and wake every waiting worker (main thread). */
export function abortAll(ctl: Int32Array): void {
  Atomics.store(ctl, CTL.ABORT, 1);
  Atomics.add(ctl, CTL.GEN, 1);
  Atomics.notify(ctl, CTL.GEN);
  Atomics.add(ctl, CTL.TURN, 0);
  Atomics.notify(ctl, CTL.TURN);
}

/** Largest batch 'auto' runs with the branch split: at batch 1 a batch split has nothing to share out; at
 * batch 2 both use 2 workers and the branch split's 4 barriers a step (the batch split's ~225) measured faster
 * on this shared 2-core machine (README, Data-parallel training); from batch 3 the batch split can use more
 * workers than two, and at batch 8 it keeps the two cores busy (1.77x one thread in bench/RESULTS.md). */
export const BRANCH_MAX_BATCH = 2;

/** The split of a step: 'auto' is 'branch' for the pytorch-gan preset on 2 or more workers up to batch
 * BRANCH_MAX_BATCH, else 'batch'. 'branch' needs the pytorch-gan preset and 2 or more workers. */
export function chooseSplit(split: Split | 'auto' | undefined, preset: string | undefined, workers: number, batch: number): Split {
  const ptg = preset !== 'official';
  if (split === 'branch') {
    if (!ptg) throw new Error('the branch split runs the pytorch-gan step only (the official preset has one G+E update)');
    if (workers < 2) throw new Error(`the branch split needs 2 workers, got ${workers}`);
    return 'branch';
  }
  if (split === undefined || split === 'auto') return ptg && workers >= 2 && batch <= BRANCH_MAX_BATCH ? 'branch' : 'batch';
  if (split !== 'batch') throw new Error(`split must be batch, branch or auto, got ${JSON.stringify(split)}`);
  return 'batch';
}

/** Rows of each shard: the first batch % W shards take one more. */
export function shardRows(batch: number, W: number): number[] {
  return Array.from({ length: W }, (_, r) => Math.floor(batch / W) + (r < batch % W ? 1 : 0));
}

/** Float range [from, to) of a block of `floats` that rank `r` of W reduces and updates (multiples of 16). */
export function paramRange(floats: number, r: number, W: number): [number, number] {
  const chunks = Math.ceil(floats / 16);
  const at = (i: number) => Math.min(floats, Math.floor((chunks * i) / W) * 16);
  return [at(r), at(r + 1)];
}

/** Where one worker's time went in one step (or sampling call): the engine collects them per rank. */
export interface SyncStats {
  /** barriers passed (BatchNorm and loss all-reduces, two per optimizer step) */
  barriers: number;
  /** milliseconds spent waiting at them for the other workers */
  waitMs: number;
  /** milliseconds of gradient reduction + Adam on this worker's slice (barrier waits excluded) */
  updateMs: number;
}

/** The StepSync of one worker: BN all-reduce through the slots, gradient reduction + sliced Adam in update(). */
export class WorkerSync implements StepSync {
  readonly leader: boolean;
  readonly share: number;
  /** batch-global index of this worker's first row (its shard is rows [row0, row0 + rows)) */
  readonly row0: number;
  private calls = 0;
  private readonly barrier: Barrier;

  constructor(
    readonly core: Core,
    readonly ctl: Int32Array,
    readonly slots: Float64Array,
    readonly slot: number,
    readonly rank: number,
    readonly W: number,
    readonly batch: number,
    rows: number,
    readonly blocks: Record<Net, SharedParams>,
    readonly align: number,
  ) {
    this.leader = rank === 0;
    this.share = rows / batch;
    this.row0 = shardRows(batch, W).slice(0, rank).reduce((a, b) => a + b, 0);
    this.barrier = new Barrier(ctl, W);
  }

  wait(): void {
    this.barrier.wait();
  }

  /** The statistics since the last call, and start counting afresh. */
  takeStats(): SyncStats {
    return this.barrier.takeStats();
  }

  allReduce(values: Float64Array): void {
    const n = values.length, S = this.slot, s = this.slots;
    if (n > S) throw new Error(`all-reduce of ${n} values exceeds the ${S}-value slot`);
    // two slot sets used alternately: a worker may write set p again only after the barrier of the next
    // all-reduce, which every worker reaches after reading set p
    const base = (this.calls++ & 1) * this.W * S;
    s.set(values, base + this.rank * S);
    this.barrier.wait();
    if (this.W === 1) return;
    for (let i = 0; i < n; i++) {
      let acc = s[base + i];
      for (let w = 1; w < this.W; w++) acc += s[base + w * S + i];
      values[i] = acc;
    }
  }

  /** Gradient base of rank r for a network (published by each worker after laying out its arena). */
  gradOf(r: number, net: Net): number {
    return Atomics.load(this.ctl, CTL.GRADS + r * NETS.length + NETS.indexOf(net)) * this.align;
  }

  update(opt: Adam, lr?: number): void {
    const net = opt.store.net as Net, b = this.blocks[net], k = this.core.k;
    if (!b) throw new Error(`no shared blocks for network ${net}`);
    this.barrier.wait(); // every shard's gradient is complete
    const t0 = performance.now();
    const [from, to] = paramRange(b.paramFloats, this.rank, this.W);
    const n = to - from, o = from * 4, sum = this.gradOf(0, net) + o;
    opt.step += 1;
    if (n > 0) {
      // the sum, in worker order, lands in worker 0's own gradient block: each slice is summed by exactly one
      // worker, and no gradient of this network is read again before the next step zeroes it. Same additions
      // as into a separate block, without one more pass over the parameters (and without that block)
      for (let w = 1; w < this.W; w++) k.add_forward(sum, sum, this.gradOf(w, net) + o, 1, n, n, n, n);
      const { beta1, beta2, eps } = opt.cfg;
      k.adam_update(b.value + o, sum, b.m + o, b.v + o, lr ?? opt.cfg.lr, beta1, beta2, eps, opt.step, n);
    }
    this.barrier.updateMs += performance.now() - t0;
    this.barrier.wait(); // every shard sees the new parameters before it reads them or zeroes its gradients
  }
}

/**
 * The BranchSync of one of the two workers of a branch-split step (BicycleGAN.branchStep): each runs one branch
 * on the whole batch, so nothing is all-reduced and every gradient is complete in one rank's block (G's in rank
 * 0's, which rank 1 accumulates into); an update is a barrier, Adam on this worker's slice of each network from
 * that block, a barrier.
 */
export class BranchSync implements BranchHooks {
  private readonly barrier: Barrier;

  constructor(
    readonly core: Core,
    readonly ctl: Int32Array,
    readonly rank: 0 | 1,
    readonly blocks: Record<Net, SharedParams>,
    readonly align: number,
  ) {
    this.barrier = new Barrier(ctl, 2);
  }

  takeStats(): SyncStats {
    return this.barrier.takeStats();
  }

  gradOf(r: number, net: Net): number {
    return Atomics.load(this.ctl, CTL.GRADS + r * NETS.length + NETS.indexOf(net)) * this.align;
  }

  update(steps: [opt: Adam, rank: 0 | 1][], lr?: number): void {
    const k = this.core.k;
    this.barrier.wait(); // both branches' gradients are complete
    const t0 = performance.now();
    for (const [opt, rank] of steps) {
      const net = opt.store.net as Net, b = this.blocks[net];
      if (!b) throw new Error(`no shared blocks for network ${net}`);
      const [from, to] = paramRange(b.paramFloats, this.rank, 2);
      const n = to - from, o = from * 4;
      opt.step += 1;
      if (n === 0) continue;
      const { beta1, beta2, eps } = opt.cfg;
      k.adam_update(b.value + o, this.gradOf(rank, net) + o, b.m + o, b.v + o, lr ?? opt.cfg.lr, beta1, beta2, eps, opt.step, n);
    }
    this.barrier.updateMs += performance.now() - t0;
    this.barrier.wait(); // both see the new parameters before reading them or zeroing their gradients
  }
}
