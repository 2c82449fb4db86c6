// Winograd F(2x2, 3x3) (assembly/winograd.ts) and the stride-2 phase F(2x2, 2x2) (assembly/winograd_s2.ts) against
// the direct conv (conv2d.ts, k3 s1 p1 / k4 s2 p1) on the shapes the op table's small cases cannot reach: the
// encoder's ResNet layers and the discriminators' layers at batch 1-2 (several tile chunks, full register tiles),
// odd sizes with channel tails and channel slices, the scratch sized exactly by winograd*_scratch_size with a
// canary right after it. Tolerance: f32 rounding of the transforms (max |difference| / max |direct| measured
// 4e-7 .. 3e-6 at fan-ins up to 2048, bench/kernels.bench.ts).
// Also the dispatch rule, and that a Conv2d layer of a winning shape runs the Winograd kernels.
import { beforeAll, describe, expect, test } from 'vitest';
import { loadCore } from '../src/core/load-node.js';
import type { Core } from '../src/core/loader.js';
import { convKernels, splitS2Wins, upconvBackwardInput, upconvBackwardWeight, upconvForward, winograd3Wins, winogradS2F4Wins, winogradS2Wins } from '../src/core/conv-dispatch.js';
import { mulberry32 } from './helpers/rng.js';

let core: Core;
beforeAll(async () => { core = await loadCore({ build: 'simd' }); });

const GUARD = 256;

// |a - b| <= atol + rtol * max|b| over the tensor (differences scale with the sums' magnitude, not per element)
function maxRelDiff(a: Float32Array, b: Float32Array): number {
  let d = 0, m = 0;
  for (let i = 0; i < a.length; i++) { d = Math.max(d, Math.abs(a[i] - b[i])); m = Math.max(m, Math.abs(b[i])); }
  return d / Math.max(m, 1e-30);
}

const SHAPES: Array<{ N: number; H: number; W: number; C: number; OC: number; ldx?: number; ldy?: number }> = [
  { N: 1, H: 32, W: 32, C: 64, OC: 64 }, // resnet layer1 (4 chunks)
  { N: 2, H: 16, W: 16, C: 128, OC: 128 }, // resnet layer2
  { N: 1, H: 8, W: 8, C: 256, OC: 256 }, // resnet layer3
  { N: 3, H: 15, W: 13, C: 37, OC: 45, ldx: 40, ldy: 50 },
  { N: 1, H: 9, W: 31, C: 6, OC: 70 },
  { N: 2, H: 11, W: 7, C: 70, OC: 3, ldy: 5 },
];

// the discriminators' 4x4 stride-2 layers (128 px, batch 1 and 2), odd sizes, tails, slices
const S2_SHAPES: typeof SHAPES = [
  { N: 1, H: 64, W: 64, C: 64, OC: 128 }, // patchgan.s0.conv2
  { N: 2, H: 32, W: 32, C: 128, OC: 256 }, // patchgan.s0.conv3
  { N: 1, H: 16, W: 16, C: 256, OC: 512 }, // patchgan.s0.conv4
  { N: 3, H: 15, W: 13, C: 37, OC: 45, ldx: 40, ldy: 50 },
  { N: 1, H: 9, W: 31, C: 6, OC: 70 },
  { N: 2, H: 11, W: 7, C: 70, OC: 3, ldy: 5 },
  { N: 2, H: 10, W: 18, C: 44, OC: 36, ldx: 48 }, // half a panel of padding per phase in backward-input's U
  { N: 1, H: 8, W: 6, C: 130, OC: 250, ldy: 256 }, // forward and backward-weight in groups of 216 + 34 output channels
];

