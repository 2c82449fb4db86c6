// The pytorch-gan networks at full width and the step's guards: exact parameter counts of the reference,
// valid and invalid image sizes, seeded initialisation (§8.3), and a non-finite loss stopping the step.
import { beforeAll, describe, expect, test } from 'vitest';
import { loadCore } from '../src/core/load-node.js';
import type { Core } from '../src/core/loader.js';
import { DEFAULT_MODEL } from '../src/models/config.js';
import { Generator } from '../src/models/generator.js';
import { Encoder } from '../src/models/encoder.js';
import { MultiDiscriminator } from '../src/models/discriminator.js';
import { bnLayers } from '../src/nn/batchnorm.js';
import { Copy } from '../src/nn/combine.js';
import { BicycleGAN, NonFiniteLossError } from '../src/train/bicyclegan.js';
import { nets } from '../src/train/checkpoint.js';

let core: Core;
beforeAll(async () => {
  core = await loadCore({ build: 'simd', maxMemoryMB: 4096 });
});

function stats(a: Float32Array): { mean: number; std: number } {
  let s = 0, q = 0;
  for (const v of a) {
    s += v;
    q += v * v;
  }
  const mean = s / a.length;
  return { mean, std: Math.sqrt(q / a.length - mean * mean) };
}

describe('full-width networks', () => {
  test('parameter counts equal PyTorch-GAN at 128x128: G 23,680,259, E 2,786,896, each D 8,288,835', () => {
    const mark = core.arena.mark();
    expect(new Generator(core, DEFAULT_MODEL, 1).g.store.parameterCount).toBe(23_680_259);
    core.arena.reset(mark);
    expect(new Encoder(core, DEFAULT_MODEL, 1).g.store.parameterCount).toBe(2_786_896);
    core.arena.reset(mark);
    expect(new MultiDiscriminator(core, DEFAULT_MODEL, 1, 'D').g.store.parameterCount).toBe(8_288_835);
    core.arena.reset(mark);
  });

  test('at 256x256 only the generator fc grows, and the encoder heads take the 2x2 pooled map (1024 inputs)', () => {
    const cfg = { ...DEFAULT_MODEL, imageSize: 256, gBase: 4, eBase: 8, dBase: 4 };
    const G = new Generator(core, cfg, 1), E = new Encoder(core, cfg, 1);
    expect(G.g.store.find('fc.weight')!.shape).toEqual([256 * 256, 8]);
    expect(E.g.store.find('fc_mu.weight')!.shape).toEqual([8, 4 * 8 * 2 * 2]);
  });
});

describe('zero-copy concatenation', () => {
  test("each down block (1..6) and up block writes its activation into its half of a concatenation; only the image and z map are copied", () => {
    const G = new Generator(core, { ...DEFAULT_MODEL, gBase: 2 }, 1);
    const byName = new Map(G.g.layers.map((l) => [l.name, l as unknown as { y: { C: number; ld: number; c0: number } }]));
    for (let i = 1; i <= 6; i++) {
      const y = byName.get(`down${i}.model.0.act`)!.y;
      expect(y.ld).toBeGreaterThan(y.C);
      expect(y.c0).toBe(y.ld - y.C); // the skip half: [up_(7-i) output, down_i output]
    }
    for (let k = 1; k <= 6; k++) {
      const y = byName.get(`up${k}.model.1.act`)!.y;
      expect(y.ld).toBeGreaterThan(y.C);
      expect(y.c0).toBe(0);
    }
    expect(G.g.layers.filter((l) => l instanceof Copy).map((l) => l.name)).toEqual(['input.image', 'input.z']);
  });
});

