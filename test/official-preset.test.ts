// The official preset around its networks: every option combination is checked with a message naming the
// flag, the networks have the authors' state_dict names and shapes, the step runs with each D option, and a
// run trains, samples and resumes from the CLI (with the preset checked on resume). PyTorch parity of the
// networks and the step: official-parity.test.ts.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { loadCore } from '../src/core/load-node.js';
import type { Core } from '../src/core/loader.js';
import { ConfigError, parseTrainConfig } from '../src/train/config.js';
import { flagName } from '../src/cli/options.js';
import { BicycleGAN } from '../src/train/bicyclegan.js';
import { LocalEngine } from '../src/train/engine.js';
import { nets } from '../src/train/checkpoint.js';
import { DEFAULT_MODEL, officialNets, type OfficialNets } from '../src/models/config.js';
import { pyRound } from '../src/models/official/discriminator.js';
import { cli, makeDataset, tmp } from './helpers/cli.js';

const messages = (input: Record<string, unknown>) => {
  try {
    parseTrainConfig({ data: 'd', ...input }, flagName);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).issues.join('\n');
  }
  throw new Error('no error');
};

describe('official preset options', () => {
  test('official-only flags with the pytorch-gan preset name the flag and the fix', () => {
    expect(messages({ whereAdd: 'all' })).toMatch(/--where-add: is an option of the official preset \(add --preset official\)/);
    expect(messages({ sameD: true, norm: 'instance' })).toMatch(/--norm: .*official[\s\S]*--same-d: .*official/);
  });
  test('sizes each network cannot take, odd batches and unknown values', () => {
    expect(messages({ preset: 'official', imageSize: 192 })).toMatch(/--image-size: imageSize must be a multiple of 128 \(the U-Net halves it 7 times\)/);
    expect(messages({ preset: 'official', imageSize: 256, netG: 'unet_256', netE: 'resnet_128' })).toMatch(/--net-e: resnet_128 takes 128\.\.255 px images/);
    expect(messages({ preset: 'official', imageSize: 128, netG: 'unet_256' })).toMatch(/--image-size: imageSize must be a multiple of 256 for netG unet_256/);
    expect(messages({ preset: 'official', batch: 3 })).toMatch(/--batch: must be even for the official preset/);
    expect(messages({ preset: 'official', norm: 'group' })).toMatch(/--norm: norm must be instance, batch or none/);
    expect(messages({ preset: 'pix2pix' })).toMatch(/--preset: preset must be pytorch-gan or official/);
  });
  test('valid combinations parse; 256 px picks the 256 networks', () => {
    expect(parseTrainConfig({ data: 'd', preset: 'official', imageSize: 256, batch: 2 }).preset).toBe('official');
    expect(officialNets(256)).toMatchObject({ netG: 'unet_256', netE: 'resnet_256', netD: 'basic_256_multi' });
    expect(officialNets(128, { whereAdd: 'input' })).toMatchObject({ netG: 'unet_128', whereAdd: 'input', dropout: true, norm: 'instance' });
  });
  test("Python's round (half to even) for the D scales' widths", () => {
    expect([0.5, 1.5, 2.5, 3.5, 16, 2.4, 2.6].map(pyRound)).toEqual([0, 2, 2, 4, 16, 2, 3]);
  });
});

