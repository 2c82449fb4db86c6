// One training configuration per process, for the default --workers (src/cli/engine-choice.ts):
//   npm run build && for w in 1 2; do node bench/workers.bench.mjs 16 $w 10; done
// args: <widths> <workers> <steps>; batch 4, 128x128, relaxed build, random-looking fixed batch, 1 warm-up step.
// Prints images/s, seconds per step and CPU seconds per step (all threads of the process).
import { loadCore, LocalEngine, createParallelEngine } from '../dist/src/cli/node.js';

const [width, workers, steps] = process.argv.slice(2).map(Number);
const batch = 4, model = { gBase: width, eBase: width, dBase: width };
const e = workers === 1
  ? new LocalEngine(await loadCore({ build: 'relaxed' }), { batch, seed: 1, model })
  : await createParallelEngine({ batch, seed: 1, model, workers, build: 'relaxed' });
const n = batch * 128 * 128 * 3;
const a = new Float32Array(n).map((_, i) => Math.sin(i) * 0.5), b = new Float32Array(n).map((_, i) => Math.cos(i) * 0.5);
e.setBatch(a, b);
await e.step();
const t0 = performance.now(), c0 = process.cpuUsage();
for (let i = 0; i < steps; i++) {
  e.setBatch(a, b);
  await e.step();
}
const wall = (performance.now() - t0) / 1000, cpu = process.cpuUsage(c0);
console.log(JSON.stringify({ width, workers, imgPerS: +((batch * steps) / wall).toFixed(2), sPerStep: +(wall / steps).toFixed(3), cpuPerStep: +((cpu.user + cpu.system) / 1e6 / steps).toFixed(3) }));
await e.close?.();
