// One portable run of the inference API, bundled by esbuild and executed unchanged in every runtime (Deno,
// Bun, Chromium page and Web Worker; Node imports it directly): load the core from a compiled module and the
// weights, decode an image, run the generator for the codes of a seed, and time cold start and inference.
import { BicycleGANInference, decodeImage, encodePng, grid, toModelInput } from '../../src/infer/index.js';
import { detectBuild, type Build } from '../../src/core/features.js';

export interface ProbeInput {
  module: WebAssembly.Module;
  build: Build;
  weights: Uint8Array;
  image: Uint8Array;
  n: number;
  seed: number;
  /** timed generator runs after the first (0: only the outputs) */
  reps?: number;
  /** intra-op threads (`module` must then be a threads build) */
  threads?: number;
}

export interface ProbeResult {
  build: Build;
  detected: Build;
  /** n generator outputs (S*S*C floats each, NHWC [-1, 1]) for the codes of `seed` */
  floats: Float32Array;
  /** the sample() grid as PNG */
  png: Uint8Array;
  /** instantiate + load weights (ms) */
  coldMs: number;
  /** the first generator run after loading (ms): what a cold request pays on top of coldMs */
  firstMs: number;
  /** per generator run (ms) */
  runMs: number[];
  wasmBytes: number;
  /** the threads the model ran on */
  threads: number;
  /** warnings the API gave */
  warnings: string[];
}

export async function probe(p: ProbeInput): Promise<ProbeResult> {
  const t0 = performance.now();
  const warnings: string[] = [];
  const m = await BicycleGANInference.create({ module: p.module, build: p.build, weights: p.weights, threads: p.threads, onWarning: (w) => warnings.push(w) });
  const coldMs = performance.now() - t0;
  const img = decodeImage(p.image);
  const x = toModelInput(img, m.size, m.cfg.channels);
  let firstMs = 0;
  const outs = m.codes(p.n, p.seed).map((z, i) => {
    const t = performance.now();
    const o = m.generate(x, z);
    if (i === 0) firstMs = performance.now() - t;
    return o;
  });
  const floats = new Float32Array(outs.reduce((s, o) => s + o.length, 0));
  outs.forEach((o, i) => floats.set(o, i * o.length));
  const png = encodePng(grid(m.sample(img, { n: p.n, seed: p.seed }).images));
  const runMs: number[] = [];
  const z = m.codes(1, p.seed)[0];
  for (let r = 0; r < (p.reps ?? 0); r++) {
    const t = performance.now();
    m.generate(x, z);
    runMs.push(performance.now() - t);
  }
  const wasmBytes = m.memory().wasmBytes;
  await m.dispose();
  return { build: p.build, detected: detectBuild(), floats, png, coldMs, firstMs, runMs, wasmBytes, threads: m.threads, warnings };
}

/** Browser helper: fetch the wasm (compileStreaming), weights and image from URLs, run the probe. */
export async function probeUrls(o: { wasm: string; build: Build; weights: string; image: string; n: number; seed: number; reps?: number; threads?: number }): Promise<ProbeResult> {
  const module = await WebAssembly.compileStreaming(fetch(o.wasm));
  const get = async (u: string) => new Uint8Array(await (await fetch(u)).arrayBuffer());
  return probe({ module, build: o.build, weights: await get(o.weights), image: await get(o.image), n: o.n, seed: o.seed, reps: o.reps, threads: o.threads });
}
