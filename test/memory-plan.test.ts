// The training step's memory plan (BicycleGAN constructor, nn/graph.ts Placement): one kernel scratch for the
// four networks, the discriminators' weight gradients in G's gradient block, D_LR's activations in D_VAE's (official;
// the pytorch-gan step keeps each D's own, for the D update's reuse of the G step's fake forward).
// Sharing memory must change no result: a step with the plan equals, bit for bit, the same step with every
// network in memory of its own (separateMemory), on each preset and D option. PyTorch parity of
// the step itself: bicyclegan-torch.test.ts, official-parity.test.ts.
import { beforeAll, describe, expect, test } from 'vitest';
import { loadCore } from '../src/core/load-node.js';
import type { Core } from '../src/core/loader.js';
import { Rng } from '../src/core/rng.js';
import { DEFAULT_MODEL, officialNets, type ModelConfig } from '../src/models/config.js';
import { MultiDiscriminator } from '../src/models/discriminator.js';
import { Generator } from '../src/models/generator.js';
import { Graph, Scratch } from '../src/nn/graph.js';
import { BicycleGAN, type StepLosses } from '../src/train/bicyclegan.js';
import { nets } from '../src/train/checkpoint.js';

let core: Core;
beforeAll(async () => {
  core = await loadCore({ build: 'simd' });
});

const W = 4;
const CASES: [string, Partial<ModelConfig>][] = [
  ['pytorch-gan', {}],
  ['official, conditional D and D2', { preset: 'official', official: officialNets(128, { conditionalD: true }) }],
  ['official, one shared D (sameD)', { preset: 'official', official: officialNets(128, { sameD: true }) }],
];

/** Every value a step leaves behind: parameters, Adam m and v, buffers of each network. */
function state(m: BicycleGAN): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const [net, s] of Object.entries(nets(m))) {
    for (const which of ['value', 'm', 'v'] as const) out[`${net}.${which}`] = s!.block(which).slice();
    out[`${net}.buffers`] = core.f32(s!.base.buffer, s!.bufferFloats).slice();
  }
  return out;
}

function run(model: Partial<ModelConfig>, separateMemory: boolean): { m: BicycleGAN; losses: StepLosses[]; after: Record<string, Float32Array> } {
  const m = new BicycleGAN(core, { batch: 2, seed: 3, separateMemory, model: { ...DEFAULT_MODEL, gBase: W, eBase: W, dBase: W, ...model } });
  const losses: StepLosses[] = [];
  for (let s = 0; s < 2; s++) {
    const r = new Rng(100 + s);
    for (const t of [m.realA, m.realB]) core.f32(t.ptr, t.size).set(Float32Array.from({ length: t.size }, () => Math.tanh(r.normal())));
    losses.push(m.step());
  }
  return { m, losses, after: state(m) };
}

describe('memory plan of the training step', () => {
  for (const [name, model] of CASES)
    test(`${name}: shared scratch, D gradients in G's block, ${model.preset === 'official' ? "D_LR in D_VAE's activations" : 'each D its own activations (the D update reuses the fake forward)'}: bit-identical steps`, () => {
      const mark = core.arena.mark();
      const planned = run(model, false), own = run(model, true);
      const p = planned.m, gGrad = p.G.g.store.base.grad;
      // the plan is in effect (else this test compares a model with itself)
      expect(p.D_VAE.g.store.base.grad).toBe(gGrad);
      expect(own.m.D_VAE.g.store.base.grad).not.toBe(own.m.G.g.store.base.grad);
      expect(own.m.D_VAE.g.scratch).not.toBe(own.m.G.g.scratch);
      if (own.m.D_LR !== own.m.D_VAE) expect(own.m.D_LR.image.ptr).not.toBe(own.m.D_VAE.image.ptr);
      expect(p.E.g.scratch).toBe(p.G.g.scratch);
      expect(p.D_VAE.g.scratch).toBe(p.G.g.scratch);
      if (p.D_LR !== p.D_VAE) {
        expect(p.D_LR.g.store.base.grad).toBe(gGrad + Math.ceil(p.D_VAE.g.store.paramFloats / 16) * 16 * 4);
        if (model.preset === 'official') {
          expect(p.D_LR.image.ptr).toBe(p.D_VAE.image.ptr);
          expect(p.D_LR.outs.map((o) => o.grad)).toEqual(p.D_VAE.outs.map((o) => o.grad));
        } else expect(p.D_LR.image.ptr).not.toBe(p.D_VAE.image.ptr);
      }
      expect(planned.losses).toEqual(own.losses);
      for (const [k, v] of Object.entries(own.after)) expect(planned.after[k], k).toEqual(v);
      core.arena.reset(mark);
    }, 60_000);

  test('a graph reuses only the memory of a built graph of the same topology; a shared scratch is placed once', () => {
    const mark = core.arena.mark();
    const cfg = { ...DEFAULT_MODEL, gBase: W, dBase: W };
    const D = new MultiDiscriminator(core, cfg, 2, 'D');
    expect(() => new MultiDiscriminator(core, cfg, 1, 'D1', { activationsOf: D.g })).toThrow(/D1\.image: cannot reuse D's memory, the graphs differ \(allocation 0: tensor with gradient of \d+ floats, D's is tensor with gradient of \d+\)/);
    expect(() => new Generator(core, cfg, 2, 'G', { activationsOf: D.g })).toThrow(/cannot reuse D's memory, the graphs differ/);
    expect(() => new Graph(core, 'X', { activationsOf: new Graph(core, 'Y') })).toThrow(/X: Y, whose memory it reuses, is not built yet/);
    const scratch = new Scratch(core, 'both');
    const a = new MultiDiscriminator(core, cfg, 1, 'A', { scratch });
    expect(() => a.g.scratch).toThrow(/both scratch is not placed yet/);
    scratch.place();
    expect(a.g.scratch).toBeGreaterThan(0);
    expect(() => new MultiDiscriminator(core, { ...cfg, dBase: 4 * W }, 1, 'B', { scratch })).toThrow(/B: needs \d+ floats of scratch, both's is placed with \d+/);
    core.arena.reset(mark);
  });
});
