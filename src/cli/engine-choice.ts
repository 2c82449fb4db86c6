// --workers N: 1 runs the step on this thread (LocalEngine); more loads the parallel engine (src/parallel)
// when this build has it, else falls back to LocalEngine with a one-line notice. Also: the default worker
// count for a model, and the engine a resumed run must use to continue bit for bit.
import { availableParallelism } from 'node:os';
import { hasRelaxedSimd } from '../core/features.js';
import { resolveBuild } from '../core/load-node.js';
import { BRANCH_MAX_BATCH, chooseSplit } from '../parallel/sync.js';
import type { TrainConfig } from '../train/config.js';
import type { TrainEngine } from '../train/engine.js';
import { localEngine, type EngineFactory, type EngineRequest } from '../train/trainer.js';

/** Estimated CPU seconds of one training step on one thread: 1.2 s per 128x128 image at widths 64, scaling as
 * width^1.75 and with the pixel count (measured with the relaxed build on this 2-core EPYC: 0.11 / 0.33 /
 * 1.18 s per image at widths 16 / 32 / 64, batch 4). */
export function stepCpuSeconds(c: Pick<TrainConfig, 'batch' | 'imageSize' | 'gBase' | 'eBase' | 'dBase'>): number {
  const w = Math.max(c.gBase, c.eBase, c.dBase);
  return c.batch * 1.2 * (w / 64) ** 1.75 * (c.imageSize / 128) ** 2;
}

/** Smallest share of a step worth a worker, in CPU seconds: every step has a fixed ~225 barriers whose waits
 * grow when the machine is shared, so small models run faster on one thread (widths 16, batch 4 measured
 * here at 4.2 img/s on one thread against 2.5-3.1 on 2 workers); full widths gain from every core (1.92x on 2). */
export const MIN_WORKER_SHARE_S = 0.25;

/** The default --workers: as many as the model's step keeps busy (each worker's share at least
 * MIN_WORKER_SHARE_S), at most the cores and the batch, or 2 at batch 1 where the step's two branches run side
 * by side (--parallel auto or branch, pytorch-gan); without a config, the cores. */
export function defaultWorkers(c?: Pick<TrainConfig, 'batch' | 'imageSize' | 'gBase' | 'eBase' | 'dBase'> & Partial<Pick<TrainConfig, 'preset' | 'parallel'>>): number {
  const cores = availableParallelism();
  if (!c) return cores;
  const branch = c.preset !== 'official' && c.parallel !== 'batch' && (c.batch <= BRANCH_MAX_BATCH || c.parallel === 'branch');
  return Math.max(1, Math.min(cores, branch ? 2 : c.batch, Math.floor(stepCpuSeconds(c) / MIN_WORKER_SHARE_S)));
}

/** The workers and the concrete wasm build of a run (both stored in its checkpoints). On --resume the stored
 * ones are the defaults; a resumed run continues bit for bit only on the same build and worker count
 * (1 worker = one thread), so any difference is reported. */
export function chooseEngine(c: TrainConfig, stored: Record<string, unknown> | null, notice: (msg: string) => void): { workers: number; build: 'simd' | 'relaxed' } {
  // the official step splits the batch into two branches, which the shard layout of src/parallel does not know yet
  if (c.preset === 'official' && (c.workers ?? 1) > 1) notice(`--workers ${c.workers}: the official preset trains on one thread for now (the data-parallel engine shards the pytorch-gan step)`);
  const workers = c.preset === 'official' ? 1 : c.workers ?? defaultWorkers(c);
  if (c.parallel === 'branch' && workers < 2) throw new Error(`--parallel branch runs the step on 2 workers: give --workers 2 (${c.workers === undefined ? `the default for this model is ${workers}` : `got ${workers}`})`);
  let build = resolveBuild(c.build) as 'simd' | 'relaxed';
  if (!stored) return { workers, build };
  const was = (v: unknown) => (v === undefined || v === 'auto' ? `${v ?? 'nothing'} stored, the checkpoint is older than this check` : String(v));
  if (build === 'relaxed' && !hasRelaxedSimd()) {
    notice('warning: the checkpoint was trained on the relaxed-SIMD build, which this runtime lacks; resuming on the SIMD128 build (not bit for bit)');
    build = 'simd';
  } else if (stored.build !== build) notice(`warning: resuming on the ${build} build (trained on: ${was(stored.build)}); the run continues to float rounding, not bit for bit`);
  if (stored.workers !== workers)
    notice(`warning: resuming on ${workers} worker(s) (trained on: ${was(stored.workers)}); the run continues to float rounding, not bit for bit`);
  else if (workers > 1 && splitOf(stored.parallel, c, workers) !== splitOf(c.parallel, c, workers))
    notice(`warning: resuming with the ${splitOf(c.parallel, c, workers)} split (trained with the ${splitOf(stored.parallel, c, workers)} split); the run continues to float rounding, not bit for bit`);
  return { workers, build };
}

/** The split a parallel engine makes of the step (src/parallel/sync.ts chooseSplit; a checkpoint older than the
 * option was trained with 'batch', the only split then). */
function splitOf(parallel: unknown, c: TrainConfig, workers: number): string {
  if (parallel === undefined) return 'batch';
  try {
    return chooseSplit(parallel as TrainConfig['parallel'], c.preset, workers, c.batch);
  } catch {
    return String(parallel);
  }
}

type ParallelModule = {
  createParallelEngine?: (o: EngineRequest) => Promise<TrainEngine> | TrainEngine;
  ParallelEngine?: { create?: (o: EngineRequest) => Promise<TrainEngine>; new (o: EngineRequest): TrainEngine };
};

export function engineFactory(notice: (msg: string) => void): EngineFactory {
  return async (o) => {
    if (o.workers <= 1) return localEngine(o);
    if (o.model?.preset === 'official') throw new Error('the data-parallel engine runs the pytorch-gan step only: use --workers 1 with the official preset');
    let mod: ParallelModule | null = null;
    const spec = new URL('../parallel/engine.js', import.meta.url).href;
    try {
      mod = (await import(spec)) as ParallelModule;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') throw e;
    }
    if (mod?.createParallelEngine) return mod.createParallelEngine(o);
    if (mod?.ParallelEngine?.create) return mod.ParallelEngine.create(o);
    if (mod?.ParallelEngine) return new mod.ParallelEngine(o);
    notice(`--workers ${o.workers}: the parallel engine is not part of this build; training on one thread`);
    return localEngine({ ...o, workers: 1 });
  };
}
