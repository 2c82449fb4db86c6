// ParallelEngine: the worker count is a performance knob, never a semantics knob. Same weights (seed), same batch,
// same noise: 1, 2 and 3 workers on a batch of 5 (shards 5 | 3+2 | 2+2+1) against LocalEngine on the whole batch.
// Tolerances, elementwise |a - b| <= atol + rtol * |b| after 2 steps:
// - 1 worker: bit for bit (same kernels on the same rows; the split BN kernels are what the fused ones run);
// - Adam m and v (they carry the gradients; a wrong shard weight or unsynchronised BN is off by percents):
//   rtol 2e-3, atol 1e-6 * max|b|; BN running stats: rtol 1e-3, atol 1e-5; losses: rtol 1e-5;
// - parameter values: rtol 1e-3, atol 1e-4 = half an Adam step at lr 2e-4. Adam's first steps move a
//   parameter by about lr * sign(g), so a gradient that is zero up to rounding (a conv bias in front of
//   BatchNorm) may step either way; measured max |diff| 4e-5 (D biases), 5e-6 elsewhere.
// Failure: a worker that throws or whose thread exits fails the step with an error naming it, the pool is torn
// down, the engine refuses further work, and a process in that state exits by itself.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { loadCore } from '../src/core/load-node.js';
import { Rng } from '../src/core/rng.js';
import { LocalEngine } from '../src/train/engine.js';
import { createParallelEngine, ParallelWorkerError, type ParallelEngine } from '../src/parallel/engine.js';
import { paramRange, shardRows } from '../src/parallel/sync.js';
import { NonFiniteLossError, type BicycleGAN, type StepLosses } from '../src/train/bicyclegan.js';
import { readCheckpointFile } from '../src/train/checkpoint-file.js';
import { listCheckpoints } from '../src/train/run-files.js';
import { train, type EngineRequest } from '../src/train/trainer.js';
import { makeDataset, tmp } from './helpers/cli.js';

const OPTS = { batch: 5, model: { gBase: 2, eBase: 2, dBase: 2 }, seed: 3 };
const PER = 128 * 128 * 3, L = 8;

function data(seed: number) {
  const rng = new Rng(seed);
  const a = new Float32Array(OPTS.batch * PER), b = new Float32Array(OPTS.batch * PER);
  rng.fillUniform(a, -1, 1);
  rng.fillUniform(b, -1, 1);
  const noise = [0, 1].map(() => {
    const eps = new Float32Array(OPTS.batch * L), zRandom = new Float32Array(OPTS.batch * L);
    rng.fillNormal(eps);
    rng.fillNormal(zRandom);
    return { eps, zRandom };
  });
  return { a, b, noise };
}

const NETS = ['G', 'E', 'D_VAE', 'D_LR'] as const;

/** worst (|a - b| - atol) / (rtol * |b|) style violation: <= 1 passes */
function worst(a: Float32Array, b: Float32Array, rtol: number, atol: number): { ratio: number; at: number } {
  let ratio = 0, at = -1;
  for (let i = 0; i < a.length; i++) {
    const r = Math.abs(a[i] - b[i]) / (atol + rtol * Math.abs(b[i]));
    if (!(r <= ratio)) [ratio, at] = [r, i];
  }
  return { ratio, at };
}

function compareModels(p: BicycleGAN, l: BicycleGAN, exact: boolean): void {
  for (const net of NETS) {
    const ps = p[net].g.store, ls = l[net].g.store;
    for (const which of ['value', 'm', 'v'] as const) {
      const a = ps.block(which), b = ls.block(which);
      if (exact) {
        expect(a, `${net} ${which}`).toEqual(b);
        continue;
      }
      const max = b.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      const [rtol, atol] = which === 'value' ? [1e-3, 1e-4] : [2e-3, 1e-6 * max];
      const w = worst(a, b, rtol, atol);
      expect(w.ratio, `${net} ${which}[${w.at}]: ${a[w.at]} vs ${b[w.at]}`).toBeLessThanOrEqual(1);
    }
    const a = ps.core.f32(ps.base.buffer, ps.bufferFloats), b = ls.core.f32(ls.base.buffer, ls.bufferFloats);
    if (exact) expect(a, `${net} buffers`).toEqual(b);
    else {
      const w = worst(a, b, 1e-3, 1e-5);
      expect(w.ratio, `${net} buffers[${w.at}]: ${a[w.at]} vs ${b[w.at]}`).toBeLessThanOrEqual(1);
    }
    expect(p.opt[net].step).toBe(l.opt[net].step);
  }
  expect(p.steps).toBe(l.steps);
}

