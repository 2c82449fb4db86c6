// The official preset's layers through the training builder (GraphBuilder): ConvTranspose2d, InstanceNorm2d,
// Dropout, z tiled into a concatenation, a norm or an activation alone, and the block tails (conv/convT + norm +
// activation + dropout into a concatenation slice), against PyTorch (test/fixtures/gen_layers.py ->
// test/fixtures/torch/layers.safetensors; regenerate with `/usr/bin/python3 test/fixtures/gen_layers.py`):
// forward output, input and parameter gradients, BatchNorm running statistics. Dropout's fixture applies our
// counter-hash mask, ported to Python. Then finite differences of the layers with channel-slice inputs and
// outputs, Dropout's shard and eval semantics, and the errors.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, test } from 'vitest';
import { loadCore } from '../src/core/load-node.js';
import type { Core } from '../src/core/loader.js';
import { parseSafetensors, toF32 } from '../src/core/safetensors.js';
import { Graph, type ShardSync, type Tensor } from '../src/nn/graph.js';
import { GraphBuilder } from '../src/nn/graph-builder.js';
import { Dropout, dropoutLayerSeed } from '../src/nn/dropout.js';
import { ConvTranspose2d } from '../src/nn/convtranspose.js';
import { close, nchwToNhwc, nhwcToNchw } from './helpers/layout.js';
import { mulberry32, normal } from './helpers/rng.js';

let core: Core;
beforeAll(async () => {
  core = await loadCore({ build: 'simd' });
});

const fx = parseSafetensors(new Uint8Array(readFileSync(new URL('./fixtures/torch/layers.safetensors', import.meta.url))));
const P = (c: string) => JSON.parse(fx.metadata[c]) as Record<string, number>;
function F(c: string, name: string): Float32Array {
  const t = fx.tensors.get(`${c}/${name}`);
  if (!t) throw new Error(`fixture: ${c}/${name} missing`);
  return toF32(t, `${c}/${name}`).slice();
}

/** Write NHWC data into a (possibly strided) view, values or gradient. */
function put(t: Tensor, data: Float32Array, grad = false): void {
  const m = core.f32(grad ? t.grad : t.ptr, (t.P - 1) * t.ld + t.C);
  for (let p = 0; p < t.P; p++) for (let c = 0; c < t.C; c++) m[p * t.ld + c] = data[p * t.C + c];
}
function get(t: Tensor, grad = false): Float32Array {
  const m = core.f32(grad ? t.grad : t.ptr, (t.P - 1) * t.ld + t.C), o = new Float32Array(t.P * t.C);
  for (let p = 0; p < t.P; p++) for (let c = 0; c < t.C; c++) o[p * t.C + c] = m[p * t.ld + c];
  return o;
}
const nhwc = (t: Tensor, nchw: Float32Array) => nchwToNhwc(nchw, t.N, t.C, t.H, t.W);
const nchw = (t: Tensor, data: Float32Array) => nhwcToNchw(data, t.N, t.C, t.H, t.W);

/** Within rtol of PyTorch on the tensor's scale; a tensor that is zero in exact arithmetic (the gradient of a
 * bias followed by InstanceNorm: PyTorch's f64 leaves <= 1e-7) within 1e-5 absolute (f32 sums that cancel). */
function expectClose(got: Float32Array, want: Float32Array, rtol: number, what: string): void {
  if (want.every((v) => Math.abs(v) <= 1e-7)) {
    const i = got.findIndex((v) => !(Math.abs(v) <= 1e-5));
    if (i >= 0) throw new Error(`${what}[${i}]: got ${got[i]}, PyTorch 0`);
    return;
  }
  const r = close(got, want, rtol);
  if (!r.ok) throw new Error(`${what}[${r.index}]: got ${r.actual}, PyTorch ${r.expected} (worst ${r.worst.toFixed(2)} of the tolerance, max rel ${r.maxRel.toExponential(2)})`);
}