// F(4x4, 2x2) on the phases (assembly/winograd_s2f4.ts) on the same 4x4 stride-2 shapes, plus ones of several tile
// chunks, output channel groups (25 4 c4(C) c8(OC) > 2^21 floats) and blocks that overhang the image.
const S2F4_SHAPES: typeof SHAPES = [
  ...S2_SHAPES,
  { N: 8, H: 16, W: 16, C: 256, OC: 512 }, // patchgan.s0.conv4 at batch 8 (groups of 80 output channels)
  { N: 2, H: 36, W: 20, C: 33, OC: 17, ldx: 36, ldy: 20 }, // several chunks of tiles, tails everywhere
  { N: 1, H: 6, W: 4, C: 8, OC: 8 }, // one tile, mostly padding
];
type Variant = 'winograd3' | 'winograd_s2' | 'winograd_s2f4';
const TITLE: Record<Variant, string> = { winograd3: 'winograd3 vs the direct 3x3', winograd_s2: 'winograd_s2 vs the direct 4x4 stride-2', winograd_s2f4: 'winograd_s2f4 vs the direct 4x4 stride-2' };
const TOL: Record<Variant, number> = { winograd3: 5e-6, winograd_s2: 5e-6, winograd_s2f4: 2e-5 };
for (const v of ['winograd3', 'winograd_s2', 'winograd_s2f4'] as Variant[]) describe(`${TITLE[v]} conv`, () => {
  const s2 = v !== 'winograd3';
  for (const sh of v === 'winograd_s2f4' ? S2F4_SHAPES : s2 ? S2_SHAPES : SHAPES) {
    const { N, H, W, C, OC } = sh;
    const ldx = sh.ldx ?? C, ldy = sh.ldy ?? OC;
    const [K, st] = s2 ? [4, 2] : [3, 1];
    const OH = s2 ? Math.floor((H - 2) / 2) + 1 : H, OW = s2 ? Math.floor((W - 2) / 2) + 1 : W;
    test(`N${N} ${H}x${W}x${C}(ld${ldx}) -> ${OH}x${OW}x${OC}(ld${ldy})`, () => {
      const k = core.k, a = core.arena, mark = a.mark();
      const rnd = mulberry32(H * 1000 + C);
      const X = N * H * W * ldx, Y = N * OH * OW * ldy, Wn = K * K * C * OC;
      const kk = k as unknown as Record<string, (...a: number[]) => number>;
      const S = kk[`${v}_scratch_size`](N, H, W, C, OC);
      expect(kk[`${v}_forward_scratch_size`](N, H, W, C, OC)).toBeLessThanOrEqual(S);
      const [wf, wbi, wbw] = [kk[`${v}_forward`], kk[`${v}_backward_input`], kk[`${v}_backward_weight`]];
      const p = { x: a.alloc(X), w: a.alloc(Wn), b: a.alloc(OC), y: a.alloc(Y), y2: a.alloc(Y), dy: a.alloc(Y), dx: a.alloc(X), dx2: a.alloc(X),
        dw: a.alloc(Wn), dw2: a.alloc(Wn), db: a.alloc(OC), db2: a.alloc(OC), sc: a.alloc(Math.max(S, k.conv2d_scratch_size(N, H, W, C, OC, K, K, st, 1)) + GUARD) };
      const fill = (q: number, n: number, s = 1) => { const v = core.f32(q, n); for (let i = 0; i < n; i++) v[i] = (rnd() * 2 - 1) * s; };
      fill(p.x, X); fill(p.w, Wn, 1 / Math.sqrt(K * K * C)); fill(p.b, OC); fill(p.dy, Y);
      for (const q of [p.y, p.y2]) core.f32(q, Y).fill(7);
      for (const [q, n] of [[p.dx, X], [p.dx2, X], [p.dw, Wn], [p.dw2, Wn], [p.db, OC], [p.db2, OC]]) core.f32(q, n).fill(0.5); // passes accumulate // untouched lanes of the channel slices must stay
      // each pass within the scratch it declares (a layer asks only for the passes it runs): the guard right after it
      const own = s2 ? { forward: kk[`${v}_forward_scratch_size`](N, H, W, C, OC), 'backward-input': kk[`${v}_backward_input_scratch_size`](N, H, W, C, OC),
        'backward-weight': kk[`${v}_backward_weight_scratch_size`](N, H, W, C, OC) } : { forward: S, 'backward-input': S, 'backward-weight': S };
      type Pass = keyof typeof own;
      for (const n of Object.values(own)) expect(n).toBeLessThanOrEqual(S);
      const canary = (what: Pass) => core.f32(p.sc + own[what] * 4, GUARD).fill(12345);
      const intact = (what: Pass) => expect(core.f32(p.sc + own[what] * 4, GUARD).every((v) => v === 12345), `${what} wrote past its scratch`).toBe(true);
      k.conv2d_forward(p.y, p.x, p.w, p.b, p.sc, N, H, W, C, OC, K, K, st, 1, ldy, ldx);
      k.conv2d_backward_input(p.dx, p.dy, p.w, p.sc, N, H, W, C, OC, K, K, st, 1, ldx, ldy);
      k.conv2d_backward_weight(p.dw, p.db, p.dy, p.x, p.sc, N, H, W, C, OC, K, K, st, 1, ldy, ldx);
      canary('forward'); wf(p.y2, p.x, p.w, p.b, p.sc, N, H, W, C, OC, ldy, ldx); intact('forward');
      canary('backward-input'); wbi(p.dx2, p.dy, p.w, p.sc, N, H, W, C, OC, ldx, ldy); intact('backward-input');
      canary('backward-weight'); wbw(p.dw2, p.db2, p.dy, p.x, p.sc, N, H, W, C, OC, ldy, ldx); intact('backward-weight');
      const f = (q: number, n: number) => core.f32(q, n).slice();
      expect(maxRelDiff(f(p.y2, Y), f(p.y, Y)), 'y').toBeLessThan(TOL[v]);
      expect(maxRelDiff(f(p.dx2, X), f(p.dx, X)), 'dx').toBeLessThan(TOL[v]);
      expect(maxRelDiff(f(p.dw2, Wn), f(p.dw, Wn)), 'dw').toBeLessThan(TOL[v]);
      expect(maxRelDiff(f(p.db2, OC), f(p.db, OC)), 'db').toBeLessThan(1e-6);
      a.reset(mark);
    });
  }
});

// The 3x3 stride-2 pad-1 conv with its taps split by parity (assembly/conv3s2_split.ts) against the direct conv: the
// generator's down2..down5 at 128 px (down2: 2 tile chunks), the encoder's strided convs, odd sizes (a last tile
// with one output row or column, H odd: its last E tap reads the padding), channel tails and slices; the forward on
// U made per call (in groups of output channels at 130 -> 250) and once (upconv_split_pack: bit-identical), and the
// forward with F(4, 2) on the E parts on its own U (split4_pack, assembly/winograd_split4.ts: inference).
const DOWN_SHAPES: typeof SHAPES = [
  { N: 1, H: 64, W: 64, C: 64, OC: 128 }, // unet.down2
  { N: 2, H: 32, W: 32, C: 128, OC: 256 }, // unet.down3 at batch 2
  { N: 1, H: 16, W: 16, C: 256, OC: 512 }, // unet.down4
  { N: 1, H: 8, W: 8, C: 512, OC: 512 }, // unet.down5
  { N: 3, H: 15, W: 13, C: 37, OC: 45, ldx: 40, ldy: 50 },
  { N: 1, H: 9, W: 31, C: 6, OC: 70 },
  { N: 2, H: 11, W: 7, C: 70, OC: 3, ldy: 5 },
  { N: 1, H: 8, W: 6, C: 130, OC: 250, ldy: 256 },
];

