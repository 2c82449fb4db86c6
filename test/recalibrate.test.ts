// BatchNorm recalibration (src/train/recalibrate.ts): equal to PyTorch's own cumulative average (momentum=None)
// on a committed fixture, on one thread and summed over data-parallel shards; raw running stats untouched;
// checkpoints carry the recalibrated statistics beside the raw ones (stale ones are not written, hostile ones
// rejected before the model changes); a trained tiny model's eval-mode reconstruction improves; inference
// files made from a recalibrated checkpoint equal eval mode with those statistics; the CLI commands.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { compiledModule, loadCore } from '../src/core/load-node.js';
import type { Core } from '../src/core/loader.js';
import { parseSafetensors, serializeSafetensors, tensorF32, toF32, type Safetensors, type TensorEntry } from '../src/core/safetensors.js';
import type { ModelConfig } from '../src/models/config.js';
import { BicycleGANInference, readPacked } from '../src/infer/index.js';
import { createParallelEngine } from '../src/parallel/engine.js';
import { BicycleGAN } from '../src/train/bicyclegan.js';
import { checkpointBytes, loadCheckpoint } from '../src/train/checkpoint.js';
import { LocalEngine, type TrainEngine } from '../src/train/engine.js';
import { evaluate } from '../src/train/evaluate.js';
import { recalibrate, readRunningStats, recalibrationPass, RECAL_PREFIX, withEvalStats } from '../src/train/recalibrate.js';
import { recalibrateCheckpoint } from '../src/train/recalibrate-file.js';
import { train } from '../src/train/trainer.js';
import { cli, makeDataset, tmp } from './helpers/cli.js';
import { close, nchwToNhwc, nhwcToNchw } from './helpers/layout.js';
import { runPython, torchPython } from './helpers/python.js';

const FIXTURE = new URL('./fixtures/recalibrate.safetensors', import.meta.url).pathname;
const DEMO = new URL('../data/demo/edges2shoes-mini', import.meta.url).pathname;

let core: Core;
let fx: Safetensors;
let cfg: Partial<ModelConfig>;
let dir: string;

beforeAll(async () => {
  core = await loadCore({ build: 'simd' });
  fx = parseSafetensors(new Uint8Array(readFileSync(FIXTURE)));
  const c = JSON.parse(fx.metadata.config);
  cfg = { imageSize: c.height, latentDim: c.latentDim, gBase: c.gBase, eBase: c.eBase, dBase: c.dBase };
  dir = tmp('recal');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const K = () => Number(fx.metadata.batches);

/** The fixture's G and E weights (our names) as a checkpoint for a model of its config. */
function fixtureWeights(m: BicycleGAN): Uint8Array {
  const entries: TensorEntry[] = [...fx.tensors].filter(([n]) => !n.startsWith('batch') && !n.startsWith('recal.')).map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape, data: t.data }));
  return serializeSafetensors(entries, { config: JSON.stringify(m.cfg) });
}

/** Pass k's inputs: NHWC images and the noise. */
function fixtureBatch(k: number, m: BicycleGAN) {
  const S = m.cfg.imageSize, C = m.cfg.channels, N = 2;
  const img = (n: string) => nchwToNhwc(toF32(fx.tensors.get(`batch${k}.${n}`)!, n), N, C, S, S);
  return { a: img('real_A'), b: img('real_B'), noise: { eps: tensorF32(fx, `batch${k}.eps`), zRandom: tensorF32(fx, `batch${k}.z_random`) } };
}

function expectTorchStats(stats: Map<string, Float32Array>) {
  let n = 0;
  for (const [name, t] of fx.tensors) {
    if (!name.startsWith('recal.')) continue;
    const ours = stats.get(name.slice('recal.'.length));
    expect(ours, name).toBeDefined();
    const r = close(ours!, toF32(t, name), 1e-4);
    expect(r.ok, `${name}: ours ${r.actual} vs torch ${r.expected}`).toBe(true);
    n++;
  }
  expect(n).toBe(stats.size);
  expect(n).toBeGreaterThan(20); // every BN layer of G and E
}

