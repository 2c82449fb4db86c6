// The pytorch-gan preset at reduced widths against PyTorch golden fixtures (test/fixtures/models.safetensors,
// written by test/fixtures/gen_models.py): forward outputs of G, E and each D, every loss term, every parameter
// gradient of G, E, D_VAE, D_LR, and all parameters and BN running stats after 1 and after 3 full steps.
// Tolerances (|a-b| <= rtol*(|b| + 1e-2*max|b|)): outputs and losses rtol 1e-4; gradients and weights 1e-3.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, test } from 'vitest';
import { loadCore } from '../src/core/load-node.js';
import { parseSafetensors, tensorF32, type Safetensors } from '../src/core/safetensors.js';
import type { Core } from '../src/core/loader.js';
import { BicycleGAN, type StepLosses } from '../src/train/bicyclegan.js';
import { nets, type NetName } from '../src/train/checkpoint.js';
import type { Tensor } from '../src/nn/graph.js';
import { close, nchwToNhwc, nhwcToNchw } from './helpers/layout.js';

const fx: Safetensors = parseSafetensors(new Uint8Array(readFileSync(new URL('./fixtures/models.safetensors', import.meta.url))));
const cfg = JSON.parse(fx.metadata.config);
const N = cfg.batch, S = cfg.height, C = cfg.channels, L = cfg.latentDim;
const NETS: NetName[] = ['G', 'E', 'D_VAE', 'D_LR'];
const LOSS_NAMES: Record<keyof StepLosses, string> = {
  vae_gan: 'loss_VAE_GAN', lr_gan: 'loss_LR_GAN', pixel: 'loss_pixel', kl: 'loss_kl',
  ge: 'loss_GE', latent: 'loss_latent', d_vae: 'loss_D_VAE', d_lr: 'loss_D_LR',
};

let core: Core;
let m: BicycleGAN;
const traced = new Map<string, { data: Float32Array; t: Tensor }>();
const losses: StepLosses[] = [];
let afterStep1: Record<string, Float32Array> = {};
let grads1: Record<string, Float32Array> = {};

function snapshot(which: 'value' | 'grad'): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  const s = nets(m);
  for (const net of NETS)
    for (const e of s[net].entries) {
      if (which === 'grad' && e.kind !== 'param') continue;
      out[`${net}.${e.name}`] = which === 'grad' ? s[net].toTorch(e, 'grad') : s[net].toTorch(e);
    }
  return out;
}

function tensorNchw(t: Tensor, data: Float32Array): Float32Array {
  return nhwcToNchw(data, t.N, t.C, t.H, t.W);
}

beforeAll(async () => {
  core = await loadCore({ build: 'simd' });
  m = new BicycleGAN(core, {
    batch: N,
    model: { imageSize: S, channels: C, latentDim: L, gBase: cfg.gBase, eBase: cfg.eBase, dBase: cfg.dBase },
    adam: { lr: cfg.adam.lr, beta1: cfg.adam.beta1, beta2: cfg.adam.beta2, eps: cfg.adam.eps },
    lambdas: { pixel: cfg.lambdaPixel, latent: cfg.lambdaLatent, kl: cfg.lambdaKl },
  });
  const s = nets(m);
  for (const net of NETS)
    for (const e of s[net].entries) s[net].fromTorch(e, tensorF32(fx, `init.${net}.${e.name}`));
  core.f32(m.realA.ptr, m.realA.size).set(nchwToNhwc(tensorF32(fx, 'input.real_A'), N, C, S, S));
  core.f32(m.realB.ptr, m.realB.size).set(nchwToNhwc(tensorF32(fx, 'input.real_B'), N, C, S, S));
  for (let step = 1; step <= 3; step++) {
    m.trace = step === 1 ? (name, t) => traced.set(name, { data: core.f32(t.ptr, t.size).slice(), t }) : null;
    losses.push(m.step({ eps: tensorF32(fx, `noise.s${step}.eps`), zRandom: tensorF32(fx, `noise.s${step}.z_random`) }));
    if (step === 1) {
      afterStep1 = snapshot('value');
      grads1 = snapshot('grad');
    }
  }
}, 300_000);