describe('conv3s2_split vs the direct 3x3 stride-2 conv', () => {
  for (const sh of DOWN_SHAPES) {
    const { N, H, W, C, OC } = sh;
    const ldx = sh.ldx ?? C, ldy = sh.ldy ?? OC, OH = Math.ceil(H / 2), OW = Math.ceil(W / 2);
    test(`N${N} ${H}x${W}x${C}(ld${ldx}) -> ${OH}x${OW}x${OC}(ld${ldy})`, () => {
      const k = core.k, a = core.arena, mark = a.mark();
      const rnd = mulberry32(H * 1000 + C + 3);
      const X = N * H * W * ldx, Y = N * OH * OW * ldy, Wn = 9 * C * OC, Un = k.upconv_split_packed_size(C, OC);
      const own = { forward: k.conv3s2_split_forward_scratch_size(N, H, W, C, OC), packed: k.conv3s2_split_packed_scratch_size(N, H, W, C, OC),
        'backward-weight': k.conv3s2_split_backward_weight_scratch_size(N, H, W, C, OC), 'F(4, 2)': k.conv3s2_split4_packed_scratch_size(N, H, W, C, OC) };
      const S = Math.max(...Object.values(own), k.conv2d_scratch_size(N, H, W, C, OC, 3, 3, 2, 1));
      const p = { x: a.alloc(X), w: a.alloc(Wn), b: a.alloc(OC), y: a.alloc(Y), y2: a.alloc(Y), y3: a.alloc(Y), y4: a.alloc(Y), dy: a.alloc(Y), U: a.alloc(Un),
        U4: a.alloc(k.split4_packed_size(C, OC)), dw: a.alloc(Wn), dw2: a.alloc(Wn), db: a.alloc(OC), db2: a.alloc(OC), sc: a.alloc(S + GUARD) };
      const fill = (q: number, n: number, s = 1) => { const v = core.f32(q, n); for (let i = 0; i < n; i++) v[i] = (rnd() * 2 - 1) * s; };
      fill(p.x, X); fill(p.w, Wn, 1 / Math.sqrt(9 * C)); fill(p.b, OC); fill(p.dy, Y);
      for (const q of [p.y, p.y2, p.y3, p.y4]) core.f32(q, Y).fill(7); // untouched lanes of the channel slices must stay
      for (const [q, n] of [[p.dw, Wn], [p.dw2, Wn], [p.db, OC], [p.db2, OC]]) core.f32(q, n).fill(0.5); // accumulated
      type Pass = keyof typeof own;
      const canary = (what: Pass) => core.f32(p.sc + own[what] * 4, GUARD).fill(12345);
      const intact = (what: Pass) => expect(core.f32(p.sc + own[what] * 4, GUARD).every((v) => v === 12345), `${what} wrote past its scratch`).toBe(true);
      k.conv2d_forward(p.y, p.x, p.w, p.b, p.sc, N, H, W, C, OC, 3, 3, 2, 1, ldy, ldx);
      k.conv2d_backward_weight(p.dw, p.db, p.dy, p.x, p.sc, N, H, W, C, OC, 3, 3, 2, 1, ldy, ldx);
      canary('forward'); k.conv3s2_split_forward(p.y2, p.x, p.w, p.b, p.sc, N, H, W, C, OC, ldy, ldx); intact('forward');
      k.upconv_split_pack(p.U, p.w, p.sc, C, OC, OC, 0);
      canary('packed'); k.conv3s2_split_forward_packed(p.y3, p.x, p.U, p.b, p.sc, N, H, W, C, OC, ldy, ldx); intact('packed');
      k.split4_pack(p.U4, p.w, p.sc, C, OC, OC, 0);
      canary('F(4, 2)'); k.conv3s2_split4_forward_packed(p.y4, p.x, p.U4, p.b, p.sc, N, H, W, C, OC, ldy, ldx); intact('F(4, 2)');
      canary('backward-weight'); k.conv3s2_split_backward_weight(p.dw2, p.db2, p.dy, p.x, p.sc, N, H, W, C, OC, ldy, ldx); intact('backward-weight');
      const f = (q: number, n: number) => core.f32(q, n).slice();
      expect(maxRelDiff(f(p.y2, Y), f(p.y, Y)), 'y').toBeLessThan(5e-6);
      expect(f(p.y3, Y)).toEqual(f(p.y2, Y));
      expect(maxRelDiff(f(p.y4, Y), f(p.y, Y)), 'y by F(4, 2)').toBeLessThan(1e-5); // measured up to 3.9e-6
      expect(maxRelDiff(f(p.dw2, Wn), f(p.dw, Wn)), 'dw').toBeLessThan(5e-6);
      expect(maxRelDiff(f(p.db2, OC), f(p.db, OC)), 'db').toBeLessThan(1e-6);
      a.reset(mark);
    });
  }
});

