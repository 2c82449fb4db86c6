// Stop signals, with real signals in a child process: the first SIGINT/SIGTERM is answered within one step
// (it used to wait until the prefetch queue ran dry: 4-5 more steps), and once it has been answered a second
// one ends the process at once by the default action, even while the main thread is blocked.
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { makeDataset, tmp } from './helpers/cli.js';

const script = fileURLToPath(new URL('./helpers/signal-child.ts', import.meta.url));
const run = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', script, ...args], { encoding: 'utf8', timeout: 90_000 });
const dir = tmp('signals');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('stop signals', () => {
  test('a SIGINT at the end of step 2 stops the run after at most one more step, with a checkpoint', async () => {
    const data = await makeDataset(join(dir, 'data'), 3);
    const r = run(['step', data, join(dir, 'run')]);
    expect(r.status, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(res.stopped).toBe(true);
    expect(res.received).toBe('SIGINT');
    expect(res.steps).toBeGreaterThanOrEqual(2);
    expect(res.steps).toBeLessThanOrEqual(3);
    expect(existsSync(res.checkpoint)).toBe(true);
    expect(r.stderr).toMatch(/SIGINT: stopping after this step/);
  });

  test('after the first signal is answered, a second one ends a blocked process at once (default action)', () => {
    const r = run(['blocked']);
    expect(r.stdout).toMatch(/armed listeners=0/);
    expect(r.stdout).not.toMatch(/survived/);
    expect(r.signal).toBe('SIGTERM');
  });
});