/** Run the fixture's K passes through an engine; returns the statistics (raw buffers put back). */
async function fixturePasses(e: TrainEngine): Promise<Map<string, Float32Array>> {
  let k = 0;
  const batches = Array.from({ length: K() }, (_, i) => fixtureBatch(i + 1, e.model));
  const engine = { model: e.model, batch: e.batch, setBatch: (a: Float32Array, b: Float32Array) => e.setBatch(a, b),
    // recalibrate() draws its own noise; the fixture's noise replaces it here
    recalibrationPass: (i: number) => e.recalibrationPass(i, batches[i - 1].noise) };
  const s = await recalibrate(engine, async () => batches[k++], { batches: K() });
  return s.values;
}

describe('recalibration equals PyTorch (momentum=None average over E(B), G(A, z_enc), G(A, z_random))', () => {
  test('one thread: the pass itself, and recalibrate() around it leaves the raw buffers bit for bit', async () => {
    const m = new BicycleGAN(core, { batch: 2, model: cfg });
    loadCheckpoint(m, fixtureWeights(m), { nets: ['G', 'E'], trainState: false });
    const raw = [m.G.g.store, m.E.g.store].map((s) => core.f32(s.base.buffer, s.bufferFloats).slice());
    // the pass alone, as a PyTorch user would run it
    for (let k = 1; k <= K(); k++) {
      const b = fixtureBatch(k, m);
      core.f32(m.realA.ptr, m.realA.size).set(b.a);
      core.f32(m.realB.ptr, m.realB.size).set(b.b);
      recalibrationPass(m, k, b.noise);
    }
    expectTorchStats(readRunningStats(m));
    // through the engine and recalibrate(): same values, raw buffers restored exactly
    const m2 = new LocalEngine(core, { batch: 2, model: cfg });
    m2.restore(fixtureWeights(m2.model), { nets: ['G', 'E'], trainState: false });
    const before = [m2.model.G.g.store, m2.model.E.g.store].map((s) => core.f32(s.base.buffer, s.bufferFloats).slice());
    expectTorchStats(await fixturePasses(m2));
    const after = [m2.model.G.g.store, m2.model.E.g.store].map((s) => core.f32(s.base.buffer, s.bufferFloats));
    expect(Array.from(after[0])).toEqual(Array.from(before[0]));
    expect(Array.from(after[1])).toEqual(Array.from(before[1]));
    expect(before[0]).toEqual(raw[0]);
    expect(m2.model.evalStats?.step).toBe(0);
    for (const bn of [...m2.model.G.g.layers, ...m2.model.E.g.layers].filter((l) => 'momentum' in l)) expect((bn as unknown as { momentum: number }).momentum).toBe(0.1);
  });

  test('two data-parallel workers: the statistics summed over shards equal PyTorch too', async () => {
    const e = await createParallelEngine({ batch: 2, model: cfg, workers: 2, build: 'simd' });
    try {
      e.restore(fixtureWeights(e.model), { nets: ['G', 'E'], trainState: false });
      expectTorchStats(await fixturePasses(e));
    } finally {
      await e.close();
    }
  }, 120_000);
});

