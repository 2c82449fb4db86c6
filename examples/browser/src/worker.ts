// The example page's Web Worker: holds the model and runs every inference off the page's thread.
// Messages in: {type:'init', weights: ArrayBuffer, wasmPaths} | {type:'sample', image: RGBA, n, seed} |
// {type:'walk', image: RGBA, seed, t} (G(image, z) for z on the line between two seeded codes, t in [0, 1]).
// Messages out: {type:'ready', size, build, encoder, threads} | {type:'images', id, images: RGBA[]} | {type:'error', message}.
// Threads: the page is served cross-origin isolated (serve.ts), so the model splits each layer over up to 4
// threads (intra-op; the worker blocks in Atomics.wait, which a page's main thread may not); elsewhere one.
import { BicycleGANInference, type RGBAImage } from '../../../src/infer/index.js';

interface Scope {
  onmessage: ((e: MessageEvent) => void) | null;
  postMessage(msg: unknown): void;
}
const scope = self as unknown as Scope;
let model: BicycleGANInference | null = null;

function walk(seed: number, t: number): Float32Array {
  const [a, b] = model!.codes(2, seed);
  return a.map((v, i) => (1 - t) * v + t * b[i]);
}

scope.onmessage = async (e: MessageEvent) => {
  const m = e.data as { type: string; id?: number; weights?: ArrayBuffer; wasmPaths?: string; image?: RGBAImage; n?: number; seed?: number; t?: number };
  try {
    if (m.type === 'init') {
      const threads = (self as { crossOriginIsolated?: boolean }).crossOriginIsolated ? Math.max(1, Math.min(4, navigator.hardwareConcurrency || 1)) : 1;
      model = await BicycleGANInference.create({ weights: new Uint8Array(m.weights!), wasmPaths: m.wasmPaths, maxMemoryMB: 256, threads });
      scope.postMessage({ type: 'ready', size: model.size, build: model.core.build, encoder: model.hasEncoder, threads: model.threads });
    } else if (!model) throw new Error('the model is not loaded yet');
    else if (m.type === 'sample') scope.postMessage({ type: 'images', id: m.id, images: model.sample(m.image!, { n: m.n!, seed: m.seed! }).images });
    else if (m.type === 'walk') scope.postMessage({ type: 'images', id: m.id, images: [model.translate(m.image!, walk(m.seed!, m.t!))] });
  } catch (err) {
    scope.postMessage({ type: 'error', id: m.id, message: (err as Error).message });
  }
};
