// Type-checked with strict flags and no Node types (tsconfig.web.json): the `.` entry's declarations alone.
import { BicycleGANInference, decodeImage, encodePng, grid, type RGBAImage, type WasmPaths } from 'bicyclegan-wasm';

const wasmPaths: WasmPaths = { relaxed: new URL('https://cdn.example/core-relaxed.wasm') };
export async function run(weights: Uint8Array, png: Uint8Array): Promise<Uint8Array> {
  const m = await BicycleGANInference.create({ weights, wasmPaths, maxMemoryMB: 48 });
  const img: RGBAImage = decodeImage(png);
  const { images, z } = m.sample(img, { n: 2, seed: 1 });
  const first: Float32Array | undefined = z[0];
  if (m.hasEncoder && first) images.push(m.translate(img, m.encode(img).mu));
  return encodePng(grid(images));
}