function compareLosses(a: StepLosses, b: StepLosses, exact: boolean): void {
  for (const k of Object.keys(b) as (keyof StepLosses)[]) {
    if (exact) expect(a[k], k).toBe(b[k]);
    else expect(Math.abs(a[k] - b[k]), k).toBeLessThanOrEqual(1e-5 * Math.abs(b[k]) + 1e-7);
  }
}

describe('ParallelEngine', () => {
  test('shards and Adam slices cover the batch and the parameters exactly once', () => {
    expect(shardRows(5, 2)).toEqual([3, 2]);
    expect(shardRows(5, 3)).toEqual([2, 2, 1]);
    expect(shardRows(8, 8)).toEqual(Array(8).fill(1));
    for (const [n, W] of [[1000, 3], [17, 4], [5, 8], [0, 2]]) {
      const r = Array.from({ length: W }, (_, i) => paramRange(n, i, W));
      expect(r[0][0]).toBe(0);
      expect(r[W - 1][1]).toBe(n);
      for (let i = 1; i < W; i++) expect(r[i][0]).toBe(r[i - 1][1]);
      for (const [f] of r) expect(f % 16 === 0 || f === n).toBe(true);
    }
  });

  test('1, 2 and 3 workers compute the step of one thread on the whole batch (batch 5, 2 steps)', { timeout: 120_000 }, async () => {
    const { a, b, noise } = data(7);
    const local = new LocalEngine(await loadCore({ build: 'simd' }), OPTS);
    local.setBatch(a, b);
    const ref: StepLosses[] = [];
    for (const n of noise) ref.push(await local.step(n));
    const barriers = new Set<number>();
    for (const W of [1, 2, 3]) {
      const pe = await createParallelEngine({ ...OPTS, workers: W, build: 'simd' });
      try {
        expect(pe.workers).toBe(W);
        pe.setBatch(a, b);
        for (let s = 0; s < 2; s++) compareLosses(await pe.step(noise[s]), ref[s], W === 1);
        compareModels(pe.model, local.model, W === 1);
        // the step statistics: one entry per worker, its rows, and the same barriers passed by every worker (BN
        // and loss all-reduces, two per optimizer step), whatever the worker count
        const st = pe.lastStepStats;
        expect(st.map((x) => [x.rank, x.rows])).toEqual(shardRows(OPTS.batch, W).map((r, i) => [i, r]));
        barriers.add(st[0].barriers);
        for (const x of st) {
          expect(x.barriers).toBe(st[0].barriers);
          expect(x.waitMs).toBeGreaterThanOrEqual(0);
          expect(x.updateMs).toBeGreaterThan(0);
          expect(x.taskMs).toBeGreaterThanOrEqual(x.waitMs + x.updateMs);
        }
      } finally {
        await pe.close();
      }
    }
    expect([...barriers]).toHaveLength(1);
    expect([...barriers][0]).toBeGreaterThan(8);
  });

  test('a fixed worker count is bit-reproducible (sums in worker order, whatever thread finishes first)', { timeout: 120_000 }, async () => {
    const { a, b, noise } = data(11);
    const runs: ParallelEngine[] = [];
    try {
      for (let r = 0; r < 2; r++) {
        const pe = await createParallelEngine({ ...OPTS, workers: 3, build: 'simd' });
        runs.push(pe);
        pe.setBatch(a, b);
        await pe.step(noise[0]);
      }
      compareModels(runs[0].model, runs[1].model, true);
    } finally {
      for (const pe of runs) await pe.close();
    }
  });

  test('noise from the seeded RNG, checkpoint and restore match LocalEngine', { timeout: 120_000 }, async () => {
    const { a, b } = data(8);
    const local = new LocalEngine(await loadCore({ build: 'simd' }), OPTS);
    const pe = await createParallelEngine({ ...OPTS, workers: 2, build: 'simd' });
    try {
      local.setBatch(a, b);
      pe.setBatch(a, b);
      compareLosses(await pe.step(), await local.step(), false); // same RNG draws for the whole batch
      expect(pe.model.rng.state()).toEqual(local.model.rng.state());
      // restore the local state into the parallel engine: the next steps continue from identical weights
      const ck = local.checkpoint({ epoch: 4 });
      expect(pe.restore(ck)?.epoch).toBe(4);
      compareModels(pe.model, local.model, true);
      compareLosses(await pe.step(), await local.step(), false);
      compareModels(pe.model, local.model, false);
      const back = pe.checkpoint({ epoch: 5 });
      const again = new LocalEngine(await loadCore({ build: 'simd' }), OPTS);
      expect(again.restore(back)).toMatchObject({ steps: 2, epoch: 5 });
      compareModels(again.model, pe.model, true);
    } finally {
      await pe.close();
    }
  });

  test('generate and encode spread over the workers equal the single-thread results', { timeout: 120_000 }, async () => {
    const rng = new Rng(2), n = 7;
    const imgs = new Float32Array(n * PER), z = new Float32Array(n * L);
    rng.fillUniform(imgs, -1, 1);
    rng.fillNormal(z);
    const local = new LocalEngine(await loadCore({ build: 'simd' }), { ...OPTS, batch: 2 });
    const pe = await createParallelEngine({ ...OPTS, batch: 2, workers: 3, build: 'simd' });
    try {
      expect(pe.workers).toBe(2); // clamped to the batch: a shard has at least one row
      const [g1, g2] = [await local.generate(imgs, z, n), await pe.generate(imgs, z, n)];
      expect(worst(g2, g1, 1e-5, 1e-6).ratio).toBeLessThanOrEqual(1);
      const [e1, e2] = [await local.encode(imgs, n), await pe.encode(imgs, n)];
      expect(worst(e2, e1, 1e-5, 1e-6).ratio).toBeLessThanOrEqual(1);
      expect((await pe.generate(new Float32Array(0), new Float32Array(0), 0)).length).toBe(0);
      await expect(pe.generate(imgs, z, 2)).rejects.toThrow(/generate: expected 98304 image floats and 16 code floats/);
      expect(() => pe.setBatch(new Float32Array(3), new Float32Array(3))).toThrow(/setBatch: expected 98304 floats per side/);
    } finally {
      await pe.close();
    }
    await expect(pe.step()).rejects.toThrow(/cannot step: the engine is closed/);
  });

  test('a non-finite loss in one shard stops every shard at the same point, like one thread; the pool lives on', { timeout: 120_000 }, async () => {
    const { a, b, noise } = data(10);
    a[4 * PER + 17] = NaN; // row 4: the last shard of 3 (rows 2+2+1)
    const local = new LocalEngine(await loadCore({ build: 'simd' }), OPTS);
    local.setBatch(a, b);
    const le = await local.step(noise[0]).then(() => null, (e: unknown) => e);
    const pe = await createParallelEngine({ ...OPTS, workers: 3, build: 'simd' });
    try {
      pe.setBatch(a, b);
      const err = await pe.step(noise[0]).then(() => null, (e: unknown) => e);
      expect(le).toBeInstanceOf(NonFiniteLossError);
      expect(err).toBeInstanceOf(NonFiniteLossError);
      expect((err as NonFiniteLossError).term).toBe((le as NonFiniteLossError).term);
      expect((err as NonFiniteLossError).step).toBe(1);
      expect(pe.steps).toBe(0);
      for (const net of NETS) expect(pe.model.opt[net].step).toBe(local.model.opt[net].step);
      expect(pe.checkpoint({ epoch: 0 }).length).toBeGreaterThan(0); // still open
    } finally {
      await pe.close();
    }
  });

  test('a worker that cannot start (out of shared memory) is a clear error naming it; bad worker counts too', { timeout: 60_000 }, async () => {
    await expect(createParallelEngine({ ...OPTS, workers: 2, build: 'simd', maxMemoryMB: 48 }))
      .rejects.toThrow(/^parallel engine: could not start 2 workers: worker 0: OutOfMemoryError: core: out of wasm memory allocating .* the limit is 48 MiB/);
    await expect(createParallelEngine({ ...OPTS, workers: 0 })).rejects.toThrow(/workers must be an integer in \[1, 64\], got 0/);
  });

  for (const kind of ['throw', 'exit'] as const) {
    test(`a worker that ${kind === 'throw' ? 'throws' : 'exits'} fails the step naming it; the pool is torn down`, { timeout: 60_000 }, async () => {
      const { a, b } = data(9);
      let pe: ParallelEngine | null = await createParallelEngine({ ...OPTS, workers: 3, build: 'simd', fault: { worker: 1, step: 2, kind } });
      pe.setBatch(a, b);
      await pe.step(); // step 1 is fine
      const err = await pe.step().then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(ParallelWorkerError);
      const e = err as ParallelWorkerError;
      expect(e.worker).toBe(1);
      expect(e.message).toMatch(/^parallel engine: worker 1 failed during step 2: /);
      expect(e.message).toMatch(kind === 'throw' ? /injected fault at step 2/ : /exit|code 70/i);
      expect(e.message).not.toMatch(/\[aborted\]/); // the cause, not the workers that were stopped because of it
      await expect(pe.step()).rejects.toThrow(/cannot step: parallel engine: worker 1 failed/);
      expect(() => pe!.checkpoint({ epoch: 0 })).toThrow(/cannot checkpoint/);
      await pe.close(); // idempotent
      pe = null;
    });
  }

  test('a worker stuck in a loop: past stepTimeoutS the step fails naming it and its thread is terminated', { timeout: 60_000 }, async () => {
    const { a, b } = data(9);
    const pe = await createParallelEngine({ ...OPTS, workers: 2, build: 'simd', stepTimeoutS: 3, fault: { worker: 0, step: 1, kind: 'hang' } });
    pe.setBatch(a, b);
    const t0 = Date.now();
    const err = await pe.step().then(() => null, (e: unknown) => e);
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(err).toBeInstanceOf(ParallelWorkerError);
    expect((err as Error).message).toMatch(/^parallel engine: worker 0 failed during step 1: no answer within 3 s; the worker pool was shut down/);
    await expect(pe.step()).rejects.toThrow(/cannot step: parallel engine: worker 0 failed during step 1/);
  });

  test('training: a worker failing at step 5 fails the run naming it; the step-4 checkpoint stays and resumes', { timeout: 120_000 }, async () => {
    const dir = tmp('parallel-fault');
    const data = await makeDataset(join(dir, 'data'), 4);
    const cfg = { data, out: join(dir, 'run'), batch: 3, steps: 8, checkpointEvery: 2, keep: 2, sampleEvery: 0, loadSize: 128, seed: 5, gBase: 2, eBase: 2, dBase: 2, build: 'simd' as const };
    const faulty = (o: EngineRequest) => createParallelEngine({ ...o, workers: 2, fault: { worker: 1, step: 5, kind: 'throw' } });
    const events: string[] = [];
    const err = await train({ ...cfg, workers: 2 }, { createEngine: faulty, onEvent: (e) => events.push(e.type) }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(ParallelWorkerError);
    expect((err as Error).message).toMatch(/^parallel engine: worker 1 failed during step 5: injected fault at step 5/);
    expect(events.filter((e) => e === 'step')).toHaveLength(4);
    // the last good checkpoint (step 4) is untouched and complete; nothing was written from the failed step
    const ckpts = listCheckpoints(cfg.out);
    expect(ckpts.map((c) => c.step)).toEqual([2, 4]);
    expect(() => readCheckpointFile(ckpts[1].path)).not.toThrow();
    const resumed = await train({ ...cfg, workers: 2, resume: 'latest' }, { createEngine: (o) => createParallelEngine({ ...o, workers: 2 }) });
    expect(resumed.steps).toBe(8);
    expect(resumed.stopped).toBe(false);
    rmSync(dir, { recursive: true, force: true });
  });

  test('a process whose worker died exits by itself, non-zero, with the error', { timeout: 90_000 }, () => {
    const script = fileURLToPath(new URL('./helpers/parallel-fault.ts', import.meta.url));
    const tsx = fileURLToPath(new URL('../node_modules/tsx/dist/cli.mjs', import.meta.url));
    const r = spawnSync(process.execPath, [tsx, script], { encoding: 'utf8', timeout: 80_000 });
    expect(r.signal, 'the process hung and was killed').toBeNull();
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/parallel engine: worker 0 failed during step 1: .*exit/i);
  });
});