/** One fixture case as a network: inputs (fixture name -> tensor), the output, parameters (fixture name ->
 * state_dict name), buffers to compare after the forward (fixture name -> state_dict name). */
interface Net {
  inputs: Record<string, Tensor>;
  y: Tensor;
  params?: Record<string, string>;
  buffers?: Record<string, string>;
}

/** Build, load the fixture, forward (train), backward from dy; compare everything with PyTorch. */
function check(c: string, build: (b: GraphBuilder, g: Graph) => Net, seed?: number): void {
  const mark = core.arena.mark();
  try {
    const g = new Graph(core, 'net');
    const net = build(new GraphBuilder(g), g);
    g.finalize();
    const grads = Object.values(net.params ?? {}).concat(Object.values(net.buffers ?? {}));
    for (const e of g.store.entries) if (!grads.includes(e.name) && e.kind === 'param') throw new Error(`case ${c}: parameter ${e.name} not in the fixture`);
    for (const [k, name] of Object.entries(net.params ?? {})) g.store.fromTorch(g.store.find(name)!, F(c, k));
    for (const e of g.store.entries) if (e.name.endsWith('running_var')) g.store.view(e).fill(1);
    for (const [k, t] of Object.entries(net.inputs)) put(t, nhwc(t, F(c, k)));
    if (seed !== undefined) g.dropoutSeed = seed;
    // the output starts as garbage (forward overwrites), gradient buffers as garbage (they are zeroed)
    core.f32(net.y.ptr, net.y.size).fill(NaN);
    g.forward(true);
    expectClose(nchw(net.y, get(net.y)), F(c, 'y'), 1e-4, `${c} y`);
    g.store.zeroGrads();
    g.backwardFrom(() => put(net.y, nhwc(net.y, F(c, 'dy')), true));
    for (const [k, t] of Object.entries(net.inputs)) expectClose(nchw(t, get(t, true)), F(c, `d${k}`), 1e-3, `${c} d${k}`);
    for (const [k, name] of Object.entries(net.params ?? {})) expectClose(g.store.toTorch(g.store.find(name)!, 'grad'), F(c, `d${k}`), 1e-3, `${c} d${k}`);
    for (const [k, name] of Object.entries(net.buffers ?? {})) expectClose(g.store.toTorch(g.store.find(name)!), F(c, k), 1e-4, `${c} ${k}`);
  } finally {
    core.arena.reset(mark);
  }
}