describe('recalibrated statistics in checkpoints and eval-mode use', () => {
  async function recalibrated(seed = 3): Promise<LocalEngine> {
    const e = new LocalEngine(core, { batch: 2, model: cfg, seed });
    e.setBatch(fixtureBatch(1, e.model).a, fixtureBatch(1, e.model).b);
    await e.step();
    await fixturePasses(e);
    return e;
  }

  test('written beside the raw statistics, loaded back; stale ones are not written; eval output uses them', async () => {
    const e = await recalibrated();
    const m = e.model;
    const bytes = e.checkpoint({ epoch: 0 });
    const p = parseSafetensors(bytes);
    const names = [...p.tensors.keys()].filter((n) => n.startsWith(RECAL_PREFIX));
    expect(names.length).toBe(m.evalStats!.values.size);
    expect(JSON.parse(p.metadata.recalibrated)).toEqual({ step: 1, batches: K(), batchSize: 2 });
    // the raw running stats are still what training made them
    const rawMean = tensorF32(p, 'down2.model.1.running_mean');
    expect(Array.from(rawMean)).toEqual(Array.from(m.G.g.store.toTorch(m.G.g.store.find('down2.model.1.running_mean')!)));
    expect(Array.from(tensorF32(p, `${RECAL_PREFIX}down2.model.1.running_mean`))).not.toEqual(Array.from(rawMean));

    const back = new LocalEngine(core, { batch: 2, model: cfg });
    back.restore(bytes);
    expect(back.model.evalStats?.step).toBe(1);
    for (const [k, v] of m.evalStats!.values) expect(Array.from(back.model.evalStats!.values.get(k)!)).toEqual(Array.from(v));

    // eval-mode generation: recalibrated differs from running, and running is what it was before
    const A = fixtureBatch(2, m).a, z = new Float32Array(2 * m.cfg.latentDim).fill(0.3);
    const running = await back.generate(A, z, 2);
    const recal = await withEvalStats(back.model, 'recalibrated', () => back.generate(A, z, 2));
    expect(Array.from(await back.generate(A, z, 2))).toEqual(Array.from(running));
    expect(close(recal, running, 1e-3).ok).toBe(false);

    // one more step: the statistics belong to step 1, not 2: not written, and refused for eval use
    await e.step();
    expect([...parseSafetensors(e.checkpoint({ epoch: 0 })).tensors.keys()].some((n) => n.startsWith(RECAL_PREFIX))).toBe(false);
    await expect(withEvalStats(m, 'recalibrated', async () => 0)).rejects.toThrow(/belong to step 1, the weights to step 2: recalibrate again/);
  });

  test.skipIf(!torchPython())('PyTorch loads such a checkpoint with strict=True, and with the recalibrated statistics gives our eval output', async () => {
    const e = await recalibrated(6);
    const ck = join(dir, 'torch-recal.safetensors');
    const { writeFileAtomic } = await import('../src/train/checkpoint-file.js');
    writeFileAtomic(ck, e.checkpoint({ epoch: 0 }));
    const script = new URL('./fixtures/torch_interop.py', import.meta.url).pathname;
    const m = e.model, S = m.cfg.imageSize, C = m.cfg.channels;
    for (const bn of ['running', 'recalibrated'] as const) {
      const out = join(dir, `torch-${bn}.safetensors`);
      runPython([script, 'load', ck, out, '--bn-stats', bn]);
      const t = parseSafetensors(new Uint8Array(readFileSync(out)));
      const A = nchwToNhwc(tensorF32(t, 'input.real_A'), 2, C, S, S);
      const ours = await withEvalStats(m, bn, () => e.generate(A, tensorF32(t, 'input.z'), 2));
      const r = close(nhwcToNchw(ours, 2, C, S, S), tensorF32(t, 'fake_B'), 1e-4);
      expect(r.ok, `${bn}: fake_B ${r.actual} vs torch ${r.expected}`).toBe(true);
    }
  }, 120_000);

  test('hostile recalibrated entries are rejected naming the tensor, before the model changes', async () => {
    const e = await recalibrated();
    const bytes = e.checkpoint({ epoch: 0 });
    const p = parseSafetensors(bytes);
    const rewrite = (f: (entries: TensorEntry[]) => TensorEntry[]) =>
      serializeSafetensors(f([...p.tensors].map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape, data: new Uint8Array(t.data) }))), p.metadata);
    const target = new LocalEngine(core, { batch: 2, model: cfg, seed: 9 });
    const snapshot = core.f32(target.model.G.g.store.base.value, target.model.G.g.store.paramFloats).slice();
    const nan = rewrite((es) => es.map((x) => (x.name === `${RECAL_PREFIX}up1.model.2.running_var` ? { ...x, data: new Float32Array(x.shape[0]).fill(NaN) } : x)));
    expect(() => target.restore(nan, { source: 'ckpt' })).toThrow(/ckpt: tensor "recalibrated\.up1\.model\.2\.running_var": value 0 is NaN/);
    const partial = rewrite((es) => es.filter((x) => x.name !== `${RECAL_PREFIX}down3.model.1.running_mean`));
    expect(() => target.restore(partial, { source: 'ckpt' })).toThrow(/recalibrated\.down3\.model\.1\.running_mean/);
    expect(Array.from(core.f32(target.model.G.g.store.base.value, target.model.G.g.store.paramFloats))).toEqual(Array.from(snapshot));
  });

  test('an inference file made from a recalibrated checkpoint equals eval mode with the recalibrated statistics', async () => {
    const e = await recalibrated(4);
    const m = e.model;
    const weights = e.checkpoint({ epoch: 0 });
    const { convertWeights } = await import('../src/infer/index.js');
    const files = { recal: convertWeights(weights, { storage: 'f32' }), running: convertWeights(weights, { storage: 'f32', bnStats: 'running' }) };
    expect(readPacked(files.recal).bnStats).toBe('recalibrated');
    expect(readPacked(files.running).bnStats).toBe('running');
    const S = m.cfg.imageSize, per = S * S * 3, L = m.cfg.latentDim;
    const A = fixtureBatch(3, m).a, z = new Float32Array(2 * L).map((_, i) => Math.sin(i));
    const ours = await withEvalStats(m, 'recalibrated', () => e.generate(A, z, 2));
    const oursRunning = await e.generate(A, z, 2);
    for (const [which, expected] of [['recal', ours], ['running', oursRunning]] as const) {
      const inf = await BicycleGANInference.create({ module: compiledModule('simd'), build: 'simd', weights: files[which] });
      for (let i = 0; i < 2; i++) {
        const out = inf.generate(A.subarray(i * per, (i + 1) * per), z.subarray(i * L, (i + 1) * L));
        const r = close(out, expected.subarray(i * per, (i + 1) * per), 1e-4);
        expect(r.ok, `${which} image ${i}: ${r.actual} vs ${r.expected}`).toBe(true);
      }
    }
    expect(close(ours, oursRunning, 1e-3).ok).toBe(false);
    // a checkpoint handed to the inference API folds the recalibrated statistics unless told otherwise
    for (const [bnStats, expected] of [[undefined, ours], ['running', oursRunning]] as const) {
      const inf = await BicycleGANInference.create({ module: compiledModule('simd'), build: 'simd', weights, bnStats });
      const r = close(inf.generate(A.subarray(0, per), z.subarray(0, L)), expected.subarray(0, per), 1e-4);
      expect(r.ok, `checkpoint, bnStats ${bnStats}: ${r.actual} vs ${r.expected}`).toBe(true);
    }
    expect(() => convertWeights(files.recal, { storage: 'f16', bnStats: 'running' })).toThrow(/folded already \(recalibrated statistics\)/);
  });
});

