// Validate, then commit: a checkpoint that fails any check (a dtype, a non-finite value, the `config` or
// `train` metadata, the RNG state, a header nested thousands deep) is an Error naming the file and the tensor
// or metadata field, and the model it was loaded into is left exactly as it was (every byte of every block).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCore } from '../src/core/load-node.js';
import type { Core } from '../src/core/loader.js';
import { parseSafetensors, serializeSafetensors, type TensorEntry } from '../src/core/safetensors.js';
import { Rng } from '../src/core/rng.js';
import { BicycleGAN } from '../src/train/bicyclegan.js';
import { checkpointBytes, checkpointConfig, loadCheckpoint, nets } from '../src/train/checkpoint.js';
import { train } from '../src/train/trainer.js';
import { makeDataset } from './helpers/cli.js';
import { checkpointInfo } from '../src/cli/info.js';
import type { ModelFile } from '../src/cli/model-file.js';
import { rewriteSafetensors } from './helpers/rewrite.js';

const SMALL = { gBase: 2, eBase: 4, dBase: 2 };
let core: Core;
let m: BicycleGAN;
let good: Uint8Array;

function snapshot(x: BicycleGAN): Buffer[] {
  const blocks = Object.values(nets(x)).flatMap((s) => [s.block('value'), s.block('m'), s.block('v'), core.f32(s.base.buffer, s.bufferFloats)]);
  return [...blocks.map((b) => Buffer.from(b.slice().buffer)), Buffer.from(JSON.stringify([x.steps, x.rng.state(), x.opt.G.step, x.opt.D_LR.step]))];
}

const rewrite = (edit: (t: TensorEntry[], meta: Record<string, string>) => void): Uint8Array => rewriteSafetensors(good, edit);

function expectRejected(bytes: Uint8Array, pattern: RegExp): void {
  const before = snapshot(m);
  expect(() => loadCheckpoint(m, bytes, { source: 'bad.safetensors' })).toThrow(pattern);
  const after = snapshot(m);
  after.forEach((b, i) => expect(Buffer.compare(b, before[i]), `block ${i} changed`).toBe(0));
}

function editTrain(f: (t: Record<string, unknown>) => void) {
  return rewrite((_, meta) => {
    const t = JSON.parse(meta.train);
    f(t);
    meta.train = JSON.stringify(t);
  });
}

beforeAll(async () => {
  core = await loadCore({ build: 'simd' });
  const src = new BicycleGAN(core, { batch: 1, model: SMALL, seed: 1 });
  const r = new Rng(4);
  for (const t of [src.realA, src.realB]) r.fillUniform(core.f32(t.ptr, t.size), -1, 1);
  src.step(); // non-zero Adam moments and counters
  good = checkpointBytes(src, { epoch: 0, extra: { k: 1 } });
  m = new BicycleGAN(core, { batch: 1, model: SMALL, seed: 2 });
});

