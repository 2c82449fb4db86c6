// LocalEngine: the trainer's single-thread engine. Eval-mode generate/encode in chunks of the batch equal
// one full forward of the same images; bad sizes are clear errors.
import { describe, expect, test } from 'vitest';
import { loadCore } from '../src/core/load-node.js';
import { Rng } from '../src/core/rng.js';
import { LocalEngine } from '../src/train/engine.js';

describe('LocalEngine', () => {
  test('generate and encode work for any count, in chunks of the training batch (eval mode, per-sample)', async () => {
    const core = await loadCore({ build: 'simd' });
    const e = new LocalEngine(core, { batch: 2, model: { gBase: 2, eBase: 2, dBase: 2 }, seed: 1 });
    const per = 128 * 128 * 3, rng = new Rng(1);
    const imgs = new Float32Array(3 * per), z = new Float32Array(3 * 8);
    rng.fillUniform(imgs, -1, 1);
    rng.fillNormal(z);
    const all = await e.generate(imgs, z, 3);
    const last = await e.generate(imgs.subarray(2 * per), z.subarray(16), 1);
    expect(all.subarray(2 * per)).toEqual(last); // eval mode: a sample does not depend on its batch mates
    expect(all.every((v) => v >= -1 && v <= 1)).toBe(true);
    const mu = await e.encode(imgs, 3);
    expect(mu.length).toBe(24);
    expect((await e.encode(imgs.subarray(per, 2 * per), 1))).toEqual(mu.subarray(8, 16));
    expect(() => e.setBatch(new Float32Array(5), new Float32Array(5))).toThrow(/setBatch: expected 98304 floats per side \(batch 2 x 128\^2 x 3\), got 5 and 5/);
    await expect(e.generate(imgs, z, 2)).rejects.toThrow(/generate: expected 98304 image floats and 16 code floats/);
  });
});