// The fused upsample + 3x3 conv's forward with the taps split by parity (assembly/winograd_split.ts) against its phase
// GEMMs (upconv.ts): the generator's up3..up6 at 128 px (2 tile chunks at up6), odd sizes (a tile with one E row or
// column and no P), channel tails and slices; the weights transformed per call and once (upconv_split_pack:
// bit-identical); and with F(4, 2) on the E parts (split4_pack + upconv_split4_forward_packed: a last tile of one E
// row at H = 4k, of E rows and P rows past the image otherwise).
const UP_SHAPES: typeof SHAPES = [
  { N: 1, H: 32, W: 32, C: 256, OC: 64 }, // unet.up6 (289 tiles: 2 chunks)
  { N: 2, H: 16, W: 16, C: 512, OC: 128 }, // unet.up5 at batch 2
  { N: 1, H: 8, W: 8, C: 1024, OC: 256 }, // unet.up4
  { N: 1, H: 4, W: 4, C: 1024, OC: 512 }, // unet.up3
  { N: 1, H: 2, W: 2, C: 1024, OC: 512 }, // unet.up2
  { N: 3, H: 15, W: 13, C: 37, OC: 45, ldx: 40, ldy: 50 },
  { N: 1, H: 9, W: 31, C: 6, OC: 70 },
  { N: 2, H: 11, W: 7, C: 70, OC: 3, ldy: 5 },
];

describe('upconv_split_forward vs the fused phases (upconv_forward)', () => {
  for (const sh of UP_SHAPES) {
    const { N, H, W, C, OC } = sh;
    const ldx = sh.ldx ?? C, ldy = sh.ldy ?? OC;
    test(`N${N} ${H}x${W}x${C}(ld${ldx}) -> ${2 * H}x${2 * W}x${OC}(ld${ldy})`, () => {
      const k = core.k, a = core.arena, mark = a.mark();
      const rnd = mulberry32(H * 1000 + C);
      const X = N * H * W * ldx, Y = N * 4 * H * W * ldy, Wn = 9 * C * OC, Un = k.upconv_split_packed_size(C, OC);
      const S = k.upconv_split_forward_scratch_size(N, H, W, C, OC);
      const S4 = k.upconv_split4_packed_scratch_size(N, H, W, C, OC);
      const p = { x: a.alloc(X), w: a.alloc(Wn), b: a.alloc(OC), y: a.alloc(Y), y2: a.alloc(Y), y3: a.alloc(Y), y4: a.alloc(Y), U: a.alloc(Un), U4: a.alloc(k.split4_packed_size(C, OC)),
        sc: a.alloc(Math.max(S, S4, k.upconv_split_packed_scratch_size(N, H, W, C, OC), k.upconv_forward_scratch_size(N, H, W, C, OC)) + GUARD) };
      const fill = (q: number, n: number, s = 1) => { const v = core.f32(q, n); for (let i = 0; i < n; i++) v[i] = (rnd() * 2 - 1) * s; };
      fill(p.x, X); fill(p.w, Wn, 1 / Math.sqrt(9 * C)); fill(p.b, OC);
      for (const q of [p.y, p.y2, p.y3, p.y4]) core.f32(q, Y).fill(7); // untouched lanes of the channel slices must stay
      const canary = () => core.f32(p.sc + S * 4, GUARD).fill(12345);
      const intact = (what: string) => expect(core.f32(p.sc + S * 4, GUARD).every((v) => v === 12345), `${what} wrote past its scratch`).toBe(true);
      k.upconv_forward(p.y, p.x, p.w, p.b, p.sc, N, H, W, C, OC, ldy, ldx);
      canary(); k.upconv_split_forward(p.y2, p.x, p.w, p.b, p.sc, N, H, W, C, OC, ldy, ldx); intact('upconv_split_forward');
      k.upconv_split_pack(p.U, p.w, p.sc, C, OC, OC, 0);
      const PS = k.upconv_split_packed_scratch_size(N, H, W, C, OC);
      core.f32(p.sc + PS * 4, GUARD).fill(12345);
      k.upconv_split_forward_packed(p.y3, p.x, p.U, p.b, p.sc, N, H, W, C, OC, ldy, ldx);
      expect(core.f32(p.sc + PS * 4, GUARD).every((v) => v === 12345), 'upconv_split_forward_packed wrote past its scratch').toBe(true);
      k.split4_pack(p.U4, p.w, p.sc, C, OC, OC, 0);
      core.f32(p.sc + S4 * 4, GUARD).fill(12345);
      k.upconv_split4_forward_packed(p.y4, p.x, p.U4, p.b, p.sc, N, H, W, C, OC, ldy, ldx);
      expect(core.f32(p.sc + S4 * 4, GUARD).every((v) => v === 12345), 'upconv_split4_forward_packed wrote past its scratch').toBe(true);
      const f = (q: number) => core.f32(q, Y).slice();
      expect(maxRelDiff(f(p.y2), f(p.y)), 'y').toBeLessThan(5e-6);
      expect(maxRelDiff(f(p.y4), f(p.y)), 'y by F(4, 2)').toBeLessThan(1e-5); // measured up to 5.5e-6 (F(2, 2): 3.3e-6)
      expect(f(p.y3)).toEqual(f(p.y2));
      a.reset(mark);
    });
  }
});

