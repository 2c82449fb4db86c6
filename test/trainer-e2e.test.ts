// End to end through the CLI on a tiny model (widths 2, 128x128): an interrupted run (SIGINT mid-run writes
// a checkpoint and exits 130) resumed with --resume gives the same losses.jsonl, to the last bit, as an
// uninterrupted run (which also runs with another prefetch depth: decoding ahead never changes the data);
// the sample command's grid has the documented layout and values; info prints the run's counts.
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, test } from 'vitest';
import { loadCore } from '../src/core/load-node.js';
import { parseSafetensors } from '../src/core/safetensors.js';
import { LocalEngine } from '../src/train/engine.js';
import { cli, cliInterrupted, makeDataset, tmp, TINY } from './helpers/cli.js';

async function png(path: string) {
  const { data, info } = await sharp(path).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

describe('bicyclegan CLI end to end', () => {
  test('SIGINT mid-run writes a checkpoint; --resume continues exactly as an uninterrupted run', async () => {
    const dir = tmp('e2e');
    const data = await makeDataset(join(dir, 'data'), 5);
    const common = ['train', '--data', data, '--direction', 'BtoA', '--batch', '2', '--steps', '30', '--load-size', '140', '--seed', '7',
      '--lr-policy', 'linear', '--epochs', '20', '--decay-after', '4', '--sample-every', '9', '--checkpoint-every', '4', '--keep', '2', '--log-every', '1', ...TINY];

    const full = cli([...common, '--out', join(dir, 'full'), '--prefetch', '0']);
    expect(full.stderr).toMatch(/done: 30 steps/);
    expect(full.code).toBe(0);

    const part = await cliInterrupted([...common, '--out', join(dir, 'part')], /step 5\/30/);
    expect(part.sent).toBe(true);
    expect(part.stderr, part.stderr).toMatch(/SIGINT: stopping after this step/);
    expect(part.code).toBe(130);
    const stop = /checkpoint \(stop\) step (\d+): (\S+)/.exec(part.stderr);
    expect(stop, part.stderr).not.toBeNull();
    const stoppedAt = Number(stop![1]);
    expect(stoppedAt).toBeGreaterThanOrEqual(5);
    expect(stoppedAt).toBeLessThan(30);
    expect(readFileSync(join(dir, 'part', 'losses.jsonl'), 'utf8').trim().split('\n').length).toBe(stoppedAt);
    expect(readdirSync(join(dir, 'part', 'checkpoints')).length).toBeLessThanOrEqual(2); // --keep 2

    // a fresh run into a folder with checkpoints is refused; --resume continues it
    const refused = cli([...common, '--out', join(dir, 'part')]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/already holds checkpoints: pass --resume latest/);
    // the options come from the checkpoint: only the folder (and the engine) is given again
    const resumed = cli(['train', '--out', join(dir, 'part'), '--resume', '--workers', '1']);
    expect(resumed.stderr).toMatch(new RegExp(`steps ${stoppedAt} -> 30, engine LocalEngine, resumed from`));
    expect(resumed.code).toBe(0);

    const a = readFileSync(join(dir, 'full', 'losses.jsonl'), 'utf8');
    const b = readFileSync(join(dir, 'part', 'losses.jsonl'), 'utf8');
    expect(a.trim().split('\n').length).toBe(30);
    expect(readdirSync(join(dir, 'full', 'checkpoints'))).toEqual(['step-00000028.safetensors', 'step-00000030.safetensors']); // the newest 2
    expect(b).toBe(a); // every loss of every step, as printed by JSON.stringify (shortest round-trip: exact)
    const recs = a.trim().split('\n').map((l) => JSON.parse(l));
    // the LR schedule: 2 steps per epoch, constant for 4 epochs then linear decay
    expect(recs[0].lr).toBe(2e-4);
    expect(recs[29].epoch).toBe(14);
    expect(recs[29].lr).toBeLessThan(recs[10].lr);
    // same final weights, bit for bit
    const ca = parseSafetensors(readFileSync(join(dir, 'full', 'checkpoints', 'step-00000030.safetensors')));
    const cb = parseSafetensors(readFileSync(join(dir, 'part', 'checkpoints', 'step-00000030.safetensors')));
    expect([...cb.tensors.keys()]).toEqual([...ca.tensors.keys()]);
    for (const [name, t] of ca.tensors) expect(Buffer.compare(Buffer.from(cb.tensors.get(name)!.data), Buffer.from(t.data)), name).toBe(0);
    const ta = JSON.parse(ca.metadata.train), tb = JSON.parse(cb.metadata.train);
    expect(tb.rng).toEqual(ta.rng);
    expect(tb.extra.loader).toEqual(ta.extra.loader);
    expect(tb.adamSteps).toEqual(ta.adamSteps);

    // the training sample grid: 2 test images as columns, rows input, truth, encoded, 3 random
    const g = await png(join(dir, 'full', 'samples', 'latest.png'));
    expect([g.width, g.height]).toEqual([2 * 128 + 2, 6 * 128 + 5 * 2]);
    expect(readFileSync(join(dir, 'full', 'losses.html'), 'utf8')).toMatch(/<svg[\s\S]*pixel/);

    // info
    const info = cli(['info', join(dir, 'full', 'checkpoints', 'step-00000030.safetensors'), '--json']);
    expect(info.code).toBe(0);
    const j = JSON.parse(info.stdout);
    expect(j.train.steps).toBe(30);
    expect(j.config.gBase).toBe(2);
    expect(j.resumable).toBe(true);
    expect(j.parameters.total).toBe(j.parameters.G + j.parameters.E + j.parameters.D_VAE + j.parameters.D_LR);
    const ref = new LocalEngine(await loadCore({ build: 'simd' }), { batch: 1, model: { gBase: 2, eBase: 2, dBase: 2 } }).model;
    expect(j.parameters).toMatchObject({ G: ref.G.g.store.parameterCount, E: ref.E.g.store.parameterCount, D_VAE: ref.D_VAE.g.store.parameterCount, D_LR: ref.D_LR.g.store.parameterCount });
    expect(cli(['info', join(dir, 'data', 'train', '1.jpg')]).stderr).toMatch(/1\.jpg: /);
    const text = cli(['info', join(dir, 'full', 'checkpoints', 'step-00000030.safetensors')]).stdout;
    expect(text).toMatch(/^model: preset pytorch-gan, imageSize 128, channels 3, latentDim 8, gBase 2, eBase 2, dBase 2,/m);
    expect(text).toMatch(/^training: step 30, epoch 15, Adam steps G 30 E 30 D_VAE 30 D_LR 30$/m);
    expect(text).toMatch(new RegExp(`^parameters: G ${j.parameters.G.toLocaleString('en-US')}, E ${j.parameters.E.toLocaleString('en-US')}, .*total ${j.parameters.total.toLocaleString('en-US')}$`, 'm'));

    // sample: 2 pair inputs, 3 random, 4 interpolation steps
    const out = join(dir, 'smp');
    const s = cli(['sample', '--checkpoint', join(dir, 'full', 'checkpoints', 'step-00000030.safetensors'), '--input', join(data, 'test'), '--direction', 'BtoA', '--out', out, '--n', '3', '--interp', '4', '--individual', ...['--build', 'simd']]);
    expect(s.stderr).toMatch(/wrote .*grid\.png/);
    expect(s.code).toBe(0);
    const sg = await png(join(out, 'grid.png'));
    const cols = 3 + Math.max(3, 4), S = 128, step = S + 2;
    expect([sg.width, sg.height, sg.channels]).toEqual([cols * S + (cols - 1) * 2, 4 * S + 3 * 2, 3]);
    const px = (x: number, y: number, c: number) => sg.data[(y * sg.width + x) * 3 + c];
    // gaps and empty cells are white
    for (let y = 0; y < sg.height; y += 7) expect(px(S, y, 0)).toBe(255);
    for (let y = S + 2; y < 2 * S + 2; y += 5) for (let x = 0; x < 3 * step - 2; x += 9) expect(px(x, y, 1)).toBe(255);
    // the input tile is the condition (right half) of the test image, up to JPEG rounding
    const src = await sharp(join(data, 'test', '1.jpg')).extract({ left: S, top: 0, width: S, height: S }).raw().toBuffer();
    let maxDiff = 0;
    for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) for (let c = 0; c < 3; c++) maxDiff = Math.max(maxDiff, Math.abs(px(x, y, c) - src[(y * S + x) * 3 + c]));
    expect(maxDiff).toBeLessThanOrEqual(1);
    // generated tiles: not blank, and different z give different images
    const tile = (col: number, row: number) => {
      const t: number[] = [];
      for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) t.push(px(col * step + x, row * step + y, 0));
      return t;
    };
    const r1 = tile(3, 0), r2 = tile(4, 0), enc = tile(2, 0);
    expect(Math.max(...r1) - Math.min(...r1)).toBeGreaterThan(0);
    expect(r1).not.toEqual(r2);
    expect(enc).not.toEqual(r1);
    expect(tile(3, 1)).not.toEqual(tile(6, 1)); // the two ends of the interpolation strip
    // individual files: per input 1 encoded + 3 random + 4 interpolation
    const ind = await png(join(out, '1_AB_random0.png').replace('1_AB', '1'));
    expect([ind.width, ind.height]).toEqual([S, S]);
    expect(s.stderr).toMatch(/17 files written/);

    // a folder mixing a pair file, a single (square) condition image and a bad file, with --skip-bad
    const mixed = join(dir, 'mixed');
    mkdirSync(mixed);
    copyFileSync(join(data, 'test', '1.jpg'), join(mixed, 'a.jpg'));
    await sharp(join(data, 'test', '2.jpg')).extract({ left: S, top: 0, width: S, height: S }).png().toFile(join(mixed, 'b.png'));
    writeFileSync(join(mixed, 'c.jpg'), 'garbage');
    const ck = join(dir, 'full', 'checkpoints', 'step-00000030.safetensors');
    const noSkip = cli(['sample', '--checkpoint', ck, '--input', mixed, '--out', join(dir, 'mx'), '--n', '2', '--interp', '0', '--build', 'simd']);
    expect([noSkip.code, noSkip.stderr]).toEqual([1, `bicyclegan: ${join(mixed, 'c.jpg')}: not an image (unsupported or unrecognised format)\n`]);
    const m = cli(['sample', '--checkpoint', ck, '--input', mixed, '--out', join(dir, 'mx'), '--n', '2', '--interp', '0', '--skip-bad', '--build', 'simd']);
    expect(m.stderr).toMatch(/skipping .*c\.jpg: not an image/);
    expect(m.code).toBe(0);
    const mg = await png(join(dir, 'mx', 'grid.png'));
    expect([mg.width, mg.height]).toEqual([5 * S + 4 * 2, 2 * S + 2]); // 2 rows (no strips), input/ref/encoded/2 random
    // the square image has no reference: its reference and encoded cells stay white
    for (let x = step; x < 3 * step - 2; x += 11) expect(mg.data[((step + 40) * mg.width + x) * 3]).toBe(255);
    expect(cli(['sample', '--checkpoint', ck, '--input', join(dir, 'nothing-here'), '--out', join(dir, 'mx')]).stderr).toMatch(/nothing-here: no such file or directory/);
  });

  test('SIGTERM also writes a checkpoint (exit 143); a non-TTY run logs plain lines', async () => {
    const dir = tmp('term');
    const data = await makeDataset(join(dir, 'data'), 2);
    const r = await cliInterrupted(['train', '--data', data, '--batch', '1', '--steps', '1000', '--log-every', '1', '--sample-every', '0', '--out', join(dir, 'run'), ...TINY], /step 2\/1000/, 'SIGTERM');
    expect(r.sent).toBe(true);
    expect(r.code).toBe(143);
    expect(r.stderr).toMatch(/SIGTERM: stopping after this step and writing a checkpoint/);
    expect(r.stderr).toMatch(/checkpoint \(stop\) step \d+: .*step-0+\d+\.safetensors/);
    expect(r.stderr).toMatch(/^step 1\/1000 epoch 0 lr 2\.00e-4 [\d.]+ img\/s ETA \S+ data-wait \d+ ms \| ge [\d.]+ pix/m);
  });
});
