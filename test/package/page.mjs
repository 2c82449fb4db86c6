// A browser page, bundled (here by esbuild). esbuild does not copy `new URL('x.wasm', import.meta.url)` assets
// (Vite and webpack 5 do), so wasmPaths says where the files from `bicyclegan-wasm/wasm/*` are served.
import { BicycleGANInference, decodeImage, encodePng, grid } from 'bicyclegan-wasm';

const bytes = async (url) => new Uint8Array(await (await fetch(url)).arrayBuffer());
const m = await BicycleGANInference.create({ weights: await bytes('/weights.safetensors'), wasmPaths: '/wasm/' });
const { images } = m.sample(decodeImage(await bytes('/image.png')), { n: 3, seed: 7 });
window.result = { build: m.core.build, png: Array.from(encodePng(grid(images))) };
