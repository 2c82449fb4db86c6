// The messages between the ParallelEngine (main thread) and its Piscina workers (workers/train-worker.ts):
// the start-up data every worker receives once, and one discriminated union each for tasks and replies.
import type { Build } from '../core/features.js';
import type { BicycleGANOptions, StepLosses } from '../train/bicyclegan.js';
import type { SharedParams } from '../nn/params.js';
import type { Net, SyncStats } from './sync.js';

/** Test hook: make worker `worker` fail at step `step` (1-based): throw, exit its thread, or spin forever. */
export interface FaultInjection {
  worker: number;
  step: number;
  kind: 'throw' | 'exit' | 'hang';
}

/** How a step is spread: 'batch' gives each worker a shard of the rows (any worker count); 'branch' gives each
 * of two workers one branch of the pytorch-gan step on the whole batch (BicycleGAN.branchStep). */
export type Split = 'batch' | 'branch';

/** Where the main thread puts a step's inputs in the shared memory (byte offsets, whole batch). */
export interface Staging {
  a: number;
  b: number;
  eps: number;
  zRandom: number;
}

/** workerData: everything a worker needs to build its shard's networks over the shared memory. */
export interface WorkerInit {
  build: Build;
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  maxMemoryMB: number;
  ctl: SharedArrayBuffer;
  slots: SharedArrayBuffer;
  slotFloats: number;
  errors: SharedArrayBuffer;
  workers: number;
  batch: number;
  split: Split;
  model: Omit<BicycleGANOptions, 'batch' | 'shared'>;
  /** per network: the main thread's shared parameter blocks (each worker's gradients are its own) */
  blocks: Record<Net, SharedParams>;
  staging: Staging;
  fault?: FaultInjection;
}

export type Task =
  | { kind: 'step'; slot: number; step: number; adamSteps: Record<Net, number>; lr?: number }
  | { kind: 'recalibrate'; slot: number; k: number }
  | { kind: 'generate'; slot: number; images: Float32Array; z: Float32Array; n: number }
  | { kind: 'encode'; slot: number; images: Float32Array; n: number };

/** One worker's time in one step: the whole task and its synchronisation (see SyncStats). */
export interface WorkerStepStats extends SyncStats {
  rank: number;
  rows: number;
  /** milliseconds from the task's start in the worker to its reply */
  taskMs: number;
}

export type Reply =
  /** batch split: every rank has all the losses; branch split: each rank its branch's (ge from both) */
  | { kind: 'step'; rank: number; losses: Partial<StepLosses>; adamSteps: Record<Net, number>; stats: WorkerStepStats }
  | { kind: 'recalibrate'; rank: number }
  | { kind: 'nonfinite'; rank: number; term: string; value: number; adamSteps: Record<Net, number> }
  /** branch split: the other rank stopped the step (non-finite loss) */
  | { kind: 'stopped'; rank: number; adamSteps: Record<Net, number> }
  | { kind: 'generate'; rank: number; out: Float32Array }
  | { kind: 'encode'; rank: number; out: Float32Array };
