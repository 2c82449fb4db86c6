// The branch split of the ParallelEngine (split 'branch'; 'auto' at batch 1): two workers run the cVAE-GAN and
// cLR-GAN branches of the pytorch-gan step side by side on the whole batch. Same weights (seed), batch and noise
// as LocalEngine on one thread, after every one of 3 steps at batch 1 and 2 steps at batch 2 (widths 2): the
// losses, parameters, Adam m and v, BN running stats and step counts are BIT FOR BIT those of one thread (tolerance
// zero). Every pass runs the kernels of the one-thread step on the same values in the same order: E, D_VAE and
// D_LR take their gradients from one thread each, rank 1's cLR backward accumulates G's gradients onto rank 0's
// cVAE ones in the same block, and rank 1's deferred BN running-stats update of G runs the kernel the undeferred
// forward runs, after rank 0's. (Only the Adam slices differ, and Adam is elementwise.)
import { describe, expect, test } from 'vitest';
import { loadCore } from '../src/core/load-node.js';
import { Rng } from '../src/core/rng.js';
import { LocalEngine } from '../src/train/engine.js';
import { chooseSplit, createParallelEngine, ParallelWorkerError } from '../src/parallel/engine.js';
import { NonFiniteLossError, type BicycleGAN, type StepLosses } from '../src/train/bicyclegan.js';

const MODEL = { gBase: 2, eBase: 2, dBase: 2 };
const PER = 128 * 128 * 3, L = 8;
const NETS = ['G', 'E', 'D_VAE', 'D_LR'] as const;

function data(seed: number, batch: number, steps: number) {
  const rng = new Rng(seed);
  const a = new Float32Array(batch * PER), b = new Float32Array(batch * PER);
  rng.fillUniform(a, -1, 1);
  rng.fillUniform(b, -1, 1);
  const noise = Array.from({ length: steps }, () => {
    const eps = new Float32Array(batch * L), zRandom = new Float32Array(batch * L);
    rng.fillNormal(eps);
    rng.fillNormal(zRandom);
    return { eps, zRandom };
  });
  return { a, b, noise };
}

/** The two models' parameters, Adam state, buffers and counters are identical. */
function compareModels(p: BicycleGAN, l: BicycleGAN): void {
  for (const net of NETS) {
    const ps = p[net].g.store, ls = l[net].g.store;
    for (const which of ['value', 'm', 'v'] as const) {
      const a = ps.block(which), b = ls.block(which);
      const at = a.findIndex((v, i) => !Object.is(v, b[i]));
      expect(at, `${net} ${which}[${at}]: ${a[at]} vs ${b[at]}`).toBe(-1);
    }
    expect(buffers(p, net), `${net} buffers`).toEqual(buffers(l, net));
    expect(p.opt[net].step).toBe(l.opt[net].step);
  }
  expect(p.steps).toBe(l.steps);
}

function buffers(m: BicycleGAN, net: (typeof NETS)[number]): Float32Array {
  const s = m[net].g.store;
  return s.core.f32(s.base.buffer, s.bufferFloats).slice();
}

/** num_batches_tracked of every BN layer (exact: one per train-mode pass, whichever thread ran it) */
function tracked(m: BicycleGAN): number[] {
  return NETS.flatMap((net) => {
    const s = m[net].g.store;
    return s.entries.filter((e) => e.name.endsWith('num_batches_tracked')).map((e) => s.core.f32(s.base.buffer + e.offset * 4, 1)[0]);
  });
}

function compareLosses(a: StepLosses, b: StepLosses): void {
  expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
  for (const k of Object.keys(b) as (keyof StepLosses)[]) expect(a[k], k).toBe(b[k]);
}

