// The dataset pipeline: every bad input is an error naming the file (or reported and skipped with skipBad);
// grayscale, RGBA and palette files become RGB; the seeded plan is independent of prefetch and resumable;
// the trainer CLI turns these errors into one message and exit code 1, and --skip-bad trains on the rest.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, test } from 'vitest';
import { Rng } from '../src/core/rng.js';
import { planEpoch, type Augment } from '../src/data/augment.js';
import { scanPairs, splitDir } from '../src/data/dataset.js';
import { decodeAny, decodePair, DataError } from '../src/data/decode.js';
import { BatchLoader } from '../src/data/loader.js';
import { cli, cliInterrupted, makeDataset, tmp, TINY, writePair } from './helpers/cli.js';

const AUG: Augment = { imageSize: 128, loadSize: 136, flip: true, direction: 'BtoA' };

/** A folder with one good pair and each kind of bad file. */
async function badFolder(): Promise<{ dir: string; bad: Record<string, RegExp> }> {
  const dir = join(tmp('bad'), 'train');
  await writePair(join(dir, 'good.jpg'), 64, 1);
  await writePair(join(dir, 'good2.png'), 64, 2, { format: 'png' });
  writeFileSync(join(dir, 'notes.jpg'), 'this is not an image\n');
  const jpg = readFileSync(join(dir, 'good.jpg'));
  writeFileSync(join(dir, 'truncated.jpg'), jpg.subarray(0, Math.floor(jpg.length / 2)));
  const corrupt = Buffer.from(jpg);
  for (let i = 600; i < corrupt.length - 2; i += 7) corrupt[i] = 0xff; // entropy-coded data full of markers
  writeFileSync(join(dir, 'corrupt.jpg'), corrupt);
  await sharp({ create: { width: 100, height: 64, channels: 3, background: '#808080' } }).jpeg().toFile(join(dir, 'narrow.jpg'));
  writeFileSync(join(dir, 'empty.png'), '');
  writeFileSync(join(dir, 'README.txt'), 'not a picture, not named like one');
  return {
    dir,
    bad: {
      'notes.jpg': /notes\.jpg: not an image/,
      'truncated.jpg': /truncated\.jpg: cannot decode image/,
      'corrupt.jpg': /corrupt\.jpg: cannot decode image/,
      'narrow.jpg': /narrow\.jpg: is 100x64; an aligned pair must be twice as wide as high/,
      'empty.png': /empty\.png: empty file/,
    },
  };
}

describe('bad input', () => {
  test('each bad file is an error naming it', async () => {
    const { dir, bad } = await badFolder();
    for (const [name, re] of Object.entries(bad)) {
      const err = await decodePair(join(dir, name), 128).then(() => null, (e) => e);
      expect(err, name).toBeInstanceOf(DataError);
      expect(err.message).toMatch(re);
      expect(err.message.startsWith(join(dir, name))).toBe(true);
    }
  });

  test('a folder with bad files: the first is named, with a count and the --skip-bad hint; skipBad reports each and keeps the good ones', async () => {
    const { dir, bad } = await badFolder();
    await expect(scanPairs(dir)).rejects.toThrow(/corrupt\.jpg: .*\(and 4 more bad files: .*; --skip-bad reports and leaves them out\)/);
    const msgs: string[] = [];
    const r = await scanPairs(dir, { skipBad: true, report: (m) => msgs.push(m) });
    expect(r.files.map((f) => f.slice(dir.length + 1))).toEqual(['good.jpg', 'good2.png']);
    expect(r.skipped.length).toBe(5);
    for (const [name, re] of Object.entries(bad)) expect(msgs.some((m) => m.startsWith(`skipping ${join(dir, name)}`) && re.test(m)), name).toBe(true);
    expect(msgs.some((m) => /ignoring 1 file without a \.jpg\/\.jpeg\/\.png name \(README\.txt\)/.test(m))).toBe(true);
  });

  test('missing, empty and all-bad folders', async () => {
    const root = tmp('dirs');
    await expect(splitDir(join(root, 'nope'), 'train')).rejects.toThrow(new RegExp(`${join(root, 'nope')}: no such directory`));
    mkdirSync(join(root, 'empty', 'train'), { recursive: true });
    writeFileSync(join(root, 'empty', 'train', 'x.txt'), 'x');
    await expect(scanPairs(await splitDir(join(root, 'empty'), 'train'))).rejects.toThrow(/empty\/train: no \.jpg\/\.jpeg\/\.png images in this directory \(it holds 1 other file\)/);
    mkdirSync(join(root, 'allbad'), { recursive: true });
    writeFileSync(join(root, 'allbad', 'a.png'), 'nope');
    await expect(scanPairs(join(root, 'allbad'), { skipBad: true })).rejects.toThrow(/allbad: none of the 1 image files is usable/);
    expect(await splitDir(join(root, 'allbad'), 'train')).toBe(join(root, 'allbad')); // a folder of pairs is its own split
  });

  test('CLI: one clear message and exit 1 for each case; --skip-bad trains on the good files', async () => {
    const { dir } = await badFolder();
    const base = ['train', '--steps', '2', '--batch', '1', '--sample-every', '0', '--out', join(tmp('o'), 'run'), ...TINY];
    const missing = cli([...base, '--data', join(dir, 'missing')]);
    expect([missing.code, missing.stderr.trim()]).toEqual([1, `bicyclegan: ${join(dir, 'missing')}: no such directory`]);
    const bad = cli([...base, '--data', dir]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^bicyclegan: \/.*\/corrupt\.jpg: cannot decode image \(.*\) \(and 4 more bad files: empty\.png, narrow\.jpg, notes\.jpg, truncated\.jpg; --skip-bad reports and leaves them out\)$/m);
    const skip = cli([...base, '--data', dir, '--skip-bad']);
    expect(skip.stderr).toMatch(/skipping .*truncated\.jpg: cannot decode/);
    expect(skip.stderr).toMatch(/training: 2 pairs/);
    expect(skip.code).toBe(0);
  });
});

