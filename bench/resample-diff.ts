// How far the two resamplers are apart: training decodes each half with sharp's `cubic` kernel (Catmull-Rom,
// antialiased; src/data/decode.ts), the inference API with its antialiased triangle filter (src/infer/image.ts
// resize; pure JS for the edge runtimes). Both from the same JPEG, the right half (BtoA input) and the left half
// (photo), to 128x128; prints per dataset the max and mean |diff| in 8-bit levels over all pixels and channels,
// and the same for the two JPEG decoders alone (jpeg-js in the inference API, libvips in training) and for the
// two resamplers alone (both on jpeg-js's pixels).
//   npx tsx bench/resample-diff.ts [dataset/test-folder ...] [--limit 20]
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { crop, decodeImage, resize } from '../src/infer/index.js';

const args = process.argv.slice(2);
const li = args.indexOf('--limit');
const limit = li >= 0 ? Number(args.splice(li, 2)[1]) : 20;
const dirs = args.length ? args : ['data/demo/edges2shoes-mini/test', '/work/shared/data/facades/test'];
const S = 128;
for (const dir of dirs) {
  const files = readdirSync(dir).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort().slice(0, limit);
  let max = 0, sum = 0, n = 0, dmax = 0, dsum = 0, dn = 0, rmax = 0, rsum = 0, rn = 0;
  const hist = new Map<number, number>();
  for (const f of files) {
    const bytes = readFileSync(join(dir, f));
    const img = decodeImage(new Uint8Array(bytes));
    const h = img.height;
    // the JPEG decoders alone (jpeg-js vs libvips), before any resize
    const raw = await sharp(bytes).removeAlpha().raw().toBuffer();
    for (let p = 0; p < img.width * h; p++)
      for (let c = 0; c < 3; c++) {
        const d = Math.abs(img.data[p * 4 + c] - raw[p * 3 + c]);
        dmax = Math.max(dmax, d);
        dsum += d;
        dn++;
      }
    for (const left of [0, h]) {
      const ours = resize(crop(img, left, 0, h, h), S, S);
      // the resamplers alone: sharp's cubic on the very pixels jpeg-js decoded
      const same = await sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), { raw: { width: img.width, height: h, channels: 4 } })
        .extract({ left, top: 0, width: h, height: h }).resize(S, S, { kernel: 'cubic', fit: 'fill' }).raw().toBuffer();
      for (let p = 0; p < S * S; p++)
        for (let c = 0; c < 3; c++) {
          const d = Math.abs(ours.data[p * 4 + c] - same[p * 4 + c]);
          rmax = Math.max(rmax, d);
          rsum += d;
          rn++;
        }
      const theirs = await sharp(bytes).extract({ left, top: 0, width: h, height: h }).resize(S, S, { kernel: 'cubic', fit: 'fill' }).removeAlpha().raw().toBuffer();
      for (let p = 0; p < S * S; p++)
        for (let c = 0; c < 3; c++) {
          const d = Math.abs(ours.data[p * 4 + c] - theirs[p * 3 + c]);
          max = Math.max(max, d);
          sum += d;
          n++;
          const bucket = d <= 1 ? 1 : d <= 4 ? 4 : d <= 8 ? 8 : 99;
          hist.set(bucket, (hist.get(bucket) ?? 0) + 1);
        }
    }
  }
  const pct = (k: number) => `${((100 * (hist.get(k) ?? 0)) / n).toFixed(2)}%`;
  console.log(`${dir}: ${files.length} files (both halves), ${img0(files)}: decoders alone max ${dmax} mean ${(dsum / dn).toFixed(2)}; resamplers alone max ${rmax} mean ${(rsum / rn).toFixed(2)}; decode + resize max |diff| ${max} levels, mean ${(sum / n).toFixed(2)}; <=1: ${pct(1)}, 2-4: ${pct(4)}, 5-8: ${pct(8)}, >8: ${pct(99)}`);
}
function img0(files: string[]): string {
  return `${files[0]}..${files[files.length - 1]}`;
}