describe('ParallelEngine, branch split', () => {
  test('the split: auto is branch at batch 1 and 2 (pytorch-gan, 2+ workers), batch otherwise; bad requests are named', () => {
    expect(chooseSplit('auto', undefined, 2, 1)).toBe('branch');
    expect(chooseSplit(undefined, 'pytorch-gan', 4, 1)).toBe('branch');
    expect(chooseSplit('auto', 'pytorch-gan', 2, 2)).toBe('branch');
    expect(chooseSplit('auto', 'pytorch-gan', 2, 3)).toBe('batch');
    expect(chooseSplit('batch', 'pytorch-gan', 2, 2)).toBe('batch');
    expect(chooseSplit('auto', 'pytorch-gan', 1, 1)).toBe('batch');
    expect(chooseSplit('auto', 'official', 2, 2)).toBe('batch');
    expect(chooseSplit('branch', 'pytorch-gan', 2, 8)).toBe('branch');
    expect(() => chooseSplit('branch', 'official', 2, 2)).toThrow(/pytorch-gan step only/);
    expect(() => chooseSplit('branch', 'pytorch-gan', 1, 1)).toThrow(/needs 2 workers, got 1/);
    expect(() => chooseSplit('rows' as never, 'pytorch-gan', 2, 1)).toThrow(/split must be batch, branch or auto/);
  });

  for (const [batch, steps] of [[1, 3], [2, 2]] as const) {
    test(`2 workers compute the step of one thread bit for bit (batch ${batch}, ${steps} steps)`, { timeout: 120_000 }, async () => {
      const { a, b, noise } = data(20 + batch, batch, steps);
      const local = new LocalEngine(await loadCore({ build: 'simd' }), { batch, model: MODEL, seed: 4 });
      local.setBatch(a, b);
      const pe = await createParallelEngine({ batch, model: MODEL, seed: 4, workers: 3, split: 'branch', build: 'simd' });
      try {
        expect([pe.workers, pe.split]).toEqual([2, 'branch']);
        pe.setBatch(a, b);
        for (let s = 0; s < steps; s++) {
          compareLosses(await pe.step(noise[s]), await local.step(noise[s]));
          compareModels(pe.model, local.model);
          expect(tracked(pe.model)).toEqual(tracked(local.model));
        }
        const st = pe.lastStepStats;
        expect(st.map((x) => [x.rank, x.rows])).toEqual([[0, batch], [1, batch]]);
        for (const x of st) expect(x.barriers).toBe(4); // E's update and the last one, two barriers each
      } finally {
        await pe.close();
      }
    });
  }

  test('noise from the seeded RNG, checkpoint and restore; recalibration runs once', { timeout: 120_000 }, async () => {
    const { a, b } = data(30, 1, 0);
    const opts = { batch: 1, model: MODEL, seed: 6 };
    const local = new LocalEngine(await loadCore({ build: 'simd' }), opts);
    const pe = await createParallelEngine({ ...opts, workers: 2, build: 'simd' }); // auto: branch at batch 1
    try {
      expect(pe.split).toBe('branch');
      local.setBatch(a, b);
      pe.setBatch(a, b);
      compareLosses(await pe.step(), await local.step());
      expect(pe.model.rng.state()).toEqual(local.model.rng.state());
      const ck = local.checkpoint({ epoch: 1 });
      pe.restore(ck);
      compareLosses(await pe.step(), await local.step());
      compareModels(pe.model, local.model);
      // a recalibration pass updates G's and E's running stats once, as on one thread
      const { noise } = data(31, 1, 1);
      await pe.recalibrationPass(1, noise[0]);
      await local.recalibrationPass(1, noise[0]);
      compareModels(pe.model, local.model);
      expect(tracked(pe.model)).toEqual(tracked(local.model));
    } finally {
      await pe.close();
    }
  });

  test('bit-reproducible, and resume is bit for bit: 3 steps = 2 steps, checkpoint, restore in a new engine, 1 step', { timeout: 120_000 }, async () => {
    const { a, b } = data(34, 1, 0);
    const opts = { batch: 1, model: MODEL, seed: 8, workers: 2, build: 'simd' as const };
    const run = async (steps: number, from?: Uint8Array) => {
      const pe = await createParallelEngine(opts);
      try {
        if (from) pe.restore(from);
        pe.setBatch(a, b);
        const losses: StepLosses[] = [];
        for (let s = 0; s < steps; s++) losses.push(await pe.step());
        return { losses, ck: pe.checkpoint({ epoch: 0 }) };
      } finally {
        await pe.close();
      }
    };
    const whole = await run(3), part = await run(2), rest = await run(1, part.ck);
    expect([...part.losses, ...rest.losses]).toEqual(whole.losses);
    expect(Buffer.from(rest.ck).equals(Buffer.from(whole.ck))).toBe(true);
  });

  test('a non-finite loss on one branch stops both, like one thread; the pool lives on and steps again', { timeout: 120_000 }, async () => {
    const { a, b, noise } = data(32, 1, 2);
    const opts = { batch: 1, model: MODEL, seed: 7 };
    const pe = await createParallelEngine({ ...opts, workers: 2, build: 'simd' });
    try {
      // z_random NaN: only the cLR branch (rank 1) meets it, while rank 0 waits for it at E's update
      const bad = { eps: noise[0].eps, zRandom: noise[0].zRandom.map(() => NaN) };
      pe.setBatch(a, b);
      const err = await pe.step(bad).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(NonFiniteLossError);
      expect((err as NonFiniteLossError).term).toBe('lr_gan');
      expect(pe.steps).toBe(0);
      for (const net of NETS) expect(pe.model.opt[net].step).toBe(0);
      // the barrier and the stop flag were reset: the next step runs and matches one thread
      const local = new LocalEngine(await loadCore({ build: 'simd' }), opts);
      local.setBatch(a, b);
      compareLosses(await pe.step(noise[1]), await local.step(noise[1]));
    } finally {
      await pe.close();
    }
  });

  for (const [kind, worker] of [['throw', 1], ['exit', 0]] as const) {
    test(`a worker that ${kind === 'throw' ? 'throws' : 'exits'} fails the step naming it; the pool is torn down`, { timeout: 60_000 }, async () => {
      const { a, b } = data(33, 1, 0);
      const pe = await createParallelEngine({ batch: 1, model: MODEL, workers: 2, build: 'simd', fault: { worker, step: 2, kind } });
      pe.setBatch(a, b);
      await pe.step();
      const err = await pe.step().then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(ParallelWorkerError);
      expect((err as Error).message).toMatch(new RegExp(`^parallel engine: worker ${worker} failed during step 2: `));
      expect((err as Error).message).toMatch(kind === 'throw' ? /injected fault at step 2/ : /exit|code 70/i);
      expect((err as Error).message).not.toMatch(/\[aborted\]/);
      await expect(pe.step()).rejects.toThrow(new RegExp(`cannot step: parallel engine: worker ${worker} failed`));
    });
  }
});
