// UpsampleConv2d (the fused upsample x2 + 3x3 conv) against the two layers it replaces, Upsample2x + Conv2d,
// on small graphs with the same weights: forward output, input gradient, weight and bias gradients agree to
// float rounding; the parameters have the same names, shapes and layouts, so one state_dict fits both.
import { beforeAll, describe, expect, test } from 'vitest';
import { loadCore } from '../src/core/load-node.js';
import type { Core } from '../src/core/loader.js';
import { Graph, type Tensor } from '../src/nn/graph.js';
import { Conv2d } from '../src/nn/conv2d.js';
import { Upsample2x } from '../src/nn/pool.js';
import { UpsampleConv2d } from '../src/nn/upconv.js';
import { Generator } from '../src/models/generator.js';
import { DEFAULT_MODEL } from '../src/models/config.js';
import { mulberry32, normal } from './helpers/rng.js';

let core: Core;
beforeAll(async () => {
  core = await loadCore({ build: 'simd' });
});

interface Shape { N: number; H: number; W: number; C: number; OC: number; bias: boolean; slices?: boolean; fwd?: 'phases' | 'split' | 'parts'; bwdIn?: 'box' | 'split'; bwdW?: 'box' | 'split' }

/** One network: x (a channel slice of a wider input when `slices`) -> y, written into a slice of a concat when `slices`. */
function build(sh: Shape, fused: boolean) {
  const g = new Graph(core, fused ? 'fused' : 'separate');
  const { N, H, W, C, OC } = sh;
  const input = g.tensor(N, H, W, sh.slices ? C + 3 : C, 'input');
  const x: Tensor = sh.slices ? g.slice(input, 2, C, 'x') : input;
  const cat = sh.slices ? g.tensor(N, 2 * H, 2 * W, OC + 5, 'cat') : null;
  const out = cat ? g.slice(cat, 5, OC, 'y') : undefined;
  let y: Tensor;
  if (fused) {
    const up = new UpsampleConv2d(g, 'up.model.1', x, OC, { bias: sh.bias, out });
    expect(up.fwd, 'the forward kernel the dispatch picks').toBe(sh.fwd ?? 'phases');
    expect(up.bwdIn, 'the backward-input kernel the dispatch picks').toBe(sh.bwdIn ?? 'box');
    expect(up.bwdW, 'the backward-weight kernel the dispatch picks').toBe(sh.bwdW ?? 'box');
    y = up.y;
  } else {
    const u = new Upsample2x(g, 'up.model.0', x);
    y = new Conv2d(g, 'up.model.1', u.y, OC, { k: 3, stride: 1, pad: 1, bias: sh.bias, out }).y;
  }
  g.finalize();
  return { g, input, y, cat };
}

function run(sh: Shape, fused: boolean) {
  const { g, input, y, cat } = build(sh, fused);
  const rnd = mulberry32(7);
  const fill = (a: Float32Array, s = 1) => a.forEach((_, i) => (a[i] = s * normal(rnd)));
  fill(core.f32(input.ptr, input.size));
  for (const e of g.store.entries) fill(g.store.view(e), e.name.endsWith('bias') ? 0.1 : 1 / Math.sqrt(9 * sh.C));
  if (cat) core.f32(cat.ptr, cat.size).fill(0); // its other channels are nobody's output here
  g.forward(true);
  g.zeroActivationGrads();
  g.store.zeroGrads();
  const whole = cat ?? y;
  fill(core.f32(whole.buf.grad, whole.size)); // the upstream gradient (the concat's other channels too)
  g.backward(true);
  const res = {
    names: g.store.entries.map((e) => `${e.name} ${e.shape.join('x')} ${e.layout}`),
    y: core.f32(whole.ptr, whole.size).slice(),
    dx: core.f32(input.grad, input.size).slice(),
    params: g.store.entries.map((e) => g.store.toTorch(e, 'grad')),
  };
  return res;
}

function close(got: Float32Array, want: Float32Array, what: string): void {
  expect(got.length, what).toBe(want.length);
  let scale = 0;
  for (const v of want) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (!(d <= 2e-6 * scale + 1e-5 * Math.abs(want[i]))) {
      throw new Error(`${what}[${i}]: fused ${got[i]}, upsample + conv ${want[i]} (|diff| ${d.toExponential(2)}, scale ${scale.toExponential(2)})`);
    }
  }
}

