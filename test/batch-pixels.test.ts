// The exact pixels a training batch holds: for AtoB and BtoA, which half is the condition A and which the
// target B, and that a flipped sample has both halves mirrored (the same flip for A and B). The expected values
// come straight from the PNG's raw pixels (lossless pairs at the model size: no resize), not from the loader.
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, test } from 'vitest';
import { Rng } from '../src/core/rng.js';
import { planEpoch, type Augment, type Direction } from '../src/data/augment.js';
import { scanPairs } from '../src/data/dataset.js';
import { BatchLoader } from '../src/data/loader.js';
import { tmp } from './helpers/cli.js';

const S = 128;

/** A 2S x S RGB pair whose halves differ everywhere and are not mirror-symmetric. */
async function writeLosslessPair(file: string, seed: number): Promise<Uint8Array> {
  const w = 2 * S, px = new Uint8Array(w * S * 3);
  for (let y = 0; y < S; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < 3; c++) {
        const u = x % S, right = x >= S;
        px[(y * w + x) * 3 + c] = right ? (u * 2 + y + 40 * c + seed * 7) & 255 : (u + 3 * y * (c + 1) + seed * 13 + 128) & 255;
      }
  await sharp(px, { raw: { width: w, height: S, channels: 3 } }).png().toFile(file);
  return px;
}

/** The expected [-1, 1] S x S x 3 floats of one half of a raw pair, mirrored or not. */
function half(px: Uint8Array, right: boolean, flip: boolean): Float32Array {
  const out = new Float32Array(S * S * 3);
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++)
      for (let c = 0; c < 3; c++) out[(y * S + x) * 3 + c] = px[(y * 2 * S + (right ? S : 0) + (flip ? S - 1 - x : x)) * 3 + c] / 127.5 - 1;
  return out;
}

describe('batch pixels', () => {
  for (const direction of ['AtoB', 'BtoA'] as Direction[]) {
    test(`${direction}: A is the ${direction === 'AtoB' ? 'left' : 'right'} half, B the other; a flip mirrors both`, async () => {
      const dir = tmp('pixels');
      const raw = new Map<string, Uint8Array>();
      for (let i = 0; i < 4; i++) {
        const f = join(dir, `${i}.png`);
        raw.set(f, await writeLosslessPair(f, i));
      }
      const { files } = await scanPairs(dir);
      const aug: Augment = { imageSize: S, loadSize: S, flip: true, direction };
      const seed = 11;
      const plan = planEpoch(new Rng(seed), files.length, aug); // what the loader draws for epoch 0
      expect(new Set(plan.map((p) => p.flip)).size, 'the seed gives flipped and unflipped samples').toBe(2);
      const loader = new BatchLoader(files, aug, 2, { seed }, 1);
      const per = S * S * 3;
      for (let bi = 0; bi < 2; bi++) {
        const batch = await loader.next();
        for (let j = 0; j < 2; j++) {
          const p = plan[bi * 2 + j];
          expect(batch.files[j]).toBe(files[p.file]);
          const px = raw.get(files[p.file])!;
          const aRight = direction === 'BtoA';
          expect(batch.a.subarray(j * per, (j + 1) * per), `A of batch ${bi} item ${j} (flip ${p.flip})`).toEqual(half(px, aRight, p.flip));
          expect(batch.b.subarray(j * per, (j + 1) * per), `B of batch ${bi} item ${j} (flip ${p.flip})`).toEqual(half(px, !aRight, p.flip));
        }
      }
    });
  }
});