// The backward-input with the taps split by parity against upconv.ts's box sums on the same shapes: accumulated into
// a dx that already holds values, the channel slices' other lanes untouched, nothing written past its scratch.
describe('upconv_split_backward_input vs the box sums (upconv_backward_input)', () => {
  for (const sh of UP_SHAPES) {
    const { N, H, W, C, OC } = sh;
    const ldx = sh.ldx ?? C, ldy = sh.ldy ?? OC;
    test(`N${N} ${H}x${W}x${C}(ld${ldx}) <- ${2 * H}x${2 * W}x${OC}(ld${ldy})`, () => {
      const k = core.k, a = core.arena, mark = a.mark();
      const rnd = mulberry32(H * 1000 + C + 7);
      const X = N * H * W * ldx, Y = N * 4 * H * W * ldy, Wn = 9 * C * OC;
      const S = k.upconv_split_scratch_size(N, H, W, C, OC);
      const p = { dy: a.alloc(Y), w: a.alloc(Wn), dx: a.alloc(X), dx2: a.alloc(X), sc: a.alloc(Math.max(S, k.upconv_scratch_size(N, H, W, C, OC)) + GUARD) };
      const fill = (q: number, n: number, s = 1) => { const v = core.f32(q, n); for (let i = 0; i < n; i++) v[i] = (rnd() * 2 - 1) * s; };
      fill(p.dy, Y); fill(p.w, Wn, 1 / Math.sqrt(9 * C)); fill(p.dx, X);
      core.f32(p.dx2, X).set(core.f32(p.dx, X));
      k.upconv_backward_input(p.dx, p.dy, p.w, p.sc, N, H, W, C, OC, ldx, ldy);
      core.f32(p.sc + S * 4, GUARD).fill(12345);
      k.upconv_split_backward_input(p.dx2, p.dy, p.w, p.sc, N, H, W, C, OC, ldx, ldy);
      expect(core.f32(p.sc + S * 4, GUARD).every((v) => v === 12345), 'upconv_split_backward_input wrote past its scratch').toBe(true);
      expect(maxRelDiff(core.f32(p.dx2, X).slice(), core.f32(p.dx, X).slice()), 'dx').toBeLessThan(5e-6);
      a.reset(mark);
    });
  }
});

// The backward-weight with the taps split by parity against the box sums' (upconv_backward_weight), accumulated into
// dw and db that already hold values.
describe('upconv_split_backward_weight vs the box sums (upconv_backward_weight)', () => {
  for (const sh of UP_SHAPES) {
    const { N, H, W, C, OC } = sh;
    const ldx = sh.ldx ?? C, ldy = sh.ldy ?? OC;
    test(`N${N} ${H}x${W}x${C}(ld${ldx}) -> ${2 * H}x${2 * W}x${OC}(ld${ldy})`, () => {
      const k = core.k, a = core.arena, mark = a.mark();
      const rnd = mulberry32(H * 1000 + C + 11);
      const X = N * H * W * ldx, Y = N * 4 * H * W * ldy, Wn = 9 * C * OC;
      const S = k.upconv_split_scratch_size(N, H, W, C, OC);
      const p = { dy: a.alloc(Y), x: a.alloc(X), dw: a.alloc(Wn), dw2: a.alloc(Wn), db: a.alloc(OC), db2: a.alloc(OC), sc: a.alloc(Math.max(S, k.upconv_scratch_size(N, H, W, C, OC)) + GUARD) };
      const fill = (q: number, n: number, s = 1) => { const v = core.f32(q, n); for (let i = 0; i < n; i++) v[i] = (rnd() * 2 - 1) * s; };
      fill(p.dy, Y); fill(p.x, X); fill(p.dw, Wn); fill(p.db, OC);
      core.f32(p.dw2, Wn).set(core.f32(p.dw, Wn)); core.f32(p.db2, OC).set(core.f32(p.db, OC));
      k.upconv_backward_weight(p.dw, p.db, p.dy, p.x, p.sc, N, H, W, C, OC, ldy, ldx);
      core.f32(p.sc + S * 4, GUARD).fill(12345);
      k.upconv_split_backward_weight(p.dw2, p.db2, p.dy, p.x, p.sc, N, H, W, C, OC, ldy, ldx);
      expect(core.f32(p.sc + S * 4, GUARD).every((v) => v === 12345), 'upconv_split_backward_weight wrote past its scratch').toBe(true);
      expect(maxRelDiff(core.f32(p.dw2, Wn).slice(), core.f32(p.dw, Wn).slice()), 'dw').toBeLessThan(5e-6);
      expect(core.f32(p.db2, OC).slice()).toEqual(core.f32(p.db, OC).slice());
      a.reset(mark);
    });
  }
});

// A layer stored in chunks of output channels is packed chunk by chunk into one U (src/infer: the forward then
// runs once per layer): the parts must give the whole pack's bytes, SIMD and reference, tail chunk included.
test('upconv_split_pack in output-channel parts (c0, OCt) = the whole pack, SIMD and reference', () => {
  const k = core.k, a = core.arena, mark = a.mark();
  const C = 13, OCt = 45, rnd = mulberry32(45);
  const w = a.alloc(9 * C * OCt), part = a.alloc(9 * C * OCt), sc = a.alloc(256), n = k.upconv_split_packed_size(C, OCt);
  core.f32(w, 9 * C * OCt).set(Array.from({ length: 9 * C * OCt }, () => rnd() * 2 - 1));
  for (const [pack, name] of [[k.upconv_split_pack, 'simd'], [k.ref_upconv_split_pack, 'reference']] as const) {
    const whole = a.alloc(n), parts = a.alloc(n);
    core.f32(whole, n).fill(7); core.f32(parts, n).fill(9);
    pack(whole, w, sc, C, OCt, OCt, 0);
    for (const [c0, m] of [[0, 16], [16, 8], [24, 21]]) {
      // the chunk's [3][3][C][m] weights, as a stored chunk holds them
      const src = core.f32(w, 9 * C * OCt), dst = core.f32(part, 9 * C * m);
      for (let t = 0; t < 9 * C; t++) for (let o = 0; o < m; o++) dst[t * m + o] = src[t * OCt + c0 + o];
      pack(parts, part, sc, C, m, OCt, c0);
    }
    expect(core.f32(parts, n).slice(), name).toEqual(core.f32(whole, n).slice());
  }
  a.reset(mark);
});

