// Bench Worker (bundled by bench/infer.bench.ts): ?op=load instantiates the core and loads the weights,
// ?op=run runs the generator once. Timed from outside (workerd's clocks stand still during execution).
import coreModule from './core.wasm';
import weightsData from './weights.safetensors';
import imageData from './image.png.bin';
import { BicycleGANInference, decodeImage, toModelInput } from '../../src/infer/index.js';

let m: BicycleGANInference | null = null;
let x: Float32Array | null = null;

export default {
  async fetch(req: Request): Promise<Response> {
    const op = new URL(req.url).searchParams.get('op');
    try {
      if (op === 'load') {
        m = await BicycleGANInference.create({ module: coreModule, build: 'relaxed', weights: new Uint8Array(weightsData) });
        x = toModelInput(decodeImage(new Uint8Array(imageData)), m.size, m.cfg.channels);
        return new Response(JSON.stringify({ wasmBytes: m.memory().wasmBytes }));
      }
      if (op === 'run' && m && x) {
        const out = m.generate(x, m.codes(1, 1)[0]);
        return new Response(JSON.stringify({ first: out[0] }));
      }
      return new Response('bad op', { status: 400 });
    } catch (e) {
      return new Response(String((e as Error).stack), { status: 500 });
    }
  },
};
