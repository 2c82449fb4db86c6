// Checkpoints: exact resume, clear errors for bad files (nothing loaded from a file that fails a check),
// atomic writes, and interop with PyTorch in both directions (skipped with a message without python3-torch).
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadCore } from '../src/core/load-node.js';
import type { Core } from '../src/core/loader.js';
import { parseSafetensors, serializeSafetensors, tensorF32, type TensorEntry } from '../src/core/safetensors.js';
import { BicycleGAN } from '../src/train/bicyclegan.js';
import { checkpointBytes, checkpointConfig, loadCheckpoint, nets, weightsBytes } from '../src/train/checkpoint.js';
import { readCheckpointFile, writeFileAtomic } from '../src/train/checkpoint-file.js';
import { Rng } from '../src/core/rng.js';
import { close, nchwToNhwc, nhwcToNchw } from './helpers/layout.js';
import { runPython, torchPython } from './helpers/python.js';
import { rewriteSafetensors } from './helpers/rewrite.js';

const SMALL = { gBase: 2, eBase: 4, dBase: 2 };
let core: Core;
let dir: string;

function fillBatch(m: BicycleGAN, seed: number): void {
  const r = new Rng(seed);
  for (const t of [m.realA, m.realB]) r.fillUniform(m.core.f32(t.ptr, t.size), -1, 1);
}
function allParams(m: BicycleGAN): Float32Array[] {
  return Object.values(nets(m)).flatMap((s) => [s.block('value').slice(), s.block('m').slice(), s.block('v').slice(), core.f32(s.base.buffer, s.bufferFloats).slice()]);
}