test('upconvForward: per call the parts on w\'s own taps up to 32 x pixels, then the split taps from 16 channels each side; on packed weights w\'s taps in panels up to 16 x pixels, then the split', () => {
  expect(upconvForward(1, 32, 32, 256, 64)).toBe('split'); // up6 at 128 px
  expect(upconvForward(1, 16, 16, 512, 128)).toBe('split'); // up5
  expect(upconvForward(1, 8, 8, 1024, 256)).toBe('split'); // up4 per call at batch 1: 64 x pixels
  expect(upconvForward(1, 4, 4, 1024, 512)).toBe('parts'); // up3 per call: 16 x pixels
  expect(upconvForward(2, 4, 4, 1024, 512)).toBe('parts'); // ... at batch 2: 32 x pixels
  expect(upconvForward(4, 4, 4, 1024, 512)).toBe('split'); // ... at batch 4: 64 x pixels
  expect(upconvForward(1, 4, 4, 1024, 512, true)).toBe('taps'); // ... on weights packed beforehand: 16 x pixels
  expect(upconvForward(1, 8, 8, 1024, 256, true)).toBe('split'); // up4 packed: 64 x pixels
  expect(upconvForward(1, 2, 2, 1024, 512)).toBe('parts'); // up2 per call
  expect(upconvForward(1, 2, 2, 1024, 512, true)).toBe('taps'); // ... on weights packed beforehand: w's taps in panels
  expect(upconvForward(2, 2, 2, 1024, 512, true)).toBe('taps'); // ... at batch 2: 8 x pixels
  expect(upconvForward(4, 2, 2, 1024, 512, true)).toBe('taps'); // ... at batch 4: 16 x pixels
  expect(upconvForward(8, 2, 2, 1024, 512, true)).toBe('split'); // ... at batch 8: 32 x pixels
  expect(upconvForward(16, 2, 2, 1024, 512)).toBe('split'); // ... at batch 16: 64 x pixels
  expect(upconvForward(8, 1, 1, 512, 512)).toBe('parts'); // up1 per call
  expect(upconvForward(8, 1, 1, 512, 512, true)).toBe('phases'); // up1 packed: 1x1 images
  expect(upconvForward(64, 1, 1, 512, 512)).toBe('phases'); // ... per call at batch 64: 1x1 images past 32 pixels
  expect(upconvForward(3, 4, 4, 64, 32)).toBe('split'); // 48 x pixels at 32-64 channels
  expect(upconvForward(4, 64, 64, 128, 3)).toBe('phases'); // final: 3 channels
  expect(upconvForward(1, 4, 4, 128, 4)).toBe('phases'); // 4 output channels, few pixels: the narrow phases
  expect(upconvForward(1, 64, 64, 64, 8, true)).toBe('phases'); // 8 output channels
  expect(upconvForward(1, 30, 32, 8, 31, true)).toBe('phases'); // 8 input channels
  expect(upconvForward(1, 30, 32, 8, 31)).toBe('phases'); // ... per call
});

test('upconvBackwardInput: the split taps from 128 x pixels at >= 128 input channels', () => {
  expect(upconvBackwardInput(1, 32, 32, 256, 64)).toBe('split'); // up6 at 128 px
  expect(upconvBackwardInput(1, 16, 16, 512, 128)).toBe('split'); // up5
  expect(upconvBackwardInput(1, 8, 8, 1024, 256)).toBe('box'); // up4 at batch 1: 64 x pixels
  expect(upconvBackwardInput(8, 4, 4, 1024, 512)).toBe('split'); // up3 at batch 8
  expect(upconvBackwardInput(8, 1, 1, 512, 512)).toBe('box'); // up1
  expect(upconvBackwardInput(1, 32, 32, 32, 32)).toBe('box'); // 32 input channels
});

test('upconvBackwardWeight: the split taps from 256 x pixels at >= 256 input channels', () => {
  expect(upconvBackwardWeight(1, 32, 32, 256, 64)).toBe('split'); // up6 at 128 px
  expect(upconvBackwardWeight(1, 16, 16, 512, 128)).toBe('split'); // up5
  expect(upconvBackwardWeight(1, 8, 8, 1024, 256)).toBe('box'); // up4 at batch 1: 64 x pixels
  expect(upconvBackwardWeight(8, 8, 8, 1024, 256)).toBe('split'); // ... at batch 8
  expect(upconvBackwardWeight(8, 4, 4, 1024, 512)).toBe('box'); // up3 at batch 8: 128
  expect(upconvBackwardWeight(1, 32, 32, 128, 64)).toBe('box'); // 128 input channels
});

test('winograd3Wins: stride-1 pad-1 3x3, >= 32 channels each side, >= 16 tiles', () => {
  expect(winograd3Wins(1, 32, 32, 64, 64, 3, 1, 1)).toBe(true);
  expect(winograd3Wins(1, 16, 16, 128, 128, 3, 1, 1)).toBe(true);
  expect(winograd3Wins(1, 8, 8, 256, 256, 3, 1, 1)).toBe(true); // 16 tiles
  expect(winograd3Wins(1, 6, 6, 256, 256, 3, 1, 1)).toBe(false); // 9 tiles
  expect(winograd3Wins(1, 4, 4, 512, 512, 3, 1, 1)).toBe(false); // 4 tiles
  expect(winograd3Wins(4, 8, 8, 256, 256, 3, 1, 1)).toBe(true);
  expect(winograd3Wins(4, 16, 16, 16, 64, 3, 1, 1)).toBe(false);
  expect(winograd3Wins(4, 16, 16, 64, 64, 3, 2, 1)).toBe(false);
  expect(winograd3Wins(4, 16, 16, 64, 64, 4, 1, 1)).toBe(false);
  expect(winograd3Wins(4, 16, 16, 64, 64, 3, 1, 0)).toBe(false);
});

