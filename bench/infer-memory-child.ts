// Child process of bench/infer-report.ts: peak memory of one weight file's inference, the way the example
// Worker runs it (weights held as bytes, the core under a wasm budget, sample n=4, PNG grid).
//   node --expose-gc --import tsx bench/infer-memory-child.ts <weights> <wasmBudgetMB>   -> one JSON line
import { readFileSync } from 'node:fs';
import { compiledModule, resolveBuild } from '../src/core/load-node.js';
import { BicycleGANInference, encodePng, grid } from '../src/infer/index.js';
import { testPicture } from '../test/helpers/infer-model.js';

const [path, budget] = process.argv.slice(2);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const build = resolveBuild('relaxed');
const module = compiledModule(build);
gc();
const heap0 = process.memoryUsage().heapUsed;
let peakHeap = heap0;
const sampleHeap = () => (peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed));
const weights = new Uint8Array(readFileSync(path));
const m = await BicycleGANInference.create({ module, build, weights, maxMemoryMB: Number(budget) });
sampleHeap();
const img = testPicture(256, 256, 3);
for (let i = 0; i < 3; i++) {
  const { images } = m.sample(img, { n: 4, seed: i });
  sampleHeap();
  encodePng(grid(images));
  sampleHeap();
}
const mem = m.memory();
console.log(JSON.stringify({ wasmBytes: mem.wasmBytes, arenaPeakBytes: mem.arenaPeakBytes, weightBytes: weights.byteLength, heapBaseline: heap0, heapPeak: peakHeap }));