describe('per-batch statistics', () => {
  test('generate/encode with batchStats = train-mode BN on each batch, buffers unchanged; only whole batches; not on workers', async () => {
    const e = new LocalEngine(core, { batch: 2, model: cfg, seed: 8 });
    const m = e.model, L = m.cfg.latentDim;
    const b1 = fixtureBatch(1, m), b2 = fixtureBatch(2, m);
    const A = new Float32Array([...b1.a, ...b2.a]), z = new Float32Array(4 * L).map((_, i) => Math.cos(i));
    const buffers = () => [m.G.g.store, m.E.g.store].map((s) => Array.from(core.f32(s.base.buffer, s.bufferFloats)));
    const before = buffers();
    const out = await e.generate(A, z, 4, true);
    expect(buffers()).toEqual(before);
    // batch 2 by hand: the same rows through a train-mode forward
    core.f32(m.G.image.ptr, m.G.image.size).set(b2.a);
    core.f32(m.G.z.ptr, 2 * L).set(z.subarray(2 * L));
    m.G.g.forward(true);
    expect(Array.from(out.subarray(b1.a.length))).toEqual(Array.from(core.f32(m.G.out.ptr, m.G.out.size)));
    const evalOut = await e.generate(A, z, 4);
    expect(close(out, evalOut, 1e-3).ok).toBe(false);
    await expect(e.generate(A.subarray(0, A.length * 3 / 4), z.subarray(0, 3 * L), 3, true)).rejects.toThrow(/not a multiple of the batch size 2/);
    await expect(e.encode(b1.b, 2, true)).resolves.toHaveLength(2 * L);
    const p = await createParallelEngine({ batch: 2, model: cfg, workers: 2, build: 'simd' });
    try {
      await expect(p.generate(A, z, 4, true)).rejects.toThrow(/batch statistics need the one-thread engine/);
    } finally {
      await p.close();
    }
  }, 60_000);
});

