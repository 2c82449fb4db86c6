// A small seeded BicycleGAN for the inference tests: one training step (so BatchNorm running stats are not
// the identity), then its G and E weights as a weights file (src/train/checkpoint.ts weightsBytes).
import type { Core } from '../../src/core/loader.js';
import { Rng } from '../../src/core/rng.js';
import type { ModelConfig } from '../../src/models/config.js';
import { BicycleGAN } from '../../src/train/bicyclegan.js';
import { weightsBytes } from '../../src/train/checkpoint.js';

export const SMALL: Partial<ModelConfig> = { gBase: 4, eBase: 4, dBase: 2 };

export function smallModel(core: Core, seed = 3, model: Partial<ModelConfig> = SMALL): BicycleGAN {
  const m = new BicycleGAN(core, { batch: 2, model, seed });
  const r = new Rng(seed + 100);
  for (const t of [m.realA, m.realB]) r.fillUniform(core.f32(t.ptr, t.size), -1, 1);
  m.step();
  return m;
}

export function smallWeights(core: Core, seed = 3, nets: ('G' | 'E')[] = ['G', 'E'], model: Partial<ModelConfig> = SMALL): Uint8Array {
  return weightsBytes(smallModel(core, seed, model), nets);
}

/** The largest |difference| of (mu, logvar) between an inference encoder and the training E in eval mode, on one
 * seeded random image; `want` is E's mu (the caller checks it is not all zero). */
export function encoderGap(core: Core, model: BicycleGAN, encodeInput: (x: Float32Array) => { mu: Float32Array; logvar: Float32Array }): { gap: number; want: Float32Array } {
  const S = model.cfg.imageSize, C = model.cfg.channels, L = model.cfg.latentDim;
  const x = new Float32Array(S * S * C);
  new Rng(4).fillUniform(x, -1, 1);
  const E = model.E;
  core.f32(E.image.ptr, E.image.size).fill(0).set(x);
  E.g.forward(false);
  const got = encodeInput(x), want = core.f32(E.mu.ptr, L).slice(), logvar = core.f32(E.logvar.ptr, L);
  let gap = 0;
  for (let i = 0; i < L; i++) gap = Math.max(gap, Math.abs(got.mu[i] - want[i]), Math.abs(got.logvar[i] - logvar[i]));
  return { gap, want };
}

/** A deterministic test picture (gradients and blocks), RGBA. */
export function testPicture(w: number, h: number, seed = 1): { width: number; height: number; data: Uint8ClampedArray } {
  const r = new Rng(seed);
  const data = new Uint8ClampedArray(w * h * 4);
  const bx = 1 + r.int(8), by = 1 + r.int(8);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 4;
      data[o] = (255 * x) / w;
      data[o + 1] = (255 * y) / h;
      data[o + 2] = ((Math.floor((x * bx) / w) + Math.floor((y * by) / h)) % 2) * 255;
      data[o + 3] = 255;
    }
  return { width: w, height: h, data };
}
