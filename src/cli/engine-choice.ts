// --workers N: 1 runs the step on this thread (LocalEngine); more loads the parallel engine (src/parallel)
// when this build has it, else falls back to LocalEngine with a one-line notice.
import { availableParallelism } from 'node:os';
import type { TrainEngine } from '../train/engine.js';
import { localEngine, type EngineFactory, type EngineRequest } from '../train/trainer.js';

export function defaultWorkers(): number {
  return availableParallelism();
}

type ParallelModule = {
  createParallelEngine?: (o: EngineRequest) => Promise<TrainEngine> | TrainEngine;
  ParallelEngine?: { create?: (o: EngineRequest) => Promise<TrainEngine>; new (o: EngineRequest): TrainEngine };
};

export function engineFactory(notice: (msg: string) => void): EngineFactory {
  return async (o) => {
    if (o.workers <= 1) return localEngine(o);
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