describe('a trained tiny model', () => {
  test('eval-mode reconstruction improves after recalibration; the trainer recalibrates before grids and at the end', async () => {
    const out = join(dir, 'run');
    const messages: string[] = [];
    const r = await train({ data: DEMO, direction: 'BtoA', out, steps: 40, batch: 4, gBase: 8, eBase: 8, dBase: 8, workers: 1, build: 'simd',
      sampleEvery: 20, checkpointEvery: 0, recalBatches: 5, seed: 1 }, { onEvent: (ev) => ev.type === 'recalibrate' && messages.push(`${ev.step}:${ev.batches}`) });
    expect(messages).toEqual(['20:5', '40:5']);
    const ck = r.checkpoint!;
    expect(JSON.parse(parseSafetensors(readFileSync(ck)).metadata.recalibrated)).toEqual({ step: 40, batches: 5, batchSize: 4 });
    const rep = await evaluate({ checkpoint: ck, input: DEMO, n: 3, bnStats: ['running', 'recalibrated', 'batch'], build: 'simd' });
    const row = (b: string) => rep.rows.find((x) => x.bnStats === b)!;
    // measured at this seed: running L1 0.43 / PSNR 6.5 dB, recalibrated 0.36 / 8.3 dB
    expect(row('recalibrated').l1).toBeLessThan(0.9 * row('running').l1);
    expect(row('recalibrated').psnr).toBeGreaterThan(row('running').psnr + 1);
    expect(rep.inputs).toBe(4); // the demo's test split
    for (const x of rep.rows) for (const v of [x.l1, x.psnr, x.ssim, x.diversity]) expect(Number.isFinite(v)).toBe(true);
  }, 180_000);
});

