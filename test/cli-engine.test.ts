// The engine a training run gets from the CLI: the default --workers by model size, and --resume continuing
// on the stored build and worker count (warning when it cannot be bit for bit).
import { rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { defaultWorkers, stepCpuSeconds } from '../src/cli/engine-choice.js';
import { cli, makeDataset, tmp, TINY } from './helpers/cli.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('default --workers', () => {
  const m = (w: number, batch: number, imageSize = 128) => ({ batch, imageSize, gBase: w, eBase: w, dBase: w });
  test('one thread for the demo model (widths 16, batch 4); every core, at most the batch, for full widths', () => {
    expect(stepCpuSeconds(m(16, 4))).toBeLessThan(2 * 0.25);
    expect(defaultWorkers(m(16, 4))).toBe(1);
    expect(defaultWorkers(m(64, 8))).toBe(Math.min(availableParallelism(), 8));
    // batch 1: the step's two branches on 2 workers where the model keeps them busy (not the official preset,
    // not with --parallel batch)
    expect(defaultWorkers(m(64, 1))).toBe(Math.min(availableParallelism(), 2));
    expect(defaultWorkers({ ...m(64, 1), parallel: 'batch' })).toBe(1);
    expect(defaultWorkers({ ...m(64, 1), preset: 'official' })).toBe(1);
    expect(defaultWorkers(m(32, 1))).toBe(1);
    expect(defaultWorkers(m(16, 4, 512))).toBe(Math.min(availableParallelism(), 4)); // 16x the pixels
    expect(defaultWorkers()).toBe(availableParallelism());
  });
});

describe('--resume and the engine', () => {
  test('stored workers and build are the defaults; a different worker count or build is a warning', async () => {
    const dir = tmp('engine');
    dirs.push(dir);
    const data = await makeDataset(join(dir, 'data'), 4);
    const out = join(dir, 'run');
    const first = cli(['train', '--data', data, '--out', out, '--batch', '2', '--steps', '1', '--sample-every', '0', '--log-every', '1', ...TINY]);
    expect(first.stderr).toMatch(/done: 1 steps/);
    const same = cli(['train', '--out', out, '--resume', '--steps', '2']);
    expect(same.stderr).toMatch(/done: 2 steps/);
    expect(same.stderr).not.toMatch(/warning/);
    const other = cli(['train', '--out', out, '--resume', '--steps', '3', '--workers', '2', '--build', 'relaxed']);
    expect(other.stderr).toMatch(/resuming on the relaxed build \(trained on: simd\)/);
    expect(other.stderr).toMatch(/resuming on 2 worker\(s\) \(trained on: 1\)/);
    expect(other.stderr).toMatch(/done: 3 steps/);
  });

  test('--workers 2 --batch 1 runs the branch split; resuming with --parallel batch is a warning', async () => {
    const dir = tmp('engine-branch');
    dirs.push(dir);
    const data = await makeDataset(join(dir, 'data'), 3);
    const out = join(dir, 'run');
    const first = cli(['train', '--data', data, '--out', out, '--batch', '1', '--steps', '2', '--sample-every', '0', '--log-every', '1', ...TINY, '--workers', '2']);
    expect(first.stderr).toMatch(/engine ParallelEngine \(2 workers, branch split\)/);
    expect(first.stderr).toMatch(/done: 2 steps/);
    const same = cli(['train', '--out', out, '--resume', '--steps', '3']);
    expect(same.stderr).toMatch(/engine ParallelEngine \(2 workers, branch split\)/);
    expect(same.stderr).not.toMatch(/warning/);
    const other = cli(['train', '--out', out, '--resume', '--steps', '4', '--parallel', 'batch']);
    expect(other.stderr).toMatch(/resuming with the batch split \(trained with the branch split\)/);
    expect(other.stderr).toMatch(/done: 4 steps/);
    const one = cli(['train', '--data', data, '--out', join(dir, 'one'), '--batch', '1', '--parallel', 'branch', '--steps', '1', ...TINY]);
    expect(one.code).not.toBe(0);
    expect(one.stderr).toMatch(/--parallel branch runs the step on 2 workers: give --workers 2 \(got 1\)/);
  });
});
