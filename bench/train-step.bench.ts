// Time per training step through the real pipeline (shipped demo pairs -> prefetching loader -> LocalEngine,
// one thread; and batch 1 on the ParallelEngine's 2 workers, the branch split): median of `reps` steps after one warm-up step, for the demo model and the full PyTorch-GAN
// widths, wall and CPU time. Also reports the median time a step waited for its batch (prefetch should make it ~0).
// Usage: npx tsx bench/train-step.bench.ts [--quick]
import { loadCore } from '../src/core/load-node.js';
import { scanPairs } from '../src/data/dataset.js';
import { BatchLoader } from '../src/data/loader.js';
import { LocalEngine, type TrainEngine } from '../src/train/engine.js';
import { createParallelEngine } from '../src/parallel/engine.js';

const quick = process.argv.includes('--quick');
const cases: { name: string; w: number; batch: number; reps: number; workers?: number }[] = [
  { name: 'demo model (widths 16, batch 4)', w: 16, batch: 4, reps: quick ? 3 : 10 },
  { name: 'full widths 64, batch 1', w: 64, batch: 1, reps: quick ? 2 : 5 },
  { name: 'full widths 64, batch 1, 2 workers (branch split)', w: 64, batch: 1, reps: quick ? 2 : 5, workers: 2 },
  { name: 'full widths 64, batch 8', w: 64, batch: 8, reps: quick ? 1 : 3 },
];
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const { files, heights } = await scanPairs('data/demo/edges2shoes-mini/train');
const core = await loadCore();
const base = core.arena.mark();
for (const c of cases) {
  core.arena.reset(base);
  const opts = { batch: c.batch, seed: 1, model: { gBase: c.w, eBase: c.w, dBase: c.w } };
  const e: TrainEngine = c.workers ? await createParallelEngine({ ...opts, workers: c.workers }) : new LocalEngine(core, opts);
  const loader = new BatchLoader(files, { imageSize: 128, loadSize: 128, flip: true, direction: 'BtoA' }, c.batch, { seed: 1 }, 2, heights);
  const times: number[] = [], waits: number[] = [], cpus: number[] = [];
  for (let i = 0; i <= c.reps; i++) {
    const t0 = performance.now();
    const b = await loader.next();
    const t1 = performance.now();
    const c0 = process.cpuUsage();
    e.setBatch(b.a, b.b);
    await e.step();
    const t2 = performance.now(), dc = process.cpuUsage(c0);
    if (i > 0) times.push(t2 - t1), waits.push(t1 - t0), cpus.push((dc.user + dc.system) / 1000);
  }
  await e.close();
  const ms = median(times);
  // CPU time of the process during the step (the step's thread plus sharp's decoding ahead): what the step
  // costs on a core of its own; on a loaded machine wall time is higher
  console.log(`${c.name}: ${ms.toFixed(0)} ms/step wall, ${median(cpus).toFixed(0)} ms CPU (medians of ${c.reps}), ${((1000 * c.batch) / ms).toFixed(2)} img/s, data wait ${median(waits).toFixed(1)} ms`);
}