describe('CLI', () => {
  test('recalibrate, convert (folds recalibrated by default), eval, sample --bn-stats; bad values name the flag', async () => {
    const data = await makeDataset(join(dir, 'data'), 4);
    const run = join(dir, 'cli');
    const tiny = ['--g-base', '2', '--e-base', '2', '--d-base', '2', '--workers', '1', '--build', 'simd'];
    const t = cli(['train', '--data', data, '--out', run, '--steps', '2', '--batch', '2', '--recal-batches', '0', '--sample-every', '0', ...tiny]);
    expect(t.code, t.stderr).toBe(0);
    const ck = join(run, 'checkpoints', 'step-00000002.safetensors');
    expect(parseSafetensors(readFileSync(ck)).metadata.recalibrated).toBeUndefined(); // --recal-batches 0

    const noStats = cli(['sample', '--checkpoint', ck, '--input', join(data, 'test'), '--out', join(dir, 's0'), '--n', '2', '--interp', '0', '--build', 'simd']);
    expect(noStats.code, noStats.stderr).toBe(0);
    expect(noStats.stderr).toMatch(/has no recalibrated BatchNorm statistics: sampling with the running ones/);
    expect(cli(['convert', ck, join(dir, 'x.safetensors'), '--bn-stats', 'recalibrated']).stderr).toMatch(/no recalibrated BatchNorm statistics in this file: run `bicyclegan recalibrate`/);

    const before = readFileSync(ck);
    const rc = cli(['recalibrate', '--checkpoint', ck, '--data', data, '--batches', '3', '--build', 'simd']);
    expect(rc.code, rc.stderr).toBe(0);
    expect(rc.stderr).toMatch(/over 3 batches of 2 \(4 pairs/);
    const after = parseSafetensors(readFileSync(ck));
    // every tensor of the original kept byte for byte, plus the recalibrated ones
    const orig = parseSafetensors(before);
    for (const [n, tt] of orig.tensors) expect(Buffer.from(after.tensors.get(n)!.data).equals(Buffer.from(tt.data)), n).toBe(true);
    expect(after.tensors.size).toBeGreaterThan(orig.tensors.size);
    expect(after.metadata.train).toBe(orig.metadata.train);

    const cv = cli(['convert', ck, join(dir, 'g.safetensors'), '--storage', 'int8']);
    expect(cv.code, cv.stderr).toBe(0);
    expect(cv.stderr).toMatch(/int8, nets G\+E, \d+ layers, recalibrated BatchNorm statistics folded/);
    const s = cli(['sample', '--checkpoint', ck, '--input', join(data, 'test'), '--out', join(dir, 's1'), '--n', '2', '--interp', '2', '--bn-stats', 'batch', '--build', 'simd']);
    expect(s.code, s.stderr).toBe(0);
    expect(s.stderr).toMatch(/\(batch BatchNorm statistics\)/);
    expect(existsSync(join(dir, 's1', 'grid.png'))).toBe(true);
    const ev = cli(['eval', '--checkpoint', ck, '--input', data, '--n', '2', '--bn-stats', 'running,recalibrated', '--json', '--build', 'simd']);
    expect(ev.code, ev.stderr).toBe(0);
    expect(JSON.parse(ev.stdout).rows.map((x: { bnStats: string }) => x.bnStats)).toEqual(['running', 'recalibrated']);
    // an inference file evaluates with the statistics folded into it, and says why the others are not there
    const evInt8 = cli(['eval', '--checkpoint', join(dir, 'g.safetensors'), '--input', data, '--n', '2', '--json', '--build', 'simd']);
    expect(evInt8.code, evInt8.stderr).toBe(0);
    const rep8 = JSON.parse(evInt8.stdout);
    expect(rep8.rows.map((x: { bnStats: string }) => x.bnStats)).toEqual(['recalibrated']);
    expect(rep8.skipped.map((x: { reason: string }) => x.reason)).toEqual(['an inference file has the recalibrated statistics folded into its convs', 'an inference file has the recalibrated statistics folded into its convs']);
    // its reconstruction is the checkpoint's with the recalibrated statistics, to int8 rounding
    const evCk = JSON.parse(cli(['eval', '--checkpoint', ck, '--input', data, '--n', '2', '--bn-stats', 'recalibrated', '--json', '--build', 'simd']).stdout);
    expect(Math.abs(rep8.rows[0].l1 - evCk.rows[0].l1)).toBeLessThan(0.01);

    expect(cli(['sample', '--checkpoint', ck, '--input', data, '--bn-stats', 'precise']).stderr).toMatch(/--bn-stats: bnStats must be auto, running, recalibrated or batch/);
    expect(cli(['recalibrate', '--checkpoint', ck, '--data', data, '--batches', '0']).stderr).toMatch(/--batches: batches must be at least 1/);
    expect(cli(['recalibrate', '--checkpoint', ck]).stderr).toMatch(/--data: required/);
    expect(cli(['convert', ck, join(dir, 'y.safetensors'), '--data', data, '--bn-stats', 'running']).stderr).toMatch(/--data: data recalibrates the statistics/);
  }, 240_000);

  test('convert --to checkpoint (from a PyTorch state_dict + --model-config) and --to state-dict (recalibrated as running); PyTorch loads it strictly', async () => {
    const e = new LocalEngine(core, { batch: 2, model: cfg, seed: 12 });
    e.setBatch(fixtureBatch(1, e.model).a, fixtureBatch(1, e.model).b);
    await e.step();
    await fixturePasses(e);
    const { writeFileAtomic } = await import('../src/train/checkpoint-file.js');
    const ck = join(dir, 'conv-src.safetensors');
    writeFileAtomic(ck, e.checkpoint({ epoch: 0 }));
    // a PyTorch-style state_dict: the network tensors only, no metadata
    const p = parseSafetensors(new Uint8Array(readFileSync(ck)));
    const sd = join(dir, 'torch-sd.safetensors'), mc = join(dir, 'model.json');
    writeFileAtomic(sd, serializeSafetensors([...p.tensors].filter(([n]) => !n.startsWith('adam.') && !n.startsWith(RECAL_PREFIX)).map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape, data: t.data }))));
    const { writeFileSync } = await import('node:fs');
    writeFileSync(mc, JSON.stringify(cfg));
    expect(cli(['convert', sd, join(dir, 'x.safetensors'), '--to', 'checkpoint']).stderr).toMatch(/no model config in the metadata .*--model-config/);
    const toCk = cli(['convert', sd, join(dir, 'ours.safetensors'), '--to', 'checkpoint', '--model-config', mc, '--build', 'simd']);
    expect(toCk.code, toCk.stderr).toBe(0);
    expect(toCk.stderr).toMatch(/weights file of G, E, D_VAE, D_LR \(state_dict in\)/);
    const back = new LocalEngine(core, { batch: 2, model: cfg });
    back.restore(new Uint8Array(readFileSync(join(dir, 'ours.safetensors'))));
    expect(Array.from(back.model.G.g.store.block('value'))).toEqual(Array.from(e.model.G.g.store.block('value')));
    expect(Array.from(back.model.D_LR.g.store.block('value'))).toEqual(Array.from(e.model.D_LR.g.store.block('value')));
    // a misshapen tensor is named
    const bad = serializeSafetensors([...p.tensors].filter(([n]) => !n.startsWith('adam.') && !n.startsWith(RECAL_PREFIX)).map(([name, t]) => name === 'fc_mu.bias' ? { name, dtype: 'F32', shape: [3], data: new Float32Array(3) } : { name, dtype: t.dtype, shape: t.shape, data: t.data }));
    writeFileAtomic(join(dir, 'bad-sd.safetensors'), bad);
    expect(cli(['convert', join(dir, 'bad-sd.safetensors'), join(dir, 'y.safetensors'), '--to', 'checkpoint', '--model-config', mc, '--build', 'simd']).stderr).toMatch(/fc_mu\.bias/);

    const toSd = cli(['convert', ck, join(dir, 'sd.safetensors'), '--to', 'state-dict']);
    expect(toSd.code, toSd.stderr).toBe(0);
    expect(toSd.stderr).toMatch(/PyTorch state_dict of G, E, D_VAE \(D_VAE\.\*\), D_LR \(D_LR\.\*\), recalibrated BatchNorm statistics, no Adam state/);
    const q = parseSafetensors(new Uint8Array(readFileSync(join(dir, 'sd.safetensors'))));
    expect([...q.tensors.keys()].some((n) => n.startsWith('adam.') || n.startsWith(RECAL_PREFIX))).toBe(false);
    expect(Array.from(tensorF32(q, 'up2.model.2.running_var'))).toEqual(Array.from(e.model.evalStats!.values.get('up2.model.2.running_var')!));
    expect(Array.from(tensorF32(q, 'D_VAE.models.disc_0.3.running_var'))).toEqual(Array.from(tensorF32(p, 'D_VAE.models.disc_0.3.running_var')));
    expect(cli(['convert', join(dir, 'sd.safetensors'), join(dir, 'z.safetensors'), '--to', 'checkpoint', '--build', 'simd']).code).toBe(0); // it keeps its config
    if (torchPython()) {
      const out = runPython([new URL('../python/export_pth.py', import.meta.url).pathname, join(dir, 'sd.safetensors'), join(dir, 'pth')]);
      expect(out).toMatch(/G\.pth, .*E\.pth, .*D_VAE\.pth, .*D_LR\.pth/);
    }
  }, 120_000);

  test('recalibrateCheckpoint through the API with 2 workers equals 1 worker to float rounding', async () => {
    const e = new LocalEngine(core, { batch: 2, model: cfg, seed: 5 });
    const ck = join(dir, 'api.safetensors');
    const { writeFileAtomic } = await import('../src/train/checkpoint-file.js');
    writeFileAtomic(ck, checkpointBytes(e.model, { epoch: 0 }));
    const one = await recalibrateCheckpoint({ checkpoint: ck, data: DEMO, out: join(dir, 'one.safetensors'), batches: 2, batch: 2, direction: 'BtoA', build: 'simd' });
    const { engineFactory } = await import('../src/cli/engine-choice.js');
    const two = await recalibrateCheckpoint({ checkpoint: ck, data: DEMO, out: join(dir, 'two.safetensors'), batches: 2, batch: 2, workers: 2, direction: 'BtoA', build: 'simd' }, { createEngine: engineFactory(() => {}) });
    for (const [k, v] of one.stats.values) {
      const r = close(two.stats.values.get(k)!, v, 1e-4);
      expect(r.ok, `${k}: ${r.actual} vs ${r.expected}`).toBe(true);
    }
  }, 120_000);
});
