// The Winograd kernels inside the networks: a BicycleGAN whose encoder and discriminators are wide enough for
// the layer dispatch (src/core/conv-dispatch.ts) to take Winograd (encoder blocks: F(2x2, 3x3) in all passes;
// discriminators' 4x4 stride-2 convs: the phase F(4x4, 2x2) on the first scale's first layers, F(2x2, 2x2) below;
// the encoder's 3x3 stride-2 convs: the split taps)
// takes a training step with finite losses, and the inference encoder (BN folded, the same forward kernels)
// matches the training graph's eval forward.
import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { splitF42 } from '../src/core/conv-dispatch.js';
import { compiledModule, loadCore } from '../src/core/load-node.js';
import { Rng } from '../src/core/rng.js';
import { BicycleGANInference, convertWeights } from '../src/infer/index.js';
import { Conv2d } from '../src/nn/conv2d.js';
import { weightsBytes } from '../src/train/checkpoint.js';
import { encoderGap, smallModel } from './helpers/infer-model.js';

test('a model with Winograd layers trains a step and its inference encoder matches E.forward(false)', async () => {
  const core = await loadCore({ build: 'simd' });
  const model = smallModel(core, 5, { gBase: 4, eBase: 64, dBase: 32 });
  const kinds = new Set<string>();
  for (const net of [model.E, model.D_VAE, model.D_LR]) for (const l of net.g.layers) if (l instanceof Conv2d) for (const v of Object.values(l.kern)) kinds.add(v);
  expect([...kinds].sort()).toEqual(['direct', 'split_s2', 'wino3', 'wino_s2', 'wino_s2f4']);
  for (const net of [model.G, model.E, model.D_VAE, model.D_LR]) {
    for (const e of net.g.store.entries) expect(net.g.store.view(e).every(Number.isFinite), `${e.name} after the step`).toBe(true);
  }
  const inf = await BicycleGANInference.create({ module: compiledModule('simd'), build: 'simd', weights: convertWeights(weightsBytes(model, ['G', 'E']), { storage: 'f32' }) });
  const { gap, want } = encoderGap(core, model, (x) => inf.encodeInput(x));
  expect(want.some((v) => v !== 0)).toBe(true);
  expect(gap).toBeLessThan(1e-4);
});

// The split taps with F(4, 2) on their E parts (assembly/winograd_split4.ts) inside an inference generator: at
// gBase 32 and 128 px, up5 (16x16x256 -> 64) and the stride-2 down3 (32x32x64 -> 16x16x128) and down4 (16x16x128 ->
// 8x8x256) take them on weights transformed at load (conv-dispatch.ts splitF42). The output matches the training
// graph's eval forward (per-call F(2, 2) kernels), and two threads (each its share of output channels in one U) give
// one thread's bits.
test('an inference generator with F(4, 2) split-taps layers matches G.forward(false); two threads, the same bits', async () => {
  expect(splitF42('upconv', 1, 16, 16, 256, 64) && splitF42('s2', 1, 32, 32, 64, 128) && splitF42('s2', 1, 16, 16, 128, 256)).toBe(true);
  expect(splitF42('upconv', 1, 8, 8, 512, 128) || splitF42('s2', 1, 8, 8, 256, 256)).toBe(false); // up4, down5: F(2, 2)
  const core = await loadCore({ build: 'simd' });
  const model = smallModel(core, 6, { gBase: 32, eBase: 4, dBase: 2 });
  const weights = convertWeights(weightsBytes(model, ['G', 'E']), { storage: 'f32' });
  const one = await BicycleGANInference.create({ module: compiledModule('simd'), build: 'simd', weights });
  const two = await BicycleGANInference.create({ module: new WebAssembly.Module(readFileSync(new URL('../build/core-threads.wasm', import.meta.url))), build: 'simd', weights, threads: 2 });
  try {
    const S = model.cfg.imageSize, L = model.cfg.latentDim, G = model.G, r = new Rng(9);
    expect(S).toBe(128);
    const x = new Float32Array(S * S * 3), z = new Float32Array(L);
    r.fillUniform(x, -1, 1);
    r.fillNormal(z);
    core.f32(G.image.ptr, G.image.size).fill(0).set(x);
    core.f32(G.z.ptr, G.z.size).fill(0).set(z);
    G.g.forward(false);
    const want = core.f32(G.out.ptr, S * S * 3).slice(), got = one.generate(x, z);
    let d = 0;
    for (let i = 0; i < want.length; i++) d = Math.max(d, Math.abs(got[i] - want[i]));
    expect(want.some((v) => v !== 0)).toBe(true);
    expect(d).toBeLessThan(1e-6); // measured 1.5e-8 (outputs up to 0.087)
    const got2 = two.generate(x, z);
    expect(Buffer.compare(Buffer.from(got2.buffer, got2.byteOffset, got2.byteLength), Buffer.from(got.buffer, got.byteOffset, got.byteLength))).toBe(0);
  } finally {
    await two.dispose();
  }
});
