// `sample` and `info` on every kind of model file we write or read: a training checkpoint, f32/f16/int8
// inference files (with and without the encoder) and a PyTorch state_dict (no metadata) with --model-config.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseSafetensors, serializeSafetensors } from '../src/core/safetensors.js';
import { convertWeights } from '../src/infer/index.js';
import { parseModelConfig } from '../src/cli/model-file.js';
import { cli, makeDataset, tmp, TINY } from './helpers/cli.js';

let dir: string, data: string, ckpt: string;
const files: Record<string, string> = {};
beforeAll(async () => {
  dir = tmp('files');
  data = await makeDataset(join(dir, 'data'), 3);
  const r = cli(['train', '--data', data, '--out', join(dir, 'run'), '--batch', '2', '--steps', '1', '--sample-every', '0', ...TINY]);
  expect(r.stderr).toMatch(/done: 1 steps/);
  ckpt = join(dir, 'run/checkpoints/step-00000001.safetensors');
  const bytes = new Uint8Array(readFileSync(ckpt));
  for (const storage of ['f32', 'f16', 'int8'] as const) {
    files[storage] = join(dir, `${storage}.safetensors`);
    writeFileSync(files[storage], convertWeights(bytes, { storage, nets: ['G', 'E'] }));
  }
  files.gOnly = join(dir, 'g-only.safetensors');
  writeFileSync(files.gOnly, convertWeights(bytes, { storage: 'int8', nets: ['G'] }));
  // a PyTorch state_dict of G and E: the same tensor names, no metadata
  const p = parseSafetensors(bytes);
  const ge = [...p.tensors].filter(([n]) => !/^(adam|D_VAE|D_LR)\./.test(n)).map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape, data: t.data }));
  files.torch = join(dir, 'state_dict.safetensors');
  writeFileSync(files.torch, serializeSafetensors(ge, {}));
  writeFileSync(join(dir, 'model.json'), JSON.stringify({ gBase: 2, eBase: 2, dBase: 2 }));
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const info = (f: string, ...more: string[]) => {
  const r = cli(['info', f, '--json', ...more]);
  if (r.code !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
};

describe('info', () => {
  test('every kind, with the training model parameter counts of G and E', () => {
    const c = info(ckpt);
    expect(c.kind).toBe('checkpoint');
    for (const s of ['f32', 'f16', 'int8']) {
      const j = info(files[s]);
      expect({ kind: j.kind, storage: j.storage }).toEqual({ kind: 'inference', storage: s });
      expect({ G: j.parameters.G, E: j.parameters.E }).toEqual({ G: c.parameters.G, E: c.parameters.E });
      expect(j.config).toEqual(c.config);
    }
    const t = info(files.torch, '--model-config', join(dir, 'model.json'));
    expect(t.kind).toBe('state_dict');
    expect(t.config).toEqual(c.config); // the defaults fill what model.json leaves out
    expect({ G: t.parameters.G, E: t.parameters.E }).toEqual({ G: c.parameters.G, E: c.parameters.E });
  });
  test('a state_dict without --model-config, and a bad model config, are errors naming the file and field', () => {
    expect(cli(['info', files.torch]).stderr).toMatch(/state_dict\.safetensors: no model config in the metadata .*--model-config/);
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ gBase: 0, imageSize: 100, gbase: 2 }));
    const e = cli(['info', files.torch, '--model-config', join(dir, 'bad.json')]).stderr;
    expect(e).toMatch(/bad\.json: invalid model config/);
    expect(e).toMatch(/imageSize must be a multiple of 128/);
    expect(e).toMatch(/gBase must be at least 1/);
    expect(e).toMatch(/unknown field\(s\) gbase/);
    expect(cli(['info', files.f16, '--model-config', join(dir, 'model.json')]).stderr).toMatch(/has its own model config/);
  });
  test('the schema fills defaults', () => {
    expect(parseModelConfig({}, 'x')).toEqual({ preset: 'pytorch-gan', imageSize: 128, channels: 3, latentDim: 8, gBase: 64, eBase: 64, dBase: 64, bnEpsG: 0.8, bnEpsD: 0.8, bnEpsE: 1e-5 });
  });
});

describe('sample', () => {
  test('from a checkpoint, f32/f16/int8 inference files and a state_dict: the same grid size; f32 within a few levels of the checkpoint', async () => {
    const { decodePng } = await import('../src/infer/index.js');
    const grid = (f: string, tag: string, ...more: string[]) => {
      const out = join(dir, `s-${tag}`);
      const r = cli(['sample', '--checkpoint', f, '--input', join(data, 'train'), '--out', out, '--n', '2', '--interp', '0', '--limit', '2', '--build', 'simd', ...more]);
      if (r.code !== 0) throw new Error(r.stderr);
      expect(existsSync(join(out, 'grid.png'))).toBe(true);
      return decodePng(new Uint8Array(readFileSync(join(out, 'grid.png'))));
    };
    const ref = grid(ckpt, 'ckpt');
    const diff = (g: { data: Uint8ClampedArray }) => g.data.reduce((m, v, i) => Math.max(m, Math.abs(v - ref.data[i])), 0);
    for (const s of ['f32', 'f16', 'int8']) {
      const g = grid(files[s], s);
      expect([g.width, g.height]).toEqual([ref.width, ref.height]);
      if (s === 'f32') expect(diff(g)).toBeLessThanOrEqual(2); // BatchNorm folded: float rounding only
    }
    expect(diff(grid(files.torch, 'torch', '--model-config', join(dir, 'model.json')))).toBe(0); // same tensors as the checkpoint
    const noE = cli(['sample', '--checkpoint', files.gOnly, '--input', join(data, 'train'), '--out', join(dir, 's-g'), '--limit', '1']);
    expect(noE.stderr).toMatch(/g-only\.safetensors: this inference file has no encoder/);
  });

  test('--threads N on an inference file: the same grid bytes as one thread; bad values and non-inference files are refused', () => {
    const run = (tag: string, f: string, ...more: string[]) =>
      cli(['sample', '--checkpoint', f, '--input', join(data, 'train'), '--out', join(dir, `t-${tag}`), '--n', '2', '--interp', '2', '--limit', '2', '--build', 'relaxed', ...more]);
    const one = run('1', files.f16), two = run('2', files.f16, '--threads', '2');
    if (one.code !== 0 || two.code !== 0) throw new Error(one.stderr + two.stderr);
    expect(readFileSync(join(dir, 't-2', 'grid.png')).equals(readFileSync(join(dir, 't-1', 'grid.png')))).toBe(true);
    for (const bad of ['0', '1.5', 'two']) {
      const r = run('bad', files.f16, '--threads', bad);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/--threads: must be an integer in 1\.\.64/);
    }
    const r = run('ckpt', ckpt, '--threads', '2');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--threads: .*step-00000001\.safetensors is a checkpoint file; threads run an inference file/);
  });
});
