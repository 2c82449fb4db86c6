// The official preset's ops at inference: a small network written once against NetBuilder with every new op
// (z tiled into a concatenation, conv + InstanceNorm + LeakyReLU, conv + BatchNorm, convT + InstanceNorm + ReLU +
// Dropout into a concat slice, convT + BatchNorm + Dropout, a BatchNorm alone and an InstanceNorm alone, an
// activation alone into a slice) runs through GraphBuilder in eval mode and through the inference path: plan ->
// fold (BatchNorm into conv and convT weights; a lone BatchNorm into a scale and shift) -> f32/f16/int8 tensors,
// chunked or not -> read back -> RunBuilder. f32 gives the training graph's output to float rounding, f16 and
// int8 within bounds of their storage error; chunked conv-transposes (split along their input channels) equal
// unchunked ones.
import { beforeAll, describe, expect, test } from 'vitest';
import { loadCore } from '../src/core/load-node.js';
import type { Core } from '../src/core/loader.js';
import { parseSafetensors, serializeSafetensors } from '../src/core/safetensors.js';
import { Rng } from '../src/core/rng.js';
import type { NetBuilder, Shape } from '../src/nn/builder.js';
import { Graph } from '../src/nn/graph.js';
import { GraphBuilder } from '../src/nn/graph-builder.js';
import { PlanBuilder, RunBuilder, type SharedScratch } from '../src/infer/nets.js';
import { chunksOf, encodeLayers, foldLayers, layerWeights, readLayers, type Storage } from '../src/infer/weights.js';
import { DEFAULT_MODEL } from '../src/models/config.js';

let core: Core;
beforeAll(async () => {
  core = await loadCore({ build: 'simd' });
});

const S = 8, IC = 3, L = 4;