describe('pytorch-gan preset vs PyTorch (reduced widths, 3 steps)', () => {
  test('parameter names and shapes equal PyTorch-GAN state_dict', () => {
    const s = nets(m);
    for (const net of NETS) {
      const ours = s[net].entries.map((e) => `init.${net}.${e.name}:${e.shape.join('x')}`).sort();
      const theirs = [...fx.tensors.entries()].filter(([k]) => k.startsWith(`init.${net}.`)).map(([k, t]) => `${k}:${t.shape.join('x')}`).sort();
      expect(ours).toEqual(theirs);
    }
  });

  test('step 1 forward outputs (E mu/logvar, z, G fake_B and fake_B_random, E on the cLR fake, every D scale)', () => {
    const names = [...fx.tensors.keys()].filter((k) => k.startsWith('s1.')).map((k) => k.slice(3));
    expect(names.length).toBeGreaterThan(20);
    for (const name of names) {
      const got = traced.get(name);
      expect(got, `no traced tensor ${name}`).toBeDefined();
      const r = close(tensorNchw(got!.t, got!.data), tensorF32(fx, `s1.${name}`), 1e-4);
      expect(r.ok, `${name}: worst at ${r.index}: ${r.actual} vs torch ${r.expected} (max rel ${r.maxRel})`).toBe(true);
    }
  });

  test('every loss term of steps 1-3', () => {
    for (let s = 0; s < 3; s++)
      for (const [ours, theirs] of Object.entries(LOSS_NAMES)) {
        const want = tensorF32(fx, `loss.s${s + 1}.${theirs}`)[0];
        const got = losses[s][ours as keyof StepLosses];
        expect(Math.abs(got - want), `step ${s + 1} ${theirs}: ${got} vs torch ${want}`).toBeLessThanOrEqual(1e-4 * Math.abs(want) + 1e-7);
      }
  });

  test('step 1 gradients of every parameter of G, E, D_VAE, D_LR', () => {
    for (const [name, got] of Object.entries(grads1)) {
      const r = close(got, tensorF32(fx, `grad.${name}`), 1e-3);
      expect(r.ok, `grad ${name}: worst at ${r.index}: ${r.actual} vs torch ${r.expected} (max rel ${r.maxRel})`).toBe(true);
    }
  });

  test('parameters and BN running stats after step 1 and step 3', () => {
    const after3 = snapshot('value');
    for (const [label, ours] of [['step1', afterStep1], ['step3', after3]] as const)
      for (const [name, got] of Object.entries(ours)) {
        const r = close(got, tensorF32(fx, `${label}.${name}`), 1e-3);
        expect(r.ok, `${label}.${name}: worst at ${r.index}: ${r.actual} vs torch ${r.expected} (max rel ${r.maxRel})`).toBe(true);
      }
  });

  test('eval mode (BN running stats): G output, E mu/logvar, D_VAE on real_B after step 3', () => {
    core.f32(m.G.image.ptr, m.G.image.size).set(nchwToNhwc(tensorF32(fx, 'input.real_A'), N, C, S, S));
    core.f32(m.G.z.ptr, N * L).set(tensorF32(fx, 'noise.s1.z_random'));
    m.G.g.forward(false);
    const g = close(nhwcToNchw(core.f32(m.G.out.ptr, m.G.out.size), N, C, S, S), tensorF32(fx, 'eval.fake_B'), 1e-4);
    expect(g.ok, `eval fake_B worst ${g.actual} vs ${g.expected}`).toBe(true);
    m.E.image.needsGrad = false;
    core.f32(m.E.image.ptr, m.E.image.size).set(nchwToNhwc(tensorF32(fx, 'input.real_B'), N, C, S, S));
    m.E.g.forward(false);
    for (const [t, name] of [[m.E.mu, 'eval.mu'], [m.E.logvar, 'eval.logvar']] as const) {
      const r = close(core.f32(t.ptr, t.size), tensorF32(fx, name), 1e-4);
      expect(r.ok, `${name} worst ${r.actual} vs ${r.expected}`).toBe(true);
    }
    core.f32(m.D_VAE.image.ptr, m.D_VAE.image.size).set(nchwToNhwc(tensorF32(fx, 'input.real_B'), N, C, S, S));
    m.D_VAE.g.forward(false);
    m.D_VAE.outs.forEach((o, i) => {
      const r = close(tensorNchw(o, core.f32(o.ptr, o.size)), tensorF32(fx, `eval.D_VAE.real_B.scale${i}`), 1e-4);
      expect(r.ok, `D_VAE eval scale ${i} worst ${r.actual} vs ${r.expected}`).toBe(true);
    });
  });
});
