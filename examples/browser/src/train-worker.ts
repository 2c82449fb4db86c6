// The training tab's Web Worker: trains the demo model (BicycleGAN step, src/train; runtime-agnostic) on the
// demo pairs the page fetched, and every `refresh` steps sends the sample grid of the fixed test inputs:
// one row per code (3 fixed codes), one column per test input.
// In: {type:'start', pairs: ArrayBuffer[], tests: ArrayBuffer[], widths, batch, refresh, seed, wasmPaths} | {type:'stop'}.
// Out: {type:'step', step, losses, imgPerS} | {type:'grid', step, images: RGBA[] (row-major), cols} | {type:'error', message}.
import { createCore, loadModule } from '../../../src/core/loader.js';
import { Rng } from '../../../src/core/rng.js';
import { crop, decodeImage, fromModelOutput, toModelInput, type RGBAImage } from '../../../src/infer/index.js';
import { LocalEngine } from '../../../src/train/engine.js';

interface Scope {
  onmessage: ((e: MessageEvent) => void) | null;
  postMessage(msg: unknown): void;
}
const scope = self as unknown as Scope;
const S = 128;
let running = false;

/** A pair file (A|B side by side) as model inputs: BtoA, so the right half (edges) is the condition. */
function halves(bytes: ArrayBuffer): { a: Float32Array; b: Float32Array } {
  const img: RGBAImage = decodeImage(new Uint8Array(bytes));
  const h = img.height;
  if (img.width !== 2 * h) throw new Error(`a pair file must be twice as wide as high, got ${img.width}x${h}`);
  return { a: toModelInput(crop(img, h, 0, h, h), S), b: toModelInput(crop(img, 0, 0, h, h), S) };
}

async function train(m: { pairs: ArrayBuffer[]; tests: ArrayBuffer[]; widths: number; batch: number; refresh: number; seed: number; wasmPaths?: string }): Promise<void> {
  const pairs = m.pairs.map(halves), tests = m.tests.map(halves);
  const { module, build } = await loadModule({ wasmPaths: m.wasmPaths });
  const core = await createCore({ module, build }, { maxMemoryMB: 2048 });
  const B = m.batch, per = S * S * 3;
  const engine = new LocalEngine(core, { batch: B, seed: m.seed, model: { gBase: m.widths, eBase: m.widths, dBase: m.widths } });
  const L = engine.cfg.latentDim, Z = 3;
  const rng = new Rng(m.seed + 1);
  const codes = new Float32Array(Z * L);
  rng.fillNormal(codes);
  const a = new Float32Array(B * per), b = new Float32Array(B * per);
  let order: number[] = [], t0 = performance.now();
  running = true;
  while (running) {
    for (let i = 0; i < B; i++) {
      if (!order.length) {
        // a new epoch: Fisher-Yates from the seeded RNG
        order = pairs.map((_, k) => k);
        for (let k = order.length - 1; k > 0; k--) {
          const j = rng.int(k + 1);
          [order[k], order[j]] = [order[j], order[k]];
        }
      }
      const p = pairs[order.pop()!];
      a.set(p.a, i * per);
      b.set(p.b, i * per);
    }
    engine.setBatch(a, b);
    const losses = await engine.step();
    const steps = engine.steps;
    scope.postMessage({ type: 'step', step: steps, losses, imgPerS: (B * 1000) / (performance.now() - t0) });
    t0 = performance.now();
    if (steps % m.refresh === 0) {
      const n = Z * tests.length, imgs = new Float32Array(n * per), z = new Float32Array(n * L);
      for (let r = 0; r < Z; r++)
        for (let c = 0; c < tests.length; c++) {
          imgs.set(tests[c].a, (r * tests.length + c) * per);
          z.set(codes.subarray(r * L, (r + 1) * L), (r * tests.length + c) * L);
        }
      const out = await engine.generate(imgs, z, n);
      const images = Array.from({ length: n }, (_, i) => fromModelOutput(out.subarray(i * per, (i + 1) * per), S));
      scope.postMessage({ type: 'grid', step: steps, images, cols: tests.length });
    }
    await new Promise((r) => setTimeout(r, 0)); // let a 'stop' in
  }
  await engine.close();
}

scope.onmessage = (e: MessageEvent) => {
  const m = e.data;
  if (m.type === 'stop') running = false;
  else if (m.type === 'start' && !running)
    train(m).catch((err: Error) => {
      running = false;
      scope.postMessage({ type: 'error', message: err.message });
    });
};
