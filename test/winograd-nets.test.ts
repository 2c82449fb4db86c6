// The Winograd kernels inside the networks: a BicycleGAN whose encoder and discriminators are wide enough for
// the layer dispatch (src/core/conv-dispatch.ts) to take Winograd (encoder blocks: F(2x2, 3x3) in all passes;
// discriminators' 4x4 stride-2 convs: the phase F(2x2, 2x2); the encoder's 3x3 stride-2 convs: the split taps)
// takes a training step with finite losses, and the inference encoder (BN folded, the same forward kernels)
// matches the training graph's eval forward.
import { expect, test } from 'vitest';
import { compiledModule, loadCore } from '../src/core/load-node.js';
import { BicycleGANInference, convertWeights } from '../src/infer/index.js';
import { Conv2d } from '../src/nn/conv2d.js';
import { weightsBytes } from '../src/train/checkpoint.js';
import { encoderGap, smallModel } from './helpers/infer-model.js';

test('a model with Winograd layers trains a step and its inference encoder matches E.forward(false)', async () => {
  const core = await loadCore({ build: 'simd' });
  const model = smallModel(core, 5, { gBase: 4, eBase: 64, dBase: 32 });
  const kinds = new Set<string>();
  for (const net of [model.E, model.D_VAE, model.D_LR]) for (const l of net.g.layers) if (l instanceof Conv2d) for (const v of Object.values(l.kern)) kinds.add(v);
  expect([...kinds].sort()).toEqual(['direct', 'split_s2', 'wino3', 'wino_s2']);
  for (const net of [model.G, model.E, model.D_VAE, model.D_LR]) {
    for (const e of net.g.store.entries) expect(net.g.store.view(e).every(Number.isFinite), `${e.name} after the step`).toBe(true);
  }
  const inf = await BicycleGANInference.create({ module: compiledModule('simd'), build: 'simd', weights: convertWeights(weightsBytes(model, ['G', 'E']), { storage: 'f32' }) });
  const { gap, want } = encoderGap(core, model, (x) => inf.encodeInput(x));
  expect(want.some((v) => v !== 0)).toBe(true);
  expect(gap).toBeLessThan(1e-4);
});
