// The shipped model from the installed package: `node zoo.mjs` reads it by name (bicyclegan-wasm/node), and
// zooModelUrl points at the same file inside the package (what browsers and Deno fetch).
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { BicycleGANInference, decodeImage, zooModelBytes, zooModelUrl } from 'bicyclegan-wasm/node';

const bytes = zooModelBytes('edges2shoes-handbags');
const m = await BicycleGANInference.create({ weights: bytes });
const { images } = m.sample(decodeImage(await readFile('image.png')), { n: 2, seed: 1 });
const same = Buffer.compare(Buffer.from(await readFile(fileURLToPath(zooModelUrl('edges2shoes-handbags')))), Buffer.from(bytes)) === 0;
console.log(JSON.stringify({ preset: m.cfg.preset, bytes: bytes.length, images: images.length, url: same }));
