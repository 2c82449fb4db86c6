// The reparameterisation layer (src/nn/reparam.ts): z = mu + eps * exp(logvar / 2) in f32 as PyTorch rounds it,
// its backward against central finite differences of L = sum(dz * z) (in f64), accumulation into existing
// gradients, and the shape checks.
import { beforeAll, describe, expect, test } from 'vitest';
import { loadCore } from '../src/core/load-node.js';
import type { Core } from '../src/core/loader.js';
import { Rng } from '../src/core/rng.js';
import { Graph } from '../src/nn/graph.js';
import { Reparameterize } from '../src/nn/reparam.js';

let core: Core;
beforeAll(async () => {
  core = await loadCore({ build: 'simd' });
});

function setup(N = 3, L = 5) {
  const g = new Graph(core, 'net');
  const mu = g.tensor(N, 1, 1, L, 'mu'), logvar = g.tensor(N, 1, 1, L, 'logvar'), z = g.tensor(N, 1, 1, L, 'z');
  g.finalize();
  const r = new Rng(4), n = N * L;
  const v = (t: typeof mu, which: 'ptr' | 'grad') => core.f32(t[which], n);
  r.fillNormal(v(mu, 'ptr'));
  r.fillUniform(v(logvar, 'ptr'), -2, 1);
  const eps = new Float32Array(n), dz = new Float32Array(n);
  r.fillNormal(eps);
  r.fillNormal(dz);
  return { layer: new Reparameterize(core, mu, logvar, z), mu, logvar, z, eps, dz, n, v };
}

describe('Reparameterize', () => {
  test('forward: z = mu + eps * exp(logvar / 2), rounded to f32 as PyTorch does (std, then eps * std, then + mu)', () => {
    const { layer, mu, logvar, z, eps, n, v } = setup();
    layer.forward(eps);
    const m = v(mu, 'ptr'), lv = v(logvar, 'ptr'), zz = v(z, 'ptr');
    for (let i = 0; i < n; i++) {
      const std = Math.fround(Math.exp(Math.fround(lv[i] * 0.5)));
      expect(zz[i]).toBe(Math.fround(Math.fround(eps[i] * std) + m[i]));
    }
  });

  test('backward matches central differences of sum(dz * z) and accumulates into the existing gradients', () => {
    const { layer, mu, logvar, z, eps, dz, n, v } = setup();
    layer.forward(eps);
    v(z, 'grad').set(dz);
    v(mu, 'grad').fill(0.25);
    v(logvar, 'grad').fill(-0.5);
    layer.backward();
    const m = Float64Array.from(v(mu, 'ptr')), lv = Float64Array.from(v(logvar, 'ptr'));
    const loss = (mm: Float64Array, ll: Float64Array) => mm.reduce((s, _, i) => s + dz[i] * (mm[i] + eps[i] * Math.exp(ll[i] / 2)), 0);
    const h = 1e-4;
    for (let i = 0; i < n; i++) {
      const bump = (a: Float64Array, d: number) => a.map((x, j) => (j === i ? x + d : x));
      const fdMu = (loss(bump(m, h), lv) - loss(bump(m, -h), lv)) / (2 * h);
      const fdLv = (loss(m, bump(lv, h)) - loss(m, bump(lv, -h))) / (2 * h);
      expect(v(mu, 'grad')[i] - 0.25).toBeCloseTo(fdMu, 4);
      expect(v(logvar, 'grad')[i] + 0.5).toBeCloseTo(fdLv, 4);
    }
  });

  test('shapes: logvar and z must be contiguous and the shape of mu; eps one value per element', () => {
    const g = new Graph(core, 'net');
    const mu = g.tensor(2, 1, 1, 4, 'mu'), lv = g.tensor(2, 1, 1, 3, 'lv'), z = g.tensor(2, 1, 1, 4, 'z');
    expect(() => new Reparameterize(core, mu, lv, z)).toThrow(/reparameterize: net\.lv \(2, 1, 1, 3\) must be contiguous and the shape of net\.mu \(2, 1, 1, 4\)/);
    const ok = new Reparameterize(core, mu, g.tensor(2, 1, 1, 4, 'lv4'), z);
    expect(() => ok.forward(new Float32Array(7))).toThrow(/reparameterize: eps has 7 values, expected 8/);
  });
});
