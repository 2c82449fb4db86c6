// The one config schema: defaults, every bad value named with its flag, flags overriding a JSON config file,
// the LR schedule and the step budget.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ConfigError, lrAt, parseTrainConfig, totalSteps } from '../src/train/config.js';
import { flagName } from '../src/cli/options.js';
import { parseSampleConfig } from '../src/train/sampling.js';
import { cli, tmp } from './helpers/cli.js';

const messages = (input: unknown) => {
  try {
    parseTrainConfig(input, flagName);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).issues;
  }
  throw new Error('no error');
};

describe('train config', () => {
  test('defaults are PyTorch-GAN BicycleGAN', () => {
    const c = parseTrainConfig({ data: 'd' });
    expect(c).toMatchObject({ direction: 'AtoB', batch: 8, lr: 2e-4, beta1: 0.5, beta2: 0.999, lambdaPixel: 10, lambdaLatent: 0.5, lambdaKl: 0.01, imageSize: 128, latentDim: 8, gBase: 64, flip: true, lrPolicy: 'constant' });
    expect(totalSteps(c, 50)).toBe(50); // neither epochs nor steps: one epoch
    expect(totalSteps(parseTrainConfig({ data: 'd', steps: 7 }), 50)).toBe(7);
    expect(totalSteps(parseTrainConfig({ data: 'd', steps: 700, epochs: 2 }), 50)).toBe(100);
  });

  test('--parallel: auto by default; a bad value, or branch with the official preset, is named', () => {
    expect(parseTrainConfig({ data: 'd' }).parallel).toBe('auto');
    expect(messages({ data: 'd', parallel: 'rows' })).toEqual(['--parallel: parallel must be auto, batch or branch (got "rows")']);
    expect(messages({ data: 'd', preset: 'official', batch: 2, parallel: 'branch' })).toEqual(['--parallel: branch splits the pytorch-gan step (the official preset trains on one thread) (got "branch")']);
  });

  test('every bad value is named with its flag and the value given', () => {
    expect(messages({})).toEqual(['--data: required: the dataset folder']);
    expect(messages({ data: 'd', batch: 0, lr: 'abc', imageSize: 100, direction: 'up', beta1: 1, seed: -1, workers: 1.5, keep: 0 })).toEqual([
      '--direction: direction must be AtoB or BtoA (got "up")',
      '--batch: batch must be at least 1 (got 0)',
      '--seed: seed must be 0 or more (got -1)',
      '--lr: lr must be a number (got "abc")',
      '--beta1: beta1 must be below 1 (got 1)',
      '--image-size: imageSize must be a multiple of 128 (the U-Net halves it 7 times) (got 100)',
      '--workers: workers must be a whole number (got 1.5)',
      '--keep: keep must be at least 1 (got 0)',
    ]);
    expect(messages({ data: 'd', loadSize: 100 })).toEqual(['--load-size: loadSize (100) must be at least imageSize (128) (got 100)']);
    expect(messages({ data: 'd', lrPolicy: 'linear' })).toEqual(['--lr-policy: lrPolicy linear decays over the epochs: give epochs too (got "linear")']);
    expect(messages({ data: 'd', lrPolicy: 'linear', epochs: 3, decayAfter: 3 })).toEqual(['--decay-after: decayAfter (3) must be below epochs (3) for lrPolicy linear (got 3)']);
    expect(messages({ data: 'd', batchSize: 4 })).toEqual(['unknown option --batch-size']);
    expect(() => parseSampleConfig({ checkpoint: 'c', input: 'i', n: -1, grid: false })).toThrow(/n: n must be 0 or more \(got -1\)/);
  });

  test('linear LR: constant for decayAfter epochs, then down towards 0 (pix2pix rule)', () => {
    const c = parseTrainConfig({ data: 'd', epochs: 4, decayAfter: 2, lrPolicy: 'linear', lr: 1 });
    [1, 1, 2 / 3, 1 / 3].forEach((v, e) => expect(lrAt(c, e)).toBeCloseTo(v, 12));
  });

  test('CLI: a JSON config file, overridden by flags; bad file and bad flag values are one message each', () => {
    const dir = tmp('cfg');
    const f = join(dir, 'c.json');
    writeFileSync(f, JSON.stringify({ data: join(dir, 'nowhere'), batch: 3, lr: 'x' }));
    const r = cli(['train', '--config', f, '--lr', '0.001', '--g-base', '0']);
    expect([r.code, r.stderr]).toEqual([1, 'bicyclegan: invalid configuration:\n  --g-base: gBase must be at least 1 (got 0)\n']);
    const r2 = cli(['train', '--config', f, '--lr', '0.001']);
    expect(r2.stderr).toBe(`bicyclegan: ${join(dir, 'nowhere')}: no such directory\n`);
    writeFileSync(f, '{ nope');
    expect(cli(['train', '--config', f]).stderr).toMatch(/^bicyclegan: error: --config .*c\.json: not valid JSON/);
    expect(cli(['train', '--config', join(dir, 'missing.json')]).stderr).toMatch(/--config .*missing\.json: cannot read \(ENOENT\)/);
    const unknown = cli(['train', '--bogus']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown option '--bogus'/);
  });
});