describe('image sizes', () => {
  test('the generator needs a multiple of 128', () => {
    expect(() => new Generator(core, { ...DEFAULT_MODEL, imageSize: 192, gBase: 2 }, 1)).toThrow(/generator: image size 192 is not a multiple of 128/);
  });
  test('the encoder needs at least 113 px (an 8x8 layer3 map for AvgPool(8))', () => {
    expect(() => new Encoder(core, { ...DEFAULT_MODEL, imageSize: 96, eBase: 2 }, 1)).toThrow(/encoder: image size 96 gives a 6x6 layer3 map, smaller than the 8x8 AvgPool window; use at least 113 px/);
    expect(() => new Encoder(core, { ...DEFAULT_MODEL, imageSize: 113, eBase: 2 }, 1)).not.toThrow();
  });
  test('a batch size that is not a positive integer', () => {
    expect(() => new BicycleGAN(core, { batch: 0, model: { gBase: 2, eBase: 2, dBase: 2 } })).toThrow(/batch size must be a positive integer, got 0/);
  });
});

describe('BatchNorm layers of a network (recalibration passes)', () => {
  test('listed in forward order with their PyTorch names', () => {
    const cfg = { ...DEFAULT_MODEL, gBase: 2, eBase: 2, dBase: 2 };
    const G = new Generator(core, cfg, 2), E = new Encoder(core, cfg, 2), D = new MultiDiscriminator(core, cfg, 2, 'D');
    expect(bnLayers(G.g).map((l) => l.name)).toEqual([2, 3, 4, 5, 6].map((i) => `down${i}.model.1`).concat([1, 2, 3, 4, 5, 6].map((k) => `up${k}.model.2`)));
    expect(bnLayers(E.g).map((l) => l.name).slice(0, 4)).toEqual(['feature_extractor.1', 'feature_extractor.4.0.bn1', 'feature_extractor.4.0.bn2', 'feature_extractor.4.1.bn1']);
    expect(bnLayers(E.g)).toHaveLength(15);
    expect(bnLayers(D.g).map((l) => l.name)).toEqual([0, 1, 2].flatMap((s) => [3, 6, 9].map((i) => `models.disc_${s}.${i}`)));
  });
});

describe('the pytorch-gan D update on the G step\'s fake forward (keepStats / replayRunning)', () => {
  test('a D whose fake forward is kept and replayed ends with the running stats, counters and weight gradients of running it again', () => {
    const cfg = { ...DEFAULT_MODEL, dBase: 4 };
    const real = new Float32Array(2 * 128 * 128 * 3).map((_, i) => Math.sin(i * 0.37)), fake = real.map((v, i) => Math.cos(v + i * 0.11));
    const run = (reuse: boolean) => {
      const D = new MultiDiscriminator(core, cfg, 2, 'D');
      D.g.store.entries.forEach((e, i) => { const v = D.g.store.view(e); for (let j = 0; j < v.length; j++) v[j] = e.name.endsWith('running_var') ? 1 : 0.05 * Math.sin(i + j * 0.7); });
      const img = core.f32(D.image.ptr, D.image.size), bns = bnLayers(D.g);
      const forward = (x: Float32Array) => { img.set(x); D.g.forward(true); };
      const backward = (seedScale: number, params: boolean) => D.g.backwardFrom(() => D.outs.forEach((o) => core.f32(o.grad, o.size).fill(seedScale)), params);
      const pass = (x: Float32Array, seedScale: number, params: boolean) => { if (x.length) forward(x); backward(seedScale, params); };
      D.image.needsGrad = true;
      forward(fake); // the G step: D on the fake, input gradient only
      if (reuse) bns.forEach((b) => b.keepStats()); // before the backward, which reuses the batch sums
      backward(1, false);
      D.image.needsGrad = false;
      D.g.store.zeroGrads();
      if (reuse) {
        pass(new Float32Array(0), -1, true); // the fake's backward on the kept activations
        pass(real, 1, true);
        bns.forEach((b) => b.replayRunning());
      } else {
        pass(real, 1, true);
        pass(fake, -1, true);
      }
      const buf = D.g.store.entries.filter((e) => e.name.includes('running') || e.name.includes('num_batches')).map((e) => Array.from(D.g.store.view(e)));
      const grads = D.g.store.entries.filter((e) => e.kind === 'param').map((e) => Array.from(D.g.store.view(e, 'grad')));
      return { buf, grads };
    };
    const a = run(false), b = run(true);
    expect(b.buf).toEqual(a.buf); // the same running-stats updates in the same order, bit for bit
    // the fake's part added first: rounding only. Relative per tensor, and against the largest gradient for the conv
    // biases before a BN, whose gradient is 0 up to rounding
    const M = Math.max(...a.grads.map((g) => Math.max(...g.map(Math.abs))));
    for (let i = 0; i < a.grads.length; i++) {
      const d = Math.max(...a.grads[i].map((v, j) => Math.abs(v - b.grads[i][j]))), m = Math.max(...a.grads[i].map(Math.abs));
      expect(d, `gradient ${i}`).toBeLessThanOrEqual(1e-5 * m + 1e-4 * M);
    }
  });
});