describe('official layers vs PyTorch (GraphBuilder, train mode)', () => {
  for (const c of ['convT_5to3_bias', 'convT_16to12'])
    for (const sliced of [false, true])
      test(`${c}${sliced ? ', channel-slice input and concat-slice output' : ''}`, () => {
        const { N, H, W, C, OC, k, stride, pad, bias } = P(c);
        check(c, (b) => {
          const wide = b.input('wide', N, H, W, C + (sliced ? 3 : 0));
          const x = sliced ? b.slice(wide, 2, C, 'x') : wide;
          const cat = sliced ? b.tensor('cat', N, 2 * H, 2 * W, OC + 4) : undefined;
          const out = cat && b.slice(cat, 1, OC, 'y');
          const y = b.convT('up', x, OC, { k, stride, pad, bias: Boolean(bias), out });
          if (out) expect(y).toBe(out);
          const params: Record<string, string> = { w: 'up.weight' };
          if (bias) params.b = 'up.bias';
          return { inputs: { x }, y, params };
        });
      });

  test('InstanceNorm2d alone (norm op), channel-slice input and output', () => {
    const { N, C, H, W, eps } = P('instnorm');
    check('instnorm', (b) => {
      const x = b.slice(b.input('wide', N, H, W, C + 2), 1, C, 'x');
      // norm() returns a new tensor; route it into a concat slice through an identity-free path: the tail of a
      // conv writes into slices (tested below), here the norm's own output is the result
      return { inputs: { x }, y: b.norm('in', x, { instanceNorm: { eps } }) };
    });
  });

  test('Dropout(0.5) applies the counter-hash mask of (seed, element index)', () => {
    const { N, C, H, W, p, seed } = P('dropout');
    check('dropout', (b, g) => {
      const x = b.input('x', N, H, W, C);
      return { inputs: { x }, y: new Dropout(g, 'drop', x, p).y };
    }, seed);
  });

  test('tile: z broadcast into a concatenation slice, dz sums over H x W', () => {
    const { N, Cx, Cz, H, W } = P('tile_cat');
    check('tile_cat', (b) => {
      const x = b.input('x', N, H, W, Cx), z = b.input('z', N, 1, 1, Cz);
      const cat = b.tensor('cat', N, H, W, Cx + Cz);
      b.copy('x.copy', x, b.slice(cat, 0, Cx, 'cat.x'));
      b.tile('z.tile', z, b.slice(cat, Cx, Cz, 'cat.z'));
      return { inputs: { x, z }, y: cat };
    });
  });

  test('convT + InstanceNorm + ReLU + Dropout into a concat slice, beside a dropped-out skip', () => {
    const { N, H, W, C, OC, Cs, p, seed, eps } = P('convT_in_relu_drop_cat');
    check('convT_in_relu_drop_cat', (b, g) => {
      const x = b.input('x', N, H, W, C), skip = b.input('skip', N, 2 * H, 2 * W, Cs);
      const cat = b.tensor('cat', N, 2 * H, 2 * W, OC + Cs);
      const out = b.slice(cat, 0, OC, 'cat.u');
      const y = b.convT('up', x, OC, { k: 4, stride: 2, pad: 1, bias: true, instanceNorm: { eps }, act: 'relu', dropout: p, out });
      expect(y).toBe(out);
      new Dropout(g, 'skip.drop', skip, p, b.slice(cat, OC, Cs, 'cat.skip'));
      return { inputs: { x, skip }, y: cat, params: { w: 'up.weight', b: 'up.bias' } };
    }, seed);
  });

  test('conv 4x4 s2 + InstanceNorm + LeakyReLU(0.2)', () => {
    const { N, H, W, C, OC, eps, slope } = P('conv_in_leaky');
    check('conv_in_leaky', (b) => {
      const x = b.input('x', N, H, W, C);
      return { inputs: { x }, y: b.conv('down', x, OC, { k: 4, stride: 2, pad: 1, bias: true, instanceNorm: { eps }, act: { leaky: slope } }), params: { w: 'down.weight', b: 'down.bias' } };
    });
  });

  test('convT + BatchNorm2d + ReLU (--norm batch), running statistics', () => {
    const { N, H, W, C, OC, eps } = P('convT_bn_relu');
    check('convT_bn_relu', (b) => {
      const x = b.input('x', N, H, W, C);
      const y = b.convT('up.1', x, OC, { k: 4, stride: 2, pad: 1, bias: false, bn: { name: 'up.2', eps }, act: 'relu' });
      return { inputs: { x }, y, params: { w: 'up.1.weight', gamma: 'up.2.weight', beta: 'up.2.bias' }, buffers: { running_mean: 'up.2.running_mean', running_var: 'up.2.running_var' } };
    });
  });

  test('norm alone (InstanceNorm) + LeakyReLU: E_ResNet pre-activation', () => {
    const { N, C, H, W, eps, slope } = P('norm_in_leaky');
    check('norm_in_leaky', (b) => {
      const x = b.input('x', N, H, W, C);
      return { inputs: { x }, y: b.norm('block.0', x, { instanceNorm: { eps }, act: { leaky: slope } }) };
    });
  });

  test('norm alone (BatchNorm2d, train mode) + LeakyReLU, running statistics', () => {
    const { N, C, H, W, eps, slope } = P('norm_bn_leaky');
    check('norm_bn_leaky', (b) => {
      const x = b.input('x', N, H, W, C);
      const y = b.norm('block', x, { bn: { name: 'block.0', eps }, act: { leaky: slope } });
      return { inputs: { x }, y, params: { gamma: 'block.0.weight', beta: 'block.0.bias' }, buffers: { running_mean: 'block.0.running_mean', running_var: 'block.0.running_var' } };
    });
  });

  test('activation alone into a concatenation slice', () => {
    const { N, C, Cs, H, W } = P('act_tanh_cat');
    check('act_tanh_cat', (b) => {
      const x = b.input('x', N, H, W, C), skip = b.input('skip', N, H, W, Cs);
      const cat = b.tensor('cat', N, H, W, Cs + C);
      b.copy('skip.copy', skip, b.slice(cat, 0, Cs, 'cat.skip'));
      const out = b.slice(cat, Cs, C, 'cat.x');
      expect(b.activation('tanh', x, 'tanh', out)).toBe(out);
      return { inputs: { x, skip }, y: cat };
    });
  });
});

