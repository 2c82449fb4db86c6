// Builds data/demo/edges2shoes-mini from ../shared/data/edges2shoes-handbags (run once; the result is
// committed): 20 train + 4 test shoe pairs, each 512x256 file downscaled to 256x128 (sharp cubic), JPEG q90.
// Usage: npx tsx scripts/make-demo-data.ts [path/to/edges2shoes-handbags/train]
import { mkdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';

const src = process.argv[2] ?? '../shared/data/edges2shoes-handbags/train';
if (!existsSync(src)) {
  console.error(`${src} not found: this script needs the shared datasets beside the clone`);
  process.exit(1);
}
const dst = 'data/demo/edges2shoes-mini';
const pick = { train: Array.from({ length: 20 }, (_, i) => i + 1), test: [21, 22, 23, 24] };
for (const [split, ids] of Object.entries(pick)) {
  mkdirSync(join(dst, split), { recursive: true });
  for (const id of ids)
    await sharp(join(src, `${id}_AB.jpg`)).resize(256, 128, { kernel: 'cubic' }).jpeg({ quality: 90 }).toFile(join(dst, split, `${id}_AB.jpg`));
}
console.log(`wrote ${pick.train.length} train and ${pick.test.length} test pairs to ${dst}`);