describe('initialisation (PyTorch-GAN weights_init_normal for G and D, torchvision for E), seeded', () => {
  test('same seed, same weights; another seed, other weights', () => {
    const opts = { batch: 1, model: { gBase: 2, eBase: 4, dBase: 2 } };
    const a = new BicycleGAN(core, { ...opts, seed: 3 }), b = new BicycleGAN(core, { ...opts, seed: 3 }), c = new BicycleGAN(core, { ...opts, seed: 4 });
    for (const net of ['G', 'E', 'D_VAE', 'D_LR'] as const) {
      expect(nets(a)[net]!.block('value')).toEqual(nets(b)[net]!.block('value'));
      expect(nets(a)[net]!.block('value')).not.toEqual(nets(c)[net]!.block('value'));
    }
  });

  test('distributions: conv N(0, 0.02) in G/D, kaiming fan_out in E, BN gamma N(1, 0.02) / 1, beta 0, running var 1', () => {
    const m = new BicycleGAN(core, { batch: 1, model: { gBase: 16, eBase: 16, dBase: 16 }, seed: 1 });
    const s = nets(m);
    const w = stats(s.G.view(s.G.find('up2.model.1.weight')!));
    expect(Math.abs(w.mean)).toBeLessThan(1e-3);
    expect(w.std).toBeGreaterThan(0.019);
    expect(w.std).toBeLessThan(0.021);
    const g = stats(s.D_VAE.view(s.D_VAE.find('models.disc_1.6.weight')!));
    expect(Math.abs(g.mean - 1)).toBeLessThan(0.01);
    expect(g.std).toBeLessThan(0.04);
    expect(Array.from(s.G.view(s.G.find('down3.model.1.bias')!)).every((v) => v === 0)).toBe(true);
    expect(Array.from(s.G.view(s.G.find('down3.model.1.running_var')!)).every((v) => v === 1)).toBe(true);
    const e = s.E.find('feature_extractor.6.0.conv1.weight')!; // 3x3, 64 out at width 16
    const es = stats(s.E.view(e));
    expect(es.std / Math.sqrt(2 / (e.shape[0] * 9))).toBeGreaterThan(0.95);
    expect(es.std / Math.sqrt(2 / (e.shape[0] * 9))).toBeLessThan(1.05);
    expect(Array.from(s.E.view(s.E.find('feature_extractor.1.weight')!)).every((v) => v === 1)).toBe(true);
    const fc = s.G.view(s.G.find('fc.weight')!); // PyTorch default Linear: U(-1/sqrt(8), 1/sqrt(8))
    expect(Math.max(...Array.from(fc.subarray(0, 4096), Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(8));
  });
});

describe('non-finite losses', () => {
  test('NaN in the batch stops the step with an error naming the loss term', () => {
    const m = new BicycleGAN(core, { batch: 1, model: { gBase: 2, eBase: 2, dBase: 2 }, seed: 1 });
    core.f32(m.realA.ptr, m.realA.size).fill(0.5);
    core.f32(m.realB.ptr, m.realB.size).fill(0.5);
    core.f32(m.realB.ptr, m.realB.size)[7] = NaN;
    let err: unknown;
    try {
      m.step();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NonFiniteLossError);
    expect((err as Error).message).toMatch(/training step 1: loss term (vae_gan|pixel|kl) is NaN; the step was stopped/);
    expect(m.steps).toBe(0);
    expect(m.opt.G.step).toBe(0); // no update was taken
  });
});