/** Every new op once; the output is a concatenation of tanh(final conv) and the InstanceNorm-alone branch. */
function net<T extends Shape>(b: NetBuilder<T>, N: number): { image: T; z: T; out: T } {
  const image = b.input('image', N, S, S, IC, false), z = b.input('z', N, 1, 1, L, false);
  const cat0 = b.tensor('cat0', N, S, S, IC + L);
  b.copy('image.copy', image, b.slice(cat0, 0, IC, 'cat0.image'));
  b.tile('z.tile', z, b.slice(cat0, IC, L, 'cat0.z'));
  const d1 = b.conv('down1', cat0, 8, { k: 4, stride: 2, pad: 1, bias: true, instanceNorm: { eps: 1e-5 }, act: { leaky: 0.2 } });
  const d2 = b.conv('down2.0', d1, 16, { k: 4, stride: 2, pad: 1, bias: false, bn: { name: 'down2.1', eps: 1e-5 }, act: { leaky: 0.2 } });
  const u1 = b.tensor('u1', N, S / 2, S / 2, 16);
  b.convT('up1', d2, 8, { k: 4, stride: 2, pad: 1, bias: true, instanceNorm: { eps: 1e-5 }, act: 'relu', dropout: 0.5, out: b.slice(u1, 0, 8, 'u1.up') });
  b.copy('d1.copy', d1, b.slice(u1, 8, 8, 'u1.skip'));
  const u2 = b.convT('up2.0', u1, 16, { k: 4, stride: 2, pad: 1, bias: false, bn: { name: 'up2.1', eps: 1e-5 }, act: 'relu', dropout: 0.5 });
  const n1 = b.norm('pre', u2, { bn: { name: 'pre.0', eps: 1e-3 }, act: { leaky: 0.2 } });
  const out = b.tensor('out', N, S, S, IC + 16);
  b.activation('final.act', b.conv('final', n1, IC, { k: 3, stride: 1, pad: 1, bias: true }), 'tanh', b.slice(out, 0, IC, 'out.img'));
  b.norm('pre2', n1, { instanceNorm: { eps: 1e-5 }, act: 'relu' });
  b.activation('side', b.norm('pre3', u2, { instanceNorm: { eps: 1e-5 } }), { leaky: 0.1 }, b.slice(out, IC, 16, 'out.side'));
  return { image, z, out };
}

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('the new ops at inference equal the training graph in eval mode', () => {
  const N = 2;
  let want: Float32Array, image: Float32Array, z: Float32Array, checkpoint: Uint8Array, plan: PlanBuilder;

  beforeAll(() => {
    const g = new Graph(core, 'T');
    const io = net(new GraphBuilder(g), N);
    g.finalize();
    const r = new Rng(11), st = g.store;
    for (const e of st.entries) {
      const v = st.view(e);
      if (e.layout === 'conv' || e.layout === 'convT') r.fillNormal(v, 0, Math.sqrt(2 / (e.shape[1] * e.shape[2] * e.shape[3])));
      else if (e.name.endsWith('running_var')) r.fillUniform(v, 0.5, 1.5);
      else if (e.name.endsWith('num_batches_tracked')) v[0] = 3;
      else if (e.name.endsWith('.weight')) r.fillUniform(v, 0.8, 1.2);
      else r.fillUniform(v, -0.2, 0.2);
    }
    image = new Float32Array(N * S * S * IC);
    z = new Float32Array(N * L);
    r.fillUniform(image, -1, 1);
    r.fillNormal(z);
    core.f32(io.image.ptr, image.length).set(image);
    core.f32(io.z.ptr, z.length).set(z);
    g.dropoutSeed = 5;
    g.forward(false);
    want = core.f32(io.out.ptr, io.out.size).slice();
    checkpoint = serializeSafetensors(st.tensorEntries(), {});
    plan = new PlanBuilder();
    net(plan, N);
  });

  function run(storage: Storage, cap: number): Float32Array {
    const mark = core.arena.mark();
    try {
      const folded = foldLayers(parseSafetensors(checkpoint), plan.layers, 'running');
      const file = parseSafetensors(serializeSafetensors(encodeLayers(folded.values(), storage, cap), {}));
      const layers = readLayers(file, plan.layers, storage, cap);
      const scratch: SharedScratch = { wFloats: 0, stageBytes: 0, convFloats: 0, w: 0, stage: 0, conv: 0 };
      const rb = new RunBuilder(core, layerWeights(core, { cfg: DEFAULT_MODEL, storage, nets: ['G'], layers, bytes: 0, chunkFloats: cap }), scratch, 'T');
      const io = net(rb, N);
      scratch.w = core.arena.alloc(scratch.wFloats, 'w');
      scratch.stage = core.arena.allocBytes(scratch.stageBytes, 'stage');
      scratch.conv = core.arena.alloc(scratch.convFloats, 'conv');
      core.f32(io.image.ptr, image.length).set(image);
      core.f32(io.z.ptr, z.length).set(z);
      core.f32(io.out.ptr, want.length).fill(NaN);
      for (const op of rb.ops) op();
      return core.f32(io.out.ptr, want.length).slice();
    } finally {
      core.arena.reset(mark);
    }
  }

  test('the plan: conv, convT (PyTorch [C][OC][k][k]) with folded BatchNorm, a lone BatchNorm as its own layer', () => {
    expect(plan.layers.map((l) => `${l.name} ${l.layout} [${l.torchShape}]${l.bn ? ` + ${l.bn.name}` : ''}`)).toEqual([
      'down1 conv [8,7,4,4]', 'down2.0 conv [16,8,4,4] + down2.1', 'up1 convT [16,8,4,4]', 'up2.0 convT [16,16,4,4] + up2.1',
      'pre.0 bn [16]', 'final conv [3,16,3,3]',
    ]);
  });

  test('f32, unchunked and chunked (convT split along its input channels), equals GraphBuilder eval', () => {
    const scale = Math.max(...Array.from(want, Math.abs));
    expect(scale).toBeGreaterThan(0.5);
    const big = run('f32', 1 << 19);
    expect(maxAbs(big, want)).toBeLessThan(2e-5 * scale);
    // cap 1024 floats: down2.0 (2048 floats) splits along OC, up1 and up2.0 along C, in 2 chunks each
    const cap = 1024;
    expect(plan.layers.map((l) => chunksOf(l, cap))).toEqual([1, 2, 2, 2, 1, 1]);
    const chunked = run('f32', cap);
    expect(maxAbs(chunked, want)).toBeLessThan(2e-5 * scale);
  });

  test('f16 and int8 stay close to f32; chunking changes nothing but the summation order', () => {
    const f32 = run('f32', 1 << 19), scale = Math.max(...Array.from(f32, Math.abs));
    const d16 = maxAbs(run('f16', 1 << 19), f32), d8 = maxAbs(run('int8', 1 << 19), f32);
    // about 3x the measured errors (8.9e-4 and 2.6e-2 of the output's scale: InstanceNorm over 4x4 maps
    // amplifies the weights' rounding); a dequantiser off by a scale lands far above these
    expect(d16).toBeGreaterThan(0);
    expect(d16).toBeLessThan(3e-3 * scale);
    expect(d8).toBeGreaterThan(d16);
    expect(d8).toBeLessThan(8e-2 * scale);
    // the per-channel int8 scales do not depend on the chunking: chunked files hold the same weights
    for (const s of ['f16', 'int8'] as Storage[]) expect(maxAbs(run(s, 1024), run(s, 1 << 19))).toBeLessThan(2e-5 * scale);
  });

  test('a missing statistic of a lone BatchNorm is an error naming the tensor', () => {
    const p = parseSafetensors(checkpoint);
    const without = serializeSafetensors([...p.tensors.entries()].filter(([n]) => n !== 'pre.0.running_var').map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape, data: new Float32Array(t.data.slice().buffer) })), {});
    expect(() => foldLayers(parseSafetensors(without), plan.layers, 'running', 'ckpt.safetensors')).toThrow(/ckpt\.safetensors: [\s\S]*missing tensor "pre\.0\.running_var"/);
    expect(() => foldLayers(p, plan.layers, 'recalibrated', 'ckpt.safetensors')).toThrow(/recalibrated\.down2\.1\.running_mean/);
  });
});