test('winogradS2Wins: 4x4 stride-2 pad-1, >= 32 channels each side; forward and backward-weight >= 16 tiles, backward-input >= 32', () => {
  for (const pass of ['fwd', 'bwdIn', 'bwdW'] as const) {
    expect(winogradS2Wins(pass, 1, 64, 64, 64, 128, 4, 2, 1)).toBe(true); // 256 tiles
    expect(winogradS2Wins(pass, 2, 32, 32, 128, 256, 4, 2, 1)).toBe(true); // 128 tiles
    expect(winogradS2Wins(pass, 8, 8, 8, 512, 512, 4, 2, 1)).toBe(true); // 32 tiles, 512 channels
    expect(winogradS2Wins(pass, 4, 128, 128, 3, 64, 4, 2, 1)).toBe(false);
    expect(winogradS2Wins(pass, 4, 64, 64, 64, 128, 3, 2, 1)).toBe(false);
    expect(winogradS2Wins(pass, 4, 64, 64, 64, 128, 4, 1, 1)).toBe(false);
    expect(winogradS2Wins(pass, 2, 8, 8, 128, 256, 4, 2, 1)).toBe(false); // 8 tiles
  }
  expect(winogradS2Wins('fwd', 1, 16, 16, 256, 512, 4, 2, 1)).toBe(true); // 16 tiles
  expect(winogradS2Wins('bwdW', 1, 16, 16, 256, 512, 4, 2, 1)).toBe(true);
  expect(winogradS2Wins('bwdIn', 1, 16, 16, 256, 512, 4, 2, 1)).toBe(false);
  expect(convKernels(1, 16, 16, 256, 512, 4, 2, 1)).toEqual({ fwd: 'wino_s2', bwdIn: 'direct', bwdW: 'wino_s2' });
  expect(convKernels(4, 16, 16, 256, 512, 4, 2, 1)).toEqual({ fwd: 'wino_s2', bwdIn: 'wino_s2', bwdW: 'wino_s2' });
  expect(convKernels(4, 32, 32, 64, 64, 3, 1, 1)).toEqual({ fwd: 'wino3', bwdIn: 'wino3', bwdW: 'wino3' });
  expect(convKernels(4, 32, 32, 64, 64, 3, 2, 1)).toEqual({ fwd: 'split_s2', bwdIn: 'direct', bwdW: 'direct' });
});

test('winogradS2F4Wins: where winogradS2Wins, from 64 output tiles of 4x4 pixels', () => {
  for (const pass of ['fwd', 'bwdIn', 'bwdW'] as const) {
    expect(winogradS2F4Wins(pass, 1, 64, 64, 64, 128, 4, 2, 1)).toBe(true); // s0.conv2 at batch 1: 64 tiles
    expect(winogradS2F4Wins(pass, 8, 32, 32, 128, 256, 4, 2, 1)).toBe(true); // s0.conv3 at batch 8: 128
    expect(winogradS2F4Wins(pass, 1, 32, 32, 128, 256, 4, 2, 1)).toBe(false); // 16 tiles
    expect(winogradS2F4Wins(pass, 8, 16, 16, 256, 512, 4, 2, 1)).toBe(false); // s0.conv4 at batch 8: 32
    expect(winogradS2F4Wins(pass, 16, 16, 16, 256, 512, 4, 2, 1)).toBe(true); // 64
    expect(winogradS2F4Wins(pass, 8, 64, 64, 16, 128, 4, 2, 1)).toBe(false); // 16 input channels (not winogradS2Wins)
    expect(winogradS2F4Wins(pass, 8, 64, 64, 64, 128, 3, 2, 1)).toBe(false);
  }
  expect(convKernels(8, 32, 32, 128, 256, 4, 2, 1)).toEqual({ fwd: 'wino_s2f4', bwdIn: 'wino_s2f4', bwdW: 'wino_s2f4' });
  expect(convKernels(8, 16, 16, 256, 512, 4, 2, 1)).toEqual({ fwd: 'wino_s2', bwdIn: 'wino_s2', bwdW: 'wino_s2' });
});