describe('UpsampleConv2d equals Upsample2x + Conv2d', () => {
  const shapes: Shape[] = [
    // up to 32 x pixels and more than 4 output channels: the parity parts on w's own taps
    { N: 2, H: 3, W: 5, C: 6, OC: 7, bias: true, fwd: 'parts' },
    { N: 1, H: 1, W: 1, C: 20, OC: 16, bias: false, fwd: 'parts' },
    { N: 32, H: 1, W: 1, C: 8, OC: 5, bias: true, fwd: 'parts' },
    { N: 2, H: 4, W: 3, C: 24, OC: 19, bias: true, slices: true, fwd: 'parts' },
    { N: 2, H: 4, W: 4, C: 128, OC: 24, bias: true, fwd: 'parts' },
    // 1-4 output channels: the narrow phases (up to 8 low-res pixels the small-image path)
    { N: 1, H: 2, W: 2, C: 3, OC: 4, bias: true, slices: true },
    { N: 2, H: 5, W: 4, C: 16, OC: 3, bias: true },
    // past 32 x pixels, with fewer than 16 channels or 1-pixel rows: the fused phases
    { N: 3, H: 9, W: 9, C: 6, OC: 7, bias: true },
    { N: 40, H: 1, W: 4, C: 20, OC: 16, bias: false, slices: true },
    // past 32 x pixels and >= 16 channels each side: the forward with the taps split by parity
    { N: 3, H: 4, W: 4, C: 128, OC: 24, bias: true, fwd: 'split' },
    { N: 1, H: 32, W: 30, C: 16, OC: 40, bias: true, slices: true, fwd: 'split' },
    { N: 3, H: 15, W: 13, C: 17, OC: 33, bias: false, fwd: 'split' },
    // >= 128 x pixels and >= 128 input channels: the backward-input split too (an odd width: a half tile); >= 256
    // pixels and channels: all three passes
    { N: 2, H: 8, W: 9, C: 128, OC: 20, bias: true, slices: true, fwd: 'split', bwdIn: 'split' },
    { N: 1, H: 16, W: 17, C: 256, OC: 18, bias: true, slices: true, fwd: 'split', bwdIn: 'split', bwdW: 'split' },
  ];
  for (const sh of shapes) {
    test(`N${sh.N} ${sh.H}x${sh.W}x${sh.C} -> ${sh.OC}${sh.bias ? ' bias' : ''}${sh.slices ? ', channel-slice input and output' : ''}`, () => {
      const mark = core.arena.mark();
      try {
        const a = run(sh, true);
        const b = run(sh, false);
        expect(a.names).toEqual(b.names); // same state_dict names, shapes and layouts
        close(a.y, b.y, 'y');
        close(a.dx, b.dx, 'dx');
        a.params.forEach((p, i) => close(p, b.params[i], `grad of ${a.names[i]}`));
      } finally {
        core.arena.reset(mark);
      }
    });
  }

  test('a wrong output tensor is an error naming the layer', () => {
    const g = new Graph(core, 'net');
    const x = g.tensor(1, 3, 3, 4, 'x');
    expect(() => new UpsampleConv2d(g, 'up', x, 5, { bias: false, out: g.tensor(1, 3, 3, 5, 'z') }))
      .toThrow(/up: output tensor net\.z is \(1, 3, 3, 5\), expected \(1, 6, 6, 5\)/);
  });
});

describe('the pytorch-gan generator', () => {
  test('runs up1..up6 and final as fused layers, under the PyTorch names, storing no upsampled tensor', () => {
    const mark = core.arena.mark();
    try {
      const G = new Generator(core, { ...DEFAULT_MODEL, gBase: 2 }, 2);
      const ups = G.g.layers.filter((l) => l instanceof UpsampleConv2d).map((l) => l.name);
      expect(ups).toEqual(['up1.model.1', 'up2.model.1', 'up3.model.1', 'up4.model.1', 'up5.model.1', 'up6.model.1', 'final.1']);
      expect(G.g.layers.some((l) => l instanceof Upsample2x)).toBe(false);
      const names = G.g.store.entries.map((e) => e.name);
      for (const n of ['up1.model.1.weight', 'up6.model.1.weight', 'final.1.weight', 'final.1.bias']) expect(names).toContain(n);
      expect(names.filter((n) => /^up\d\.model\.1\.bias$/.test(n))).toEqual([]);
    } finally {
      core.arena.reset(mark);
    }
  });
});