/** Finite differences of L = sum(y * r) against backward, for every input and parameter, at `picks` random
 * coordinates each (central differences in f32 arithmetic, eps 1e-2). */
function fdCheck(build: (b: GraphBuilder, g: Graph) => { inputs: Tensor[]; y: Tensor }, seed = 5, picks = 12): void {
  const mark = core.arena.mark();
  try {
    const g = new Graph(core, 'fd');
    const net = build(new GraphBuilder(g), g);
    g.finalize();
    g.dropoutSeed = 99;
    const rnd = mulberry32(seed);
    const rand = (n: number, s = 1) => Float32Array.from({ length: n }, () => s * normal(rnd));
    for (const t of net.inputs) put(t, rand(t.size));
    for (const e of g.store.entries) g.store.view(e).set(e.name.endsWith('running_var') ? new Float32Array(e.size).fill(1) : rand(e.size, 0.3));
    const r = rand(net.y.size);
    const loss = () => {
      g.forward(true);
      const y = get(net.y);
      let s = 0;
      for (let i = 0; i < y.length; i++) s += y[i] * r[i];
      return s;
    };
    loss();
    g.store.zeroGrads();
    g.backwardFrom(() => put(net.y, r, true));
    const probes: { what: string; value: Float32Array; at: number; grad: number }[] = [];
    for (const t of net.inputs) {
      const dx = get(t, true);
      for (let j = 0; j < picks; j++) {
        const i = Math.floor(rnd() * t.size), p = Math.floor(i / t.C), c = i % t.C;
        probes.push({ what: `${t.name}[${i}]`, value: core.f32(t.ptr, (t.P - 1) * t.ld + t.C), at: p * t.ld + c, grad: dx[i] });
      }
    }
    for (const e of g.store.entries.filter((e) => e.kind === 'param')) {
      const dw = g.store.view(e, 'grad').slice();
      for (let j = 0; j < picks; j++) {
        const i = Math.floor(rnd() * e.size);
        probes.push({ what: `${e.name}[${i}]`, value: g.store.view(e), at: i, grad: dw[i] });
      }
    }
    let scale = 0;
    for (const p of probes) scale = Math.max(scale, Math.abs(p.grad));
    const eps = 1e-2;
    for (const p of probes) {
      const v0 = p.value[p.at];
      p.value[p.at] = v0 + eps;
      const lp = loss();
      p.value[p.at] = v0 - eps;
      const lm = loss();
      p.value[p.at] = v0;
      const fd = (lp - lm) / (2 * eps);
      if (!(Math.abs(fd - p.grad) <= 1e-2 * scale + 2e-2 * Math.abs(fd))) throw new Error(`${p.what}: backward ${p.grad}, finite differences ${fd} (scale ${scale})`);
    }
  } finally {
    core.arena.reset(mark);
  }
}

