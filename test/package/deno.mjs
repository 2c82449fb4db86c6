// Deno: `deno run --allow-read --allow-write deno.mjs` (no --sloppy-imports: dist/'s .js specifiers are real files).
import { BicycleGANInference, decodeImage, encodePng, grid } from 'bicyclegan-wasm';

const m = await BicycleGANInference.create({ weights: await Deno.readFile('weights.safetensors') });
const { images } = m.sample(decodeImage(await Deno.readFile('image.png')), { n: 3, seed: 7 });
await Deno.writeFile('deno.png', encodePng(grid(images)));
console.log(JSON.stringify({ build: m.core.build }));
