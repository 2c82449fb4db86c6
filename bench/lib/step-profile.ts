// Where a one-thread training step's time goes, per layer and pass: every layer's forward and backward of the
// four networks timed around a BicycleGAN step, plus each Adam update. Used by bench/profile-step.ts (a table on
// the console) and by `npm run bench` (the profile section of RESULTS.md).
import type { Core } from '../../src/core/loader.js';
import { Rng } from '../../src/core/rng.js';
import { Adam } from '../../src/train/adam.js';
import { LocalEngine } from '../../src/train/engine.js';
import { Conv2d } from '../../src/nn/conv2d.js';
import { UpsampleConv2d } from '../../src/nn/upconv.js';
import type { Layer } from '../../src/nn/graph.js';

export interface StepProfileRow {
  /** network (G, E, D_VAE, D_LR, or adam) */
  net: string;
  layer: string;
  pass: 'fwd' | 'bwd' | 'upd';
  /** ms per step */
  ms: number;
  /** direct-conv FLOPs per step of this pass (2 per multiply-add of the conv as PyTorch computes it, whatever
   * kernel ran; the backward counts each gradient it took: weights, and the input where it needs one); 0: not a conv */
  flops: number;
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
  const times = new Map<string, { ms: number; flops: number }>();
  let on = false;
  const add = (k: string, t: number, flops = 0) => {
    if (!on) return;
    const e = times.get(k) ?? { ms: 0, flops: 0 };
    times.set(k, { ms: e.ms + t, flops: e.flops + flops });
  };
  for (const [net, g] of [['G', m.G.g], ['E', m.E.g], ['D_VAE', m.D_VAE.g], ['D_LR', m.D_LR.g]] as const)
    for (const l of g.layers) {
      const f = l.forward.bind(l), b = l.backward.bind(l), fl = directFlops(l);
      const x = l instanceof Conv2d || l instanceof UpsampleConv2d ? l.x : null;
      const grads = (params: boolean) => (params ? 1 : 0) + (x?.needsGrad ? 1 : 0);
      l.forward = (train) => { const t = performance.now(); f(train); add(`${net}|${l.name}|fwd`, performance.now() - t, fl); };
      l.backward = (p) => { const t = performance.now(); b(p); add(`${net}|${l.name}|bwd`, performance.now() - t, fl * grads(p)); };
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
      return { net, layer, pass: pass as StepProfileRow['pass'], ms: v.ms / steps, flops: v.flops / steps };
    }).sort((a, b) => b.ms - a.ms);
    return { batch, width, size, total, rows };
  } finally {
    Adam.prototype.update = origUpdate;
  }
}

/** A conv layer's direct FLOPs per call (2 N OH OW OC C k^2; the fused upsample + conv as the 3x3 conv of the
 * upsampled image); 0 for other layers. */
function directFlops(l: Layer): number {
  if (l instanceof Conv2d) return 2 * l.y.N * l.y.H * l.y.W * l.OC * l.x.C * l.o.k * l.o.k;
  if (l instanceof UpsampleConv2d) return 2 * l.y.N * l.y.H * l.y.W * l.OC * l.x.C * 9;
  return 0;
}

/** ms per network (adam: all four updates). */
export function perNet(p: StepProfile): Map<string, number> {
  const net = new Map<string, number>();
  for (const r of p.rows) net.set(r.net, (net.get(r.net) ?? 0) + r.ms);
  return net;
}