describe('finite differences through channel slices', () => {
  test('tile of z into the middle of a concatenation read by a conv', () => {
    fdCheck((b) => {
      const x = b.input('x', 2, 4, 3, 3), z = b.input('z', 2, 1, 1, 5), v = b.input('v', 2, 4, 3, 2);
      const cat = b.tensor('cat', 2, 4, 3, 10);
      b.copy('x.copy', x, b.slice(cat, 0, 3, 'cat.x'));
      b.tile('z.tile', z, b.slice(cat, 3, 5, 'cat.z'));
      b.copy('v.copy', v, b.slice(cat, 8, 2, 'cat.v'));
      return { inputs: [x, z, v], y: b.conv('c', cat, 4, { k: 3, stride: 1, pad: 1, bias: true }) };
    });
  });

  test('convT (slice in) + InstanceNorm + tanh + Dropout into a concat slice, then a conv over the concat (smooth: no kinks for the differences)', () => {
    fdCheck((b) => {
      const wide = b.input('wide', 2, 3, 2, 7), skip = b.input('skip', 2, 6, 4, 3);
      const x = b.slice(wide, 2, 4, 'x');
      const cat = b.tensor('cat', 2, 6, 4, 8);
      b.convT('up', x, 5, { k: 4, stride: 2, pad: 1, bias: true, instanceNorm: { eps: 1e-5 }, act: 'tanh', dropout: 0.5, out: b.slice(cat, 0, 5, 'cat.u') });
      b.copy('skip.copy', skip, b.slice(cat, 5, 3, 'cat.s'));
      return { inputs: [wide, skip], y: b.conv('c', cat, 3, { k: 3, stride: 1, pad: 1, bias: false }) };
    });
  });

  test('conv (slice in) + BatchNorm + ReLU + Dropout into a slice; norm alone (BatchNorm, slice in) + LeakyReLU', () => {
    fdCheck((b) => {
      const wide = b.input('wide', 3, 4, 4, 6);
      const cat = b.tensor('cat', 3, 2, 2, 9);
      b.conv('down', b.slice(wide, 1, 4, 'x'), 5, { k: 4, stride: 2, pad: 1, bias: false, bn: { name: 'down.bn', eps: 1e-5 }, act: 'relu', dropout: 0.3, out: b.slice(cat, 4, 5, 'cat.d') });
      b.copy('copy', b.conv('side', wide, 4, { k: 2, stride: 2, pad: 0, bias: true }), b.slice(cat, 0, 4, 'cat.side'));
      const n = b.norm('pre', b.slice(cat, 2, 6, 'cat.mid'), { bn: { name: 'pre.0', eps: 1e-5 }, act: { leaky: 0.2 } });
      return { inputs: [wide], y: b.conv('c', n, 2, { k: 1, stride: 1, pad: 0, bias: false }) };
    });
  });

  test('norm alone (InstanceNorm, slice in) and an activation alone into a slice', () => {
    fdCheck((b) => {
      const wide = b.input('wide', 2, 3, 3, 5);
      const n = b.norm('pre', b.slice(wide, 1, 3, 'x'), { instanceNorm: { eps: 1e-5 } });
      const cat = b.tensor('cat', 2, 3, 3, 6);
      b.activation('act', n, { leaky: 0.2 }, b.slice(cat, 3, 3, 'cat.a'));
      b.copy('copy', n, b.slice(cat, 0, 3, 'cat.n'));
      return { inputs: [wide], y: b.conv('c', cat, 2, { k: 3, stride: 1, pad: 1, bias: false }) };
    });
  });
});

