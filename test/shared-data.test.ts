// Training on the real facades pairs from ../shared/data (skipped with a message where that folder is absent):
// all 400 train files scan clean, the test split feeds the sample grid, and two steps with the official
// resize-143-then-crop-128 run with finite losses.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, test } from 'vitest';
import { train, type TrainEvent } from '../src/train/trainer.js';
import { root, tmp } from './helpers/cli.js';

const facades = join(root, '../shared/data/facades');
const have = existsSync(join(facades, 'train'));
if (!have) console.warn(`skipping the facades training test: ${facades} is absent (CI has ../shared/data beside the clone)`);

describe('real data', () => {
  test.skipIf(!have)('facades (BtoA, load 143, crop 128): scan, two steps, sample grid from test/', async () => {
    const out = join(tmp('facades'), 'run');
    const events: TrainEvent[] = [];
    const r = await train(
      { data: facades, direction: 'BtoA', out, steps: 2, batch: 2, loadSize: 143, gBase: 2, eBase: 2, dBase: 2, sampleImages: 3, sampleZ: 1, build: 'simd' },
      { onEvent: (e) => events.push(e) },
    );
    expect(r.steps).toBe(2);
    const start = events.find((e) => e.type === 'start');
    expect(start).toMatchObject({ files: 400, stepsPerEpoch: 200 });
    const recs = readFileSync(join(out, 'losses.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(recs.length).toBe(2);
    for (const rec of recs) for (const k of ['ge', 'pixel', 'kl', 'latent', 'd_vae', 'd_lr']) expect(Number.isFinite(rec[k]), k).toBe(true);
    const meta = await sharp(join(out, 'samples', 'latest.png')).metadata();
    expect([meta.width, meta.height]).toEqual([3 * 128 + 2 * 2, 4 * 128 + 3 * 2]);
  });
});
