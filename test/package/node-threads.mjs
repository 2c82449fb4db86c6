// Node with intra-op threads: `node node-threads.mjs`. create() finds the shipped threads build
// (core-threads-relaxed.wasm) beside the package's code; each layer is split over 2 threads, same outputs.
import { readFile, writeFile } from 'node:fs/promises';
import { BicycleGANInference, decodeImage, encodePng, grid } from 'bicyclegan-wasm';

const m = await BicycleGANInference.create({ weights: await readFile('weights.safetensors'), threads: 2 });
const { images } = m.sample(decodeImage(await readFile('image.png')), { n: 3, seed: 7 });
await writeFile('node-threads.png', encodePng(grid(images)));
await m.dispose();
console.log(JSON.stringify({ build: m.core.build, threads: m.threads }));