describe('official networks', () => {
  let core: Core;
  beforeAll(async () => {
    core = await loadCore({ build: 'simd' });
  });
  const model = (o: Partial<OfficialNets>, w = 4, batch = 4) =>
    new BicycleGAN(core, { batch, seed: 1, model: { ...DEFAULT_MODEL, preset: 'official', gBase: w, eBase: w, dBase: w, official: officialNets(128, o) } });
  const shapes = (m: BicycleGAN) => Object.fromEntries(Object.entries(nets(m)).flatMap(([net, s]) => s!.entries.map((e) => [`${net}.${e.name}`, e.shape])));

  test("add_all: the authors' nested names and shapes (z into every down conv, skips without z)", () => {
    const s = shapes(model({}, 4));
    const w = 4, nz = 8;
    expect(s['G.model.down.0.weight']).toEqual([w, 3 + nz, 4, 4]);
    expect(s['G.model.up.1.weight']).toEqual([2 * w, 3, 4, 4]); // ConvT [in][out][k][k]
    expect(s['G.model.submodule.down.1.weight']).toEqual([2 * w, w + nz, 4, 4]);
    expect(s['G.model.submodule.up.1.weight']).toEqual([4 * w, w, 4, 4]);
    const inner = 'G.model' + '.submodule'.repeat(6);
    expect(s[`${inner}.down.1.weight`]).toEqual([8 * w, 8 * w + nz, 4, 4]);
    expect(s[`${inner}.up.1.weight`]).toEqual([8 * w, 8 * w, 4, 4]);
    expect(s[`${inner}.submodule.down.1.weight`]).toBeUndefined();
    expect(s['E.conv.0.weight']).toEqual([w, 3, 4, 4]);
    expect(s['E.conv.1.conv.2.weight']).toEqual([w, w, 3, 3]);
    expect(s['E.conv.1.conv.5.0.weight']).toEqual([2 * w, w, 3, 3]);
    expect(s['E.conv.1.shortcut.1.weight']).toEqual([2 * w, w, 1, 1]);
    expect(s['E.fc.0.weight']).toEqual([8, 4 * w]);
    expect(s['E.fcVar.0.weight']).toEqual([8, 4 * w]);
    expect(s['D_VAE.model_0.0.weight']).toEqual([w, 3, 4, 4]);
    expect(s['D_VAE.model_1.0.weight']).toEqual([w / 2, 3, 4, 4]);
    // basic_128_multi scale 1 (ndf 2): conv 0, lrelu, conv 2 (s2), IN, lrelu, conv 5 (s1), IN, lrelu, conv 8 (-> 1)
    expect(s['D_LR.model_1.5.weight']).toEqual([4 * (w / 2), 2 * (w / 2), 4, 4]);
    expect(s['D_LR.model_1.8.weight']).toEqual([1, 4 * (w / 2), 4, 4]);
  });
  test('add_input and norm none shift the Sequential indices as PyTorch does', () => {
    const s = shapes(model({ whereAdd: 'input', norm: 'none' }, 4));
    expect(s['G.model.model.0.weight']).toEqual([4, 3 + 8, 4, 4]);
    expect(s['G.model.model.1.model.1.weight']).toEqual([8, 4, 4, 4]); // no z after the input
    expect(s['G.model.model.1.model.2.model.1.weight']).toEqual([16, 8, 4, 4]); // submodule at index 2 without a norm
    expect(s['E.conv.1.conv.1.weight']).toEqual([4, 4, 3, 3]);
    expect(s['E.conv.1.conv.3.0.weight']).toEqual([8, 4, 3, 3]);
    const b = shapes(model({ norm: 'batch', netE: 'conv_128' }, 4));
    expect(b['G.model.submodule.down.2.running_mean']).toEqual([8]);
    expect(b['E.conv.3.weight']).toEqual([8]); // E_NLayers: conv.2 conv, conv.3 BN
    expect(b['D_VAE.model_0.3.running_var']).toEqual([8]);
  });
  test('each D option trains: separate Ds, one shared D (listed once), conditional Ds reading (A, B)', () => {
    for (const o of [{}, { sameD: true }, { conditionalD: true, numDs: 1 }, { sameD: true, conditionalD: true, norm: 'none' as const }]) {
      const m = model(o, 4, 2);
      const a = core.f32(m.realA.ptr, m.realA.size), b = core.f32(m.realB.ptr, m.realB.size);
      for (let i = 0; i < a.length; i++) {
        a[i] = Math.sin(i * 0.01);
        b[i] = Math.cos(i * 0.013);
      }
      const before = Object.values(nets(m)).map((s) => s!.block('value').slice());
      const l = m.step();
      for (const v of Object.values(l)) expect(Number.isFinite(v)).toBe(true);
      expect('D_LR' in nets(m)).toBe(!o.sameD);
      if (o.conditionalD) expect(m.D_VAE.image.C).toBe(6);
      // every network moved
      Object.values(nets(m)).forEach((s, i) => expect(s!.block('value')).not.toEqual(before[i]));
    }
  });
});

