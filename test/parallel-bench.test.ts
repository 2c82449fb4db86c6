// Smoke test of the data-parallel benchmark (bench/parallel.bench.ts) on a tiny model: every configuration runs
// in its own process, the rounds, the control (independent processes) and the per-worker statistics reach the
// table and the JSON. Timings are not checked (CI machines are noisy); bench/results/ holds measured runs.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

test('bench:parallel runs one thread, 1 and 2 workers and the 2-process control, in rounds, and reports them', { timeout: 180_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'parallel-bench-'));
  try {
    const out = join(dir, 'parallel.json');
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/parallel.bench.ts', '--width', '2', '--batch', '3', '--workers', '1,2',
      '--steps', '1', '--rounds', '2', '--build', 'simd', '--out', out], { cwd: root, encoding: 'utf8', timeout: 170_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/round 2\/2/);
    expect(r.stdout).toMatch(/control: 2 independent one-thread processes at once/);
    expect(r.stdout).toMatch(/worker 1 \(1 rows\): task \d+ ms, waiting at \d+ barriers/);
    expect(r.stdout).toMatch(/target \(ANCHORS\.md\): 2 workers >= 1\.8x one worker: \d\.\d\dx (met|NOT met)/);
    const j = JSON.parse(readFileSync(out, 'utf8'));
    expect(j).toMatchObject({ batch: 3, width: 2, rounds: 2, build: 'simd' });
    expect(Object.keys(j.samples).sort()).toEqual(['1', '2', 'control 2', 'local']);
    type Smp = { imagesPerS: number; results: { imagesPerS: number; medianStepS: number }[] };
    for (const [k, s] of Object.entries(j.samples) as [string, Smp[]][]) {
      expect(s).toHaveLength(2);
      // images/s is the batch's rows over the median step time (the control's shards are checked below)
      if (!k.startsWith('control')) for (const x of s) expect(x.imagesPerS * x.results[0].medianStepS).toBeCloseTo(3, 6);
    }
    // the control: two processes on the shards' rows (2 + 1)
    expect(j.samples['control 2'][0].results.map((x: { imagesPerS: number; medianStepS: number }) => Math.round(x.imagesPerS * x.medianStepS))).toEqual([2, 1]);
    // the row's ratios are medians (2 rounds: means) of the within-round ratios of those samples
    const two = j.rows.find((x: { workers: number }) => x.workers === 2);
    const within = (a: string, b: string) => (j.samples[a][0].imagesPerS / j.samples[b][0].imagesPerS + j.samples[a][1].imagesPerS / j.samples[b][1].imagesPerS) / 2;
    expect(two.speedup).toBeCloseTo(within('2', '1'), 9);
    expect(two.efficiency).toBeCloseTo(within('2', '1') / 2, 9);
    expect(two.vsLocal).toBeCloseTo(within('2', 'local'), 9);
    expect(two.ceiling).toBeCloseTo(within('control 2', '1'), 9);
    expect(two.ofCeiling).toBeCloseTo(within('2', 'control 2'), 9);
    const ws = j.samples['2'][0].results[0].workerStats;
    expect(ws.map((w: { rank: number; rows: number }) => [w.rank, w.rows])).toEqual([[0, 2], [1, 1]]);
    expect(ws[0].barriers).toBe(ws[1].barriers);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