describe('a rejected checkpoint leaves the model untouched and names the tensor or field', () => {
  test('the good file loads (control)', () => {
    const x = new BicycleGAN(core, { batch: 1, model: SMALL, seed: 2 });
    expect(loadCheckpoint(x, good)!.steps).toBe(1);
  });

  for (const dtype of ['U32', 'BOOL', 'I32', 'U64'] as const) {
    test(`a correctly sized ${dtype} Adam moment (the last tensor) is refused and named`, () => {
      const bytes = rewrite((t) => {
        const i = t.map((x) => x.name).lastIndexOf(t.filter((x) => x.name.endsWith('.exp_avg_sq')).at(-1)!.name);
        const e = t[i];
        const n = e.shape.reduce((a, b) => a * b, 1);
        const per = { U32: 4, BOOL: 1, I32: 4, U64: 8 }[dtype];
        t[i] = { ...e, dtype, data: new Uint8Array(n * per) };
      });
      const last = [...parseSafetensors(good).tensors.keys()].filter((n) => n.endsWith('.exp_avg_sq')).at(-1)!;
      expectRejected(bytes, new RegExp(`bad\\.safetensors: tensor "${last.replace(/\./g, '\\.')}": dtype ${dtype} is not allowed`));
    });
  }

  test('a NaN or an infinity in a weight, an Adam moment or a BN running stat is refused and named', () => {
    const poison = (name: string, v: number) => rewrite((t) => {
      const e = t.find((x) => x.name === name)!;
      const f = new Float32Array(e.data.buffer.slice(0));
      f[f.length - 1] = v;
      e.data = f;
    });
    expectRejected(poison('D_LR.models.disc_2.11.bias', NaN), /bad\.safetensors: tensor "D_LR\.models\.disc_2\.11\.bias": value \d+ is NaN/);
    expectRejected(poison('adam.G.down2.model.0.weight.exp_avg', Infinity), /tensor "adam\.G\.down2\.model\.0\.weight\.exp_avg": value \d+ is Infinity/);
    expectRejected(poison('down2.model.1.running_var', -Infinity), /tensor "down2\.model\.1\.running_var": value \d+ is -Infinity/);
    expectRejected(poison('adam.E.fc_mu.bias.exp_avg_sq', -1), /adam\.E\.fc_mu\.bias\.exp_avg_sq.*never negative/);
  });

  test('train metadata: not JSON, a bad RNG state, bad counters', () => {
    expectRejected(rewrite((_, meta) => (meta.train = '{"steps":')), /bad\.safetensors: metadata train is not valid JSON/);
    expectRejected(editTrain((t) => ((t.rng as { spare: unknown }).spare = {})), /bad\.safetensors: metadata train\.rng\.spare: .*\(got \{\}\)/);
    expectRejected(editTrain((t) => ((t.rng as { s: unknown }).s = [0, 0, 0, 0])), /metadata train\.rng\.s: .*all zero/);
    expectRejected(editTrain((t) => ((t.rng as { s: unknown }).s = [1, 2, 3])), /metadata train\.rng\.s/);
    expectRejected(editTrain((t) => (t.steps = -1)), /metadata train\.steps/);
    expectRejected(editTrain((t) => ((t.adamSteps as Record<string, unknown>).G = 'x')), /metadata train\.adamSteps\.G/);
    expectRejected(editTrain((t) => delete t.rng), /metadata train\.rng/);
  });

  test('config metadata: null, not an object, a wrong type, nested thousands deep', () => {
    expectRejected(rewrite((_, meta) => (meta.config = 'null')), /bad\.safetensors: metadata config: .*\(got null\)/);
    expectRejected(rewrite((_, meta) => (meta.config = '[1]')), /metadata config: /);
    expectRejected(rewrite((_, meta) => (meta.config = JSON.stringify({ imageSize: '128' }))), /metadata config\.imageSize: /);
    const deep = '['.repeat(5000) + ']'.repeat(5000);
    expectRejected(rewrite((_, meta) => (meta.config = `{"gBase":${deep}}`)), /metadata config\.gBase: .*nested too deeply/);
    expect(() => checkpointConfig(rewrite((_, meta) => (meta.config = 'null')), 'c.safetensors')).toThrow(/c\.safetensors: metadata config: /);
  });

  test('a header whose dtype, shape or data_offsets is nested thousands deep names the tensor (no stack overflow)', () => {
    const deep = '['.repeat(5000) + ']'.repeat(5000);
    for (const field of ['dtype', 'shape', 'data_offsets']) {
      const entry = { dtype: '"F32"', shape: '[1]', data_offsets: '[0,4]', [field]: field === 'shape' ? `[${deep}]` : deep };
      const json = `{"w":{"dtype":${entry.dtype},"shape":${entry.shape},"data_offsets":${entry.data_offsets}}}`;
      const head = new TextEncoder().encode(json);
      const b = new Uint8Array(8 + head.length + 4);
      new DataView(b.buffer).setUint32(0, head.length, true);
      b.set(head, 8);
      expectRejected(b, new RegExp(`bad\\.safetensors: safetensors: tensor "w": .*nested too deeply`));
    }
  });
});

test('bicyclegan info checks the metadata the same way', () => {
  const file = (path: string, bytes: Uint8Array): ModelFile => ({ path, kind: 'checkpoint', cfg: JSON.parse(parseSafetensors(bytes).metadata.config), parsed: parseSafetensors(bytes), bytes, fileBytes: bytes.length });
  const bad = editTrain((t) => ((t.rng as { spare: unknown }).spare = {}));
  expect(() => checkpointInfo(file('x.safetensors', bad), false)).toThrow(/x\.safetensors: metadata train\.rng\.spare: /);
  expect(checkpointInfo(file('ok.safetensors', good), false)).toMatch(/training: step 1, epoch 0/);
});

describe('train --resume of a corrupt checkpoint', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'bicyclegan-resume-bad-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('a bad loader RNG state in train.extra names the field before any engine is built', async () => {
    const data = await makeDataset(join(dir, 'data'), 2);
    const base = { data, out: join(dir, 'run'), batch: 1, steps: 1, gBase: 2, eBase: 2, dBase: 2, workers: 1, build: 'simd' as const, sampleEvery: 0, checkpointEvery: 1 };
    const r = await train(base);
    const p = parseSafetensors(new Uint8Array(readFileSync(r.checkpoint!)));
    const meta = { ...p.metadata };
    const t = JSON.parse(meta.train);
    t.extra.loader.rng.spare = 'x';
    meta.train = JSON.stringify(t);
    const bad = join(dir, 'bad.safetensors');
    writeFileSync(bad, serializeSafetensors([...p.tensors].map(([name, v]) => ({ name, dtype: v.dtype, shape: v.shape, data: v.data })), meta));
    let built = false;
    await expect(train({ ...base, steps: 2, resume: bad }, { createEngine: async () => ((built = true), Promise.reject(new Error('not reached'))) }))
      .rejects.toThrow(/bad\.safetensors: metadata train\.extra\.loader\.rng\.spare: /);
    expect(built).toBe(false);
  });
});