describe('official preset with a 1-channel input', () => {
  test('the engine takes RGB A (as luma) and returns RGB outputs', async () => {
    const core = await loadCore({ build: 'simd' });
    const e = new LocalEngine(core, { batch: 2, seed: 1, model: { ...DEFAULT_MODEL, preset: 'official', gBase: 4, eBase: 4, dBase: 4, official: officialNets(128, { inputChannels: 1 }) } });
    const S = 128, rgb = new Float32Array(3 * S * S).map((_, i) => Math.sin(i * 0.01));
    const out = await e.generate(rgb, new Float32Array(8).fill(0.5), 1);
    expect(out.length).toBe(S * S * 3);
    expect(new Set(out).size).toBeGreaterThan(100);
    // the same as feeding the luma itself
    const luma = new Float32Array(S * S).map((_, p) => 0.299 * rgb[3 * p] + 0.587 * rgb[3 * p + 1] + 0.114 * rgb[3 * p + 2]);
    expect(await e.generate(luma, new Float32Array(8).fill(0.5), 1)).toEqual(out);
  });
});

describe('official preset from the CLI', () => {
  test('train, sample grid and checkpoint; resume keeps the preset; another preset is refused naming it', async () => {
    const dir = tmp('official');
    const data = await makeDataset(join(dir, 'data'), 4);
    const out = join(dir, 'run');
    const args = ['train', '--data', data, '--preset', 'official', '--g-base', '4', '--e-base', '4', '--d-base', '4', '--batch', '2', '--out', out, '--sample-every', '2', '--checkpoint-every', '2'];
    const r = cli([...args, '--steps', '2', '--workers', '2']);
    expect(r.stderr + r.stdout).toMatch(/--workers 2: the official preset trains on one thread/);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(out, 'samples', 'latest.png'))).toBe(true);
    const r2 = cli(['train', '--data', data, '--out', out, '--resume', 'latest', '--steps', '3']);
    expect(r2.code, r2.stderr).toBe(0);
    expect(readdirSync(join(out, 'checkpoints'))).toContain('step-00000003.safetensors');
    const r3 = cli(['train', '--data', data, '--out', out, '--resume', 'latest', '--steps', '4', '--preset', 'pytorch-gan']);
    expect(r3.code).toBe(1);
    expect(r3.stderr).toMatch(/the checkpoint has preset "official", this run asks for "pytorch-gan" \(--preset\)/);
    expect(readdirSync(join(out, 'checkpoints'))).toContain('step-00000003.safetensors');
    // --input-nc 1: A read as luma; sample grids, sample and convert + sample on the inference file run
    const out1 = join(dir, 'run1');
    const r4 = cli(['train', '--data', data, '--preset', 'official', '--input-nc', '1', '--g-base', '4', '--e-base', '4', '--d-base', '4', '--batch', '2', '--out', out1, '--steps', '1', '--workers', '1']);
    expect(r4.code, r4.stderr).toBe(0);
    const ck = join(out1, 'checkpoints', 'step-00000001.safetensors'), inf = join(dir, 'g1.safetensors');
    expect(cli(['info', ck]).stdout).toMatch(/inputChannels 1/);
    expect(cli(['convert', ck, inf, '--storage', 'f16', '--encoder']).code).toBe(0);
    for (const m of [ck, inf]) {
      const s = cli(['sample', '--checkpoint', m, '--input', join(data, 'test'), '--out', join(dir, `s-${m === ck ? 'ck' : 'inf'}`), '--n', '2', '--interp', '0']);
      expect(s.code, s.stderr).toBe(0);
    }
  }, 180_000);
});
