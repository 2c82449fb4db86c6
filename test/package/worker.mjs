// A Cloudflare Worker: workerd refuses to compile wasm bytes, so import the .wasm (a WebAssembly.Module; the
// CompiledWasm rule, wrangler's default for *.wasm) and pass it. The weights come in as a Data module.
import { BicycleGANInference, decodeImage, encodePng, grid } from 'bicyclegan-wasm';
import relaxed from 'bicyclegan-wasm/wasm/core-relaxed.wasm';
import weights from './weights.safetensors';

let model;
export default {
  async fetch(request) {
    model ??= await BicycleGANInference.create({ module: relaxed, build: 'relaxed', weights: new Uint8Array(weights), maxMemoryMB: 48 });
    const { images } = model.sample(decodeImage(new Uint8Array(await request.arrayBuffer())), { n: 3, seed: 7 });
    return new Response(encodePng(grid(images)), { headers: { 'content-type': 'image/png' } });
  },
};
