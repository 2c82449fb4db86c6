// Where a one-thread training step's time goes, per layer and pass: every layer's forward and backward of the
// four networks timed around a BicycleGAN step, plus each Adam update. Used by bench/profile-step.ts (a table on
// the console) and by `npm run bench` (the profile section of RESULTS.md).
import type { Core } from '../../src/core/loader.js';
import { Rng } from '../../src/core/rng.js';
import { Adam } from '../../src/train/adam.js';
import { LocalEngine } from '../../src/train/engine.js';

export interface StepProfileRow {
  /** network (G, E, D_VAE, D_LR, or adam) */
  net: string;
  layer: string;
  pass: 'fwd' | 'bwd' | 'upd';
  /** ms per step */
  ms: number;
}
export interface StepProfile {
  batch: number;
  width: number;
  size: number;
  /** ms per step, wall clock, with the timers in */
  total: number;
  rows: StepProfileRow[];
}

/** Profile `steps` steps (after one untimed step) of a pytorch-gan model at `size`, widths `width`. */
export async function profileStep(core: Core, o: { batch: number; width?: number; size?: number; steps?: number }): Promise<StepProfile> {
  const width = o.width ?? 64, size = o.size ?? 128, steps = o.steps ?? 2, batch = o.batch;
  const engine = new LocalEngine(core, { batch, model: { imageSize: size, gBase: width, eBase: width, dBase: width }, seed: 1 });
  const m = engine.model;
  const times = new Map<string, number>();
  let on = false;
  const add = (k: string, t: number) => on && times.set(k, (times.get(k) ?? 0) + t);
  for (const [net, g] of [['G', m.G.g], ['E', m.E.g], ['D_VAE', m.D_VAE.g], ['D_LR', m.D_LR.g]] as const)
    for (const l of g.layers) {
      const f = l.forward.bind(l), b = l.backward.bind(l);
      l.forward = (train) => { const t = performance.now(); f(train); add(`${net}|${l.name}|fwd`, performance.now() - t); };
      l.backward = (p) => { const t = performance.now(); b(p); add(`${net}|${l.name}|bwd`, performance.now() - t); };
    }
  const origUpdate = Adam.prototype.update;
  Adam.prototype.update = function (this: Adam, ...a: Parameters<Adam['update']>) {
    const t = performance.now(); const r = origUpdate.apply(this, a); add(`adam|${this.store.net}|upd`, performance.now() - t); return r;
  };
  try {
    const rng = new Rng(5), n = batch * size * size * 3, A = new Float32Array(n), B = new Float32Array(n);
    rng.fillUniform(A, -1, 1); rng.fillUniform(B, -1, 1);
    engine.setBatch(A, B);
    await engine.step();
    on = true;
    const t0 = performance.now();
    for (let s = 0; s < steps; s++) await engine.step();
    const total = (performance.now() - t0) / steps;
    const rows = [...times].map(([k, v]) => {
      const [net, layer, pass] = k.split('|');
      return { net, layer, pass: pass as StepProfileRow['pass'], ms: v / steps };
    }).sort((a, b) => b.ms - a.ms);
    return { batch, width, size, total, rows };
  } finally {
    Adam.prototype.update = origUpdate;
  }
}

/** ms per network (adam: all four updates). */
export function perNet(p: StepProfile): Map<string, number> {
  const net = new Map<string, number>();
  for (const r of p.rows) net.set(r.net, (net.get(r.net) ?? 0) + r.ms);
  return net;
}