describe('Dropout', () => {
  function masks(N: number, seed: number, sync: ShardSync | null, train = true) {
    const g = new Graph(core, 'drop');
    const b = new GraphBuilder(g);
    const x = b.input('x', N, 3, 2, 5);
    const y1 = new Dropout(g, 'd1', x, 0.5).y;
    const y2 = new Dropout(g, 'd2', x, 0.5).y;
    g.finalize();
    g.sync = sync;
    g.dropoutSeed = seed;
    core.f32(x.ptr, x.size).fill(1);
    g.forward(train);
    return { a: get(y1), b: get(y2), x, y1, g };
  }

  test('a shard (sync.row0) draws its rows of the whole batch mask; layers and seeds draw different masks', () => {
    const mark = core.arena.mark();
    try {
      const whole = masks(4, 31, null);
      const shard = masks(2, 31, { batch: 4, leader: false, row0: 2, allReduce: () => {} });
      const half = whole.a.length / 2;
      expect(Array.from(shard.a)).toEqual(Array.from(whole.a.subarray(half)));
      expect(Array.from(shard.b)).toEqual(Array.from(whole.b.subarray(half)));
      // kept values are scaled by 1 / (1 - p) = 2; about half are dropped
      expect(new Set(whole.a)).toEqual(new Set([0, 2]));
      const kept = whole.a.filter((v) => v === 2).length / whole.a.length;
      expect(kept).toBeGreaterThan(0.35);
      expect(kept).toBeLessThan(0.65);
      expect(Array.from(whole.a)).not.toEqual(Array.from(whole.b));
      expect(Array.from(masks(4, 32, null).a)).not.toEqual(Array.from(whole.a));
      expect(Array.from(masks(4, 31, null).a)).toEqual(Array.from(whole.a));
      // a graph's own row0 (a step running it on another part of the batch) overrides the shard's
      const own = masks(2, 31, { batch: 4, leader: false, row0: 0, allReduce: () => {} });
      own.g.row0 = 2;
      own.g.forward(true);
      expect(Array.from(get(own.y1))).toEqual(Array.from(whole.a.subarray(half)));
      expect(dropoutLayerSeed(31, 1)).toBe((31 ^ Math.imul(2, 0x85ebca6b)) >>> 0);
    } finally {
      core.arena.reset(mark);
    }
  });

  test('eval mode is the identity, forward and backward', () => {
    const mark = core.arena.mark();
    try {
      const { a, b, x, y1, g } = masks(2, 7, null, false);
      expect(Array.from(a)).toEqual(new Array(a.length).fill(1));
      expect(Array.from(b)).toEqual(new Array(b.length).fill(1));
      g.backwardFrom(() => core.f32(y1.grad, y1.size).fill(3));
      expect(new Set(get(x, true))).toEqual(new Set([3]));
    } finally {
      core.arena.reset(mark);
    }
  });
});

describe('errors name the layer', () => {
  test('convT output view, tile shapes, norm without a norm, dropout p', () => {
    const mark = core.arena.mark();
    try {
      const g = new Graph(core, 'net');
      const b = new GraphBuilder(g);
      const x = b.input('x', 1, 3, 3, 4);
      expect(() => new ConvTranspose2d(g, 'up', x, 5, { k: 4, stride: 2, pad: 1, bias: false, out: b.tensor('o', 1, 5, 5, 5) }))
        .toThrow(/up: output tensor net\.o is \(1, 5, 5, 5\), expected \(1, 6, 6, 5\)/);
      expect(() => b.tile('t', x, b.tensor('o2', 1, 3, 3, 4))).toThrow(/t: cannot tile net\.x \(1, 3, 3, 4\) over net\.o2/);
      expect(() => b.norm('n', x, { act: 'relu' })).toThrow(/n: norm needs bn or instanceNorm/);
      expect(() => b.conv('c', x, 2, { k: 3, stride: 1, pad: 1, bias: false, bn: { name: 'c.bn', eps: 1e-5 }, instanceNorm: { eps: 1e-5 } })).toThrow(/c: a block has BatchNorm or InstanceNorm, not both/);
      expect(() => new Dropout(g, 'd', x, 1)).toThrow(/d: dropout probability must be in \[0, 1\), got 1/);
    } finally {
      core.arena.reset(mark);
    }
  });
});