test('splitS2Wins: 3x3 stride-2 pad-1, >= 64 channels each side; forward per call >= 128 tiles (>= 64 at >= 128 input channels), packed >= 4 tiles of a >= 2x2 output, backward-weight >= 32 tiles at >= 128 input channels', () => {
  expect(splitS2Wins('fwd', 1, 64, 64, 64, 128, 3, 2, 1)).toBe(true); // down2 at 128 px: 256 tiles
  expect(splitS2Wins('fwd', 1, 32, 32, 64, 128, 3, 2, 1)).toBe(false); // 64 tiles at 64 input channels
  expect(splitS2Wins('fwd', 1, 32, 32, 128, 256, 3, 2, 1)).toBe(true); // down3: 64 tiles at 128
  expect(splitS2Wins('fwd', 1, 16, 16, 256, 512, 3, 2, 1)).toBe(false); // down4: 16 tiles, the pack per call
  expect(splitS2Wins('fwd', 1, 16, 16, 256, 512, 3, 2, 1, true)).toBe(true); // packed at load
  expect(splitS2Wins('fwd', 1, 8, 8, 512, 512, 3, 2, 1, true)).toBe(true); // down5: 4 tiles
  expect(splitS2Wins('fwd', 1, 4, 4, 512, 512, 3, 2, 1, true)).toBe(false); // down6: 1 tile
  expect(splitS2Wins('fwd', 4, 4, 4, 512, 512, 3, 2, 1, true)).toBe(true); // down6 at batch 4
  expect(splitS2Wins('fwd', 4, 2, 2, 512, 512, 3, 2, 1, true)).toBe(false); // down7: a 1x1 output
  expect(splitS2Wins('bwdW', 1, 32, 32, 128, 256, 3, 2, 1)).toBe(true); // down3: 64 tiles
  expect(splitS2Wins('bwdW', 1, 16, 16, 256, 512, 3, 2, 1)).toBe(false); // down4: 16 tiles
  expect(splitS2Wins('bwdW', 8, 8, 8, 512, 512, 3, 2, 1)).toBe(true); // down5 at batch 8: 32 tiles
  expect(splitS2Wins('bwdW', 1, 64, 64, 64, 128, 3, 2, 1)).toBe(false); // down2: 64 input channels
  for (const pass of ['fwd', 'bwdW'] as const) {
    expect(splitS2Wins(pass, 8, 128, 128, 11, 64, 3, 2, 1)).toBe(false); // down1: 11 input channels
    expect(splitS2Wins(pass, 8, 64, 64, 32, 64, 3, 2, 1)).toBe(false);
    expect(splitS2Wins(pass, 8, 64, 64, 128, 128, 3, 1, 1)).toBe(false);
    expect(splitS2Wins(pass, 8, 64, 64, 128, 128, 3, 2, 0)).toBe(false);
    expect(splitS2Wins(pass, 8, 64, 64, 128, 128, 4, 2, 1)).toBe(false);
  }
  expect(convKernels(1, 32, 32, 128, 256, 3, 2, 1)).toEqual({ fwd: 'split_s2', bwdIn: 'direct', bwdW: 'split_s2' });
  expect(convKernels(1, 16, 16, 256, 512, 3, 2, 1)).toEqual({ fwd: 'direct', bwdIn: 'direct', bwdW: 'direct' });
  expect(convKernels(1, 16, 16, 256, 512, 3, 2, 1, true)).toEqual({ fwd: 'split_s2', bwdIn: 'direct', bwdW: 'direct' });
});

const LAYER_CASES = [
  { kind: 'wino3', what: '3x3 stride-1 shape runs Winograd F(2x2, 3x3) in all three passes', shape: [1, 16, 16, 32, 40], opts: { k: 3, stride: 1, pad: 1 } },
  { kind: 'wino_s2', what: '4x4 stride-2 shape runs the phase Winograd in all three passes', shape: [2, 32, 32, 32, 40], opts: { k: 4, stride: 2, pad: 1 } },
  { kind: 'wino_s2f4', what: '4x4 stride-2 shape of 64+ tiles runs the phase F(4x4, 2x2) in all three passes', shape: [4, 32, 32, 32, 40], opts: { k: 4, stride: 2, pad: 1 } },
  { kind: 'split_s2', what: '3x3 stride-2 shape runs the split taps forward and backward-weight', shape: [2, 32, 32, 128, 72], opts: { k: 3, stride: 2, pad: 1 } },
] as const;
for (const lc of LAYER_CASES) test(`Conv2d: a winning ${lc.what}, the same function as the direct conv`, async () => {
  const { Graph } = await import('../src/nn/graph.js');
  const { Conv2d } = await import('../src/nn/conv2d.js');
  const [N, H, W, C, OC] = lc.shape;
  const opts = { ...lc.opts, bias: true };
  const results = [true, false].map((wino) => {
    const g = new Graph(core, wino ? 'wino' : 'direct');
    const x = g.tensor(N, H, W, C, 'x');
    const conv = new Conv2d(g, 'c', x, OC, opts);
    const kind = lc.kind;
    expect(conv.kern).toEqual({ fwd: kind, bwdIn: kind === 'split_s2' ? 'direct' : kind, bwdW: kind });
    // the same layer forced onto the direct kernels
    if (!wino) {
      (conv as { kern: object }).kern = { fwd: 'direct', bwdIn: 'direct', bwdW: 'direct' };
      g.needScratch(core.k.conv2d_scratch_size(N, H, W, C, OC, opts.k, opts.k, opts.stride, opts.pad));
    }
    g.finalize();
    const rnd = mulberry32(3);
    const fill = (a: Float32Array) => a.forEach((_, i) => (a[i] = rnd() * 2 - 1));
    fill(core.f32(x.ptr, x.size));
    for (const e of g.store.entries) fill(g.store.view(e));
    g.forward(true);
    g.zeroActivationGrads();
    g.store.zeroGrads();
    fill(core.f32(conv.y.buf.grad, conv.y.size));
    g.backward(true);
    return { y: core.f32(conv.y.ptr, conv.y.size).slice(), dx: core.f32(x.grad, x.size).slice(), dw: g.store.toTorch(g.store.entries[0], 'grad') };
  });
  for (const r of results) for (const v of [r.y, r.dx, r.dw as Float32Array]) expect(v.some((e) => e !== 0)).toBe(true);
  expect(maxRelDiff(results[0].y, results[1].y)).toBeLessThan(5e-6);
  expect(maxRelDiff(results[0].dx, results[1].dx)).toBeLessThan(5e-6);
  expect(maxRelDiff(results[0].dw as Float32Array, results[1].dw as Float32Array)).toBeLessThan(5e-6);
});