test('a file that goes bad during training: the error names it, after a checkpoint of the steps done', async () => {
  const dir = tmp('late');
  const data = await makeDataset(join(dir, 'data'), 2);
  const victim = join(data, 'train', '2.jpg');
  const r = await cliInterrupted(['train', '--data', data, '--batch', '1', '--steps', '1000', '--log-every', '1', '--sample-every', '0', '--prefetch', '0', '--out', join(dir, 'run'), ...TINY], /step 2\/1000/, () =>
    writeFileSync(victim, readFileSync(victim).subarray(0, 300)),
  );
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/checkpoint \(stop\) step \d+/);
  expect(r.stderr).toMatch(new RegExp(`bicyclegan: ${victim.replace(/[.]/g, '\\.')}: cannot decode image`));
});

describe('decoding and order', () => {
  test('grayscale, grayscale+alpha, RGBA and palette files decode to RGB; both halves; BtoA swaps them', async () => {
    const dir = tmp('modes');
    for (const [name, opts] of [['g.png', { channels: 1 }], ['ga.png', { channels: 2 }], ['rgba.png', { channels: 4 }], ['pal.png', { channels: 3, palette: true }], ['rgb.jpg', {}]] as const) {
      await writePair(join(dir, name), 64, 3, opts);
      const h = await decodePair(join(dir, name), 128);
      expect(h.left.length, name).toBe(128 * 128 * 3);
      expect(h.right.length).toBe(128 * 128 * 3);
      if (name.startsWith('g')) for (let i = 0; i < 300; i += 3) expect(h.left[i + 1]).toBe(h.left[i]);
      const any = await decodeAny(join(dir, name), 128);
      expect(any.right).not.toBeNull();
    }
    await sharp({ create: { width: 40, height: 30, channels: 4, background: { r: 10, g: 20, b: 30, alpha: 0.5 } } }).png().toFile(join(dir, 'single.png'));
    const single = await decodeAny(join(dir, 'single.png'), 128);
    expect(single.right).toBeNull();
    // alpha is dropped (sharp resizes premultiplied, so a half-transparent pixel may round 1 level off)
    [10, 20, 30].forEach((v, c) => expect(Math.abs(single.left[c] - v)).toBeLessThanOrEqual(1));
  });

  test('the epoch plan is a permutation with flips and crops in range; prefetch depth and resuming do not change batches', async () => {
    const plan = planEpoch(new Rng(5), 10, AUG);
    expect(plan.map((p) => p.file).sort((a, b) => a - b)).toEqual([...Array(10).keys()]);
    expect(plan.every((p) => p.x >= 0 && p.x <= 8 && p.y >= 0 && p.y <= 8)).toBe(true);
    expect(new Set(plan.map((p) => p.flip)).size).toBe(2);
    const dir = await makeDataset(tmp('order'), 5);
    const files = (await scanPairs(join(dir, 'train'))).files;
    const run = async (depth: number, n: number, from?: BatchLoader) => {
      const l = new BatchLoader(files, AUG, 2, from ? from.state() : { seed: 9 }, depth);
      const out = [];
      for (let i = 0; i < n; i++) out.push(await l.next());
      return { l, out };
    };
    const all = (await run(0, 7)).out;
    const deep = (await run(4, 7)).out;
    const first = await run(3, 3);
    const rest = (await run(1, 4, first.l)).out;
    const key = (b: { a: Float32Array; b: Float32Array; files: string[]; epoch: number }) => [b.files.join(), b.epoch, Buffer.from(b.a.buffer).toString('base64').slice(0, 64), b.a.reduce((s, v) => s + v, 0), b.b.reduce((s, v) => s + v, 0)];
    expect(deep.map(key)).toEqual(all.map(key));
    expect([...first.out, ...rest].map(key)).toEqual(all.map(key));
    expect(all.map((b) => b.epoch)).toEqual([0, 0, 1, 1, 2, 2, 3]); // 5 files, batch 2: 2 batches per epoch
    expect(all[0].a.every((v) => v >= -1 && v <= 1)).toBe(true);
  });

  test('fewer usable images than the batch is a clear error', async () => {
    const dir = await makeDataset(tmp('few'), 1);
    expect(() => new BatchLoader([join(dir, 'train', '1.jpg')], AUG, 2, { seed: 1 })).toThrow(/the dataset has 1 usable image, fewer than the batch size 2/);
  });
});
