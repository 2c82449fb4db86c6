// Bun: `bun bun.mjs`. Bun's relaxed SIMD multiply-add is unfused: outputs differ from V8's in the last bits.
import { BicycleGANInference, decodeImage, encodePng, grid } from 'bicyclegan-wasm';

const m = await BicycleGANInference.create({ weights: await Bun.file('weights.safetensors').bytes() });
const { images } = m.sample(decodeImage(await Bun.file('image.png').bytes()), { n: 3, seed: 7 });
await Bun.write('bun.png', encodePng(grid(images)));
console.log(JSON.stringify({ build: m.core.build }));