beforeAll(async () => {
  core = await loadCore({ build: 'simd' });
  dir = mkdtempSync(join(tmpdir(), 'bicyclegan-ckpt-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('checkpoint round trip', () => {
  test('resume continues bit for bit: weights, Adam state, BN stats, RNG and step counters', () => {
    const a = new BicycleGAN(core, { batch: 2, model: SMALL, seed: 7 });
    fillBatch(a, 1);
    a.step();
    const bytes = checkpointBytes(a, { epoch: 3, extra: { cursor: 17 } });
    const b = new BicycleGAN(core, { batch: 2, model: SMALL, seed: 99 });
    const st = loadCheckpoint(b, bytes)!;
    expect(st.epoch).toBe(3);
    expect(st.extra).toEqual({ cursor: 17 });
    expect(b.steps).toBe(1);
    expect(b.opt.G.step).toBe(1);
    const pa = allParams(a), pb = allParams(b);
    pa.forEach((x, i) => expect(Buffer.compare(Buffer.from(x.buffer), Buffer.from(pb[i].buffer))).toBe(0));
    fillBatch(b, 1);
    const la = a.step(), lb = b.step(); // noise from each model's restored RNG
    expect(lb).toEqual(la);
    allParams(a).forEach((x, i) => expect(Buffer.compare(Buffer.from(x.buffer), Buffer.from(allParams(b)[i].buffer))).toBe(0));
  });

  test('config is read back from the metadata', () => {
    const a = new BicycleGAN(core, { batch: 1, model: SMALL });
    expect(checkpointConfig(weightsBytes(a))).toEqual(a.cfg);
  });
});

describe('bad checkpoint files: a clear error naming the tensor, and the model is left untouched', () => {
  let m: BicycleGAN;
  let good: Uint8Array;
  beforeAll(() => {
    const src = new BicycleGAN(core, { batch: 1, model: SMALL, seed: 1 });
    good = weightsBytes(src);
    m = new BicycleGAN(core, { batch: 1, model: SMALL, seed: 2 });
  });
  const rewrite = (edit: (t: TensorEntry[], meta: Record<string, string>) => void): Uint8Array => rewriteSafetensors(good, edit);
  function expectRejected(bytes: Uint8Array, pattern: RegExp): void {
    const before = allParams(m);
    expect(() => loadCheckpoint(m, bytes, { source: 'bad.safetensors' })).toThrow(pattern);
    allParams(m).forEach((x, i) => expect(Buffer.compare(Buffer.from(x.buffer), Buffer.from(before[i].buffer))).toBe(0));
  }

  test('truncated file', () => expectRejected(good.subarray(0, good.length - 100), /bad\.safetensors: safetensors: tensor ".*": data_offsets .* run past the data/));
  test('hostile header length', () => {
    const b = good.slice();
    new DataView(b.buffer).setUint32(0, 0xfffffff0, true);
    expectRejected(b, /bad\.safetensors: .*header/i);
  });
  test('missing tensor', () => expectRejected(rewrite((t) => t.splice(t.findIndex((x) => x.name === 'down2.model.0.weight'), 1)), /missing tensor "down2\.model\.0\.weight"/));
  test('extra tensor', () => expectRejected(rewrite((t) => t.push({ name: 'D_VAE.models.disc_9.0.weight', dtype: 'F32', shape: [1], data: new Float32Array(1) })), /unexpected tensor "D_VAE\.models\.disc_9\.0\.weight"/));
  test('wrong shape', () =>
    expectRejected(rewrite((t) => {
      const i = t.findIndex((x) => x.name === 'fc_mu.weight');
      t[i] = { ...t[i], shape: [t[i].shape[1], t[i].shape[0]] };
    }), /tensor "fc_mu\.weight": expected shape \[8, 16\], got \[16, 8\]/));
  test('config mismatch with the model', () => expectRejected(rewrite((_, meta) => (meta.config = JSON.stringify({ ...JSON.parse(meta.config), gBase: 3 }))), /model config gBase is 3 in the checkpoint but 2 in this model/));
});

describe('atomic checkpoint files', () => {
  test('replaces the old file whole and leaves no temporary file', () => {
    const p = join(dir, 'a.safetensors');
    writeFileSync(p, 'old');
    writeFileAtomic(p, new Uint8Array([1, 2, 3]));
    expect([...readCheckpointFile(p)]).toEqual([1, 2, 3]);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
  });
  test('a failed write names the path and keeps the old file', () => {
    const p = join(dir, 'missing-folder', 'b.safetensors');
    expect(() => writeFileAtomic(p, new Uint8Array(4))).toThrow(/cannot write checkpoint .*missing-folder\/b\.safetensors/);
    expect(existsSync(p)).toBe(false);
  });
});

describe('interop with PyTorch (python3-torch)', () => {
  const py = torchPython();
  const script = new URL('./fixtures/torch_interop.py', import.meta.url).pathname;
  test.skipIf(!py)('our checkpoint loads into PyTorch-GAN models with strict=True and gives our outputs', () => {
    const m = new BicycleGAN(core, { batch: 2, model: SMALL, seed: 5 });
    fillBatch(m, 3);
    m.step(); // non-trivial BN running stats and num_batches_tracked
    const ck = join(dir, 'ours.safetensors'), out = join(dir, 'torch-out.safetensors');
    writeFileAtomic(ck, checkpointBytes(m, { epoch: 0 }));
    runPython([script, 'load', ck, out]);
    const t = parseSafetensors(readCheckpointFile(out));
    const S = m.cfg.imageSize, C = m.cfg.channels, L = m.cfg.latentDim;
    core.f32(m.G.image.ptr, m.G.image.size).set(nchwToNhwc(tensorF32(t, 'input.real_A'), 2, C, S, S));
    core.f32(m.G.z.ptr, 2 * L).set(tensorF32(t, 'input.z'));
    m.G.g.forward(false);
    const g = close(nhwcToNchw(core.f32(m.G.out.ptr, m.G.out.size), 2, C, S, S), tensorF32(t, 'fake_B'), 1e-4);
    expect(g.ok, `fake_B ${g.actual} vs torch ${g.expected}`).toBe(true);
    m.E.image.needsGrad = false;
    core.f32(m.E.image.ptr, m.E.image.size).set(nchwToNhwc(tensorF32(t, 'input.real_B'), 2, C, S, S));
    m.E.g.forward(false);
    expect(close(core.f32(m.E.mu.ptr, 2 * L), tensorF32(t, 'mu'), 1e-4).ok).toBe(true);
  });

  test.skipIf(!py)('a PyTorch state_dict saved as safetensors loads here (weights, BN stats, Adam state)', () => {
    const ck = join(dir, 'theirs.safetensors');
    runPython([script, 'save', JSON.stringify({ imageSize: 128, ...SMALL, seed: 11 }), ck, '--steps', '1']);
    const p = parseSafetensors(readCheckpointFile(ck));
    // the file also carries expected.* outputs for this test; the rest must load strictly
    const ours: TensorEntry[] = [...p.tensors].filter(([n]) => !n.startsWith('expected.')).map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape, data: t.data }));
    const m = new BicycleGAN(core, { batch: 2, model: SMALL });
    loadCheckpoint(m, serializeSafetensors(ours, { config: JSON.stringify(m.cfg) }), { trainState: false });
    const S = m.cfg.imageSize, C = m.cfg.channels, L = m.cfg.latentDim;
    core.f32(m.G.image.ptr, m.G.image.size).set(nchwToNhwc(tensorF32(p, 'expected.input.real_A'), 2, C, S, S));
    core.f32(m.G.z.ptr, 2 * L).set(tensorF32(p, 'expected.input.z'));
    m.G.g.forward(false);
    const g = close(nhwcToNchw(core.f32(m.G.out.ptr, m.G.out.size), 2, C, S, S), tensorF32(p, 'expected.fake_B'), 1e-4);
    expect(g.ok, `fake_B ${g.actual} vs torch ${g.expected}`).toBe(true);
    const e = nets(m).G.find('down2.model.1.num_batches_tracked')!;
    expect(nets(m).G.view(e)[0]).toBe(Number(tensorF32(p, 'down2.model.1.num_batches_tracked')[0]));
    const w = nets(m).D_LR!.find('models.disc_2.11.bias')!;
    expect(Array.from(nets(m).D_LR!.toTorch(w))).toEqual(Array.from(tensorF32(p, 'D_LR.models.disc_2.11.bias')));
  });

  test.skipIf(!py)("Adam state saved by PyTorch loads as PyTorch's exp_avg / exp_avg_sq, and is written back under the same names", () => {
    const ck = join(dir, 'theirs-adam.safetensors');
    runPython([script, 'save', JSON.stringify({ imageSize: 128, ...SMALL, seed: 12 }), ck, '--steps', '2']);
    const p = parseSafetensors(readCheckpointFile(ck));
    const ours: TensorEntry[] = [...p.tensors].filter(([n]) => !n.startsWith('expected.')).map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape, data: t.data }));
    const m = new BicycleGAN(core, { batch: 2, model: SMALL });
    const train = { steps: 2, epoch: 0, adamSteps: { G: 2, E: 2, D_VAE: 2, D_LR: 2 }, rng: new Rng(1).state() };
    const st = loadCheckpoint(m, serializeSafetensors(ours, { config: JSON.stringify(m.cfg), train: JSON.stringify(train) }), { trainState: true });
    expect(st!.adamSteps.G).toBe(2);
    const back = parseSafetensors(checkpointBytes(m, { epoch: 0 }));
    let checked = 0;
    for (const [net, store] of Object.entries(nets(m)))
      for (const e of store.entries) {
        if (e.kind !== 'param') continue;
        for (const [key, which] of [['exp_avg', 'm'], ['exp_avg_sq', 'v']] as const) {
          const name = `adam.${net}.${e.name}.${key}`;
          const torch = Array.from(tensorF32(p, name));
          expect(Array.from(store.toTorch(e, which)), `${name} loaded`).toEqual(torch); // exact: a layout permutation only
          expect(Array.from(tensorF32(back, name)), `${name} saved`).toEqual(torch);
          checked++;
        }
      }
    expect(checked).toBeGreaterThan(100);
    // the two moments differ (so a swap cannot pass): exp_avg has negative entries, exp_avg_sq none
    expect(tensorF32(p, 'adam.G.down1.model.0.weight.exp_avg').some((v) => v < 0)).toBe(true);
  });
});
