// Node (>= 20.16): `node node.mjs`. create() finds the shipped .wasm beside the package's code and, on Node 20,
// turns on relaxed SIMD (a V8 flag) before compiling it.
import { readFile, writeFile } from 'node:fs/promises';
import { BicycleGANInference, decodeImage, encodePng, grid } from 'bicyclegan-wasm';

const m = await BicycleGANInference.create({ weights: await readFile('weights.safetensors') });
const { images } = m.sample(decodeImage(await readFile('image.png')), { n: 3, seed: 7 });
await writeFile('node.png', encodePng(grid(images)));
console.log(JSON.stringify({ build: m.core.build }));
