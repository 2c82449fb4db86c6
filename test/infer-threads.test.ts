// Intra-op threads for one image (src/infer/threads.ts, thread-nets.ts): T threads give the same bits as one
// (every storage, both builds, odd thread counts, chunked layers), the shares cover each layer exactly, bad
// `threads` values are refused naming the option, a runtime without SharedArrayBuffer (or a plain module)
// runs on one thread and warns once, and dispose() terminates the worker threads.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { compiledModule, loadCore, resolveBuild } from '../src/core/load-node.js';
import type { Build } from '../src/core/features.js';
import { BicycleGANInference, convertWeights, type Storage } from '../src/infer/index.js';
import { channelShares, chunksOfShare, pixelShares } from '../src/infer/thread-nets.js';
import { resetThreadWarning, ThreadPool, type Call } from '../src/infer/threads.js';
import { availableParallelism } from 'node:os';
import { hardwareThreads, SPIN_MS, spinFor, waitWhile } from '../src/core/wait.js';
import { smallWeights, testPicture } from './helpers/infer-model.js';
import { convKernels } from '../src/core/conv-dispatch.js';
import { splitAtLoad } from '../src/infer/packed.js';
import { Conv2d } from '../src/nn/conv2d.js';
import { BicycleGAN } from '../src/train/bicyclegan.js';
import { weightsBytes } from '../src/train/checkpoint.js';

// widths 16 (G) and 8 (E): layers of 16..128 channels, so most are split; chunks of 4096 floats, so the
// wide layers are cut into several chunks per thread too
const MODEL = { gBase: 16, eBase: 8, dBase: 2 };
let raw: Uint8Array;
const threadsModule = (b: Build) => new WebAssembly.Module(readFileSync(new URL(`../build/core-${b === 'relaxed' ? 'threads-relaxed' : 'threads'}.wasm`, import.meta.url)));
const open: BicycleGANInference[] = [];

beforeAll(async () => {
  resolveBuild('relaxed');
  raw = smallWeights(await loadCore({ build: 'simd' }), 5, ['G', 'E'], MODEL);
});
afterAll(async () => {
  for (const m of open) await m.dispose();
});

const same = (a: Float32Array, b: Float32Array) => a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;

describe('threads: same bits as one thread', () => {
  const input = (S: number) => Float32Array.from({ length: S * S * 3 }, (_, i) => Math.sin(i * 0.37) * 0.9);
  test.each([
    ['f32', 'relaxed', 2],
    ['f16', 'relaxed', 3],
    ['int8', 'relaxed', 2],
    ['f16', 'simd', 2],
  ] as [Storage, Build, number][])('%s weights, %s build, %i threads: generate and encode', async (storage, build, T) => {
    const weights = convertWeights(raw, { storage, chunkFloats: 4096 });
    const one = await BicycleGANInference.create({ module: compiledModule(build), build, weights });
    const many = await BicycleGANInference.create({ module: threadsModule(build), build, weights, threads: T });
    open.push(many);
    expect(many.threads).toBe(T);
    const x = input(one.size);
    for (const seed of [1, 2]) {
      const [z] = one.codes(1, seed);
      expect(same(many.generate(x, z), one.generate(x, z))).toBe(true);
      const into = new Float32Array(x.length);
      expect(same(many.generate(x, z, into), one.generate(x, z))).toBe(true);
    }
    const a = one.encodeInput(x), b = many.encodeInput(x);
    expect(same(b.mu, a.mu) && same(b.logvar, a.logvar)).toBe(true);
    // and through the image API
    const img = testPicture(150, 150, 3);
    const sa = one.sample(img, { n: 2, seed: 4 }).images, sb = many.sample(img, { n: 2, seed: 4 }).images;
    for (let i = 0; i < 2; i++) expect(Buffer.compare(Buffer.from(sb[i].data), Buffer.from(sa[i].data))).toBe(0);
    await many.dispose();
  });

  test('finds the threads build itself (no module given)', async () => {
    const weights = convertWeights(raw, { storage: 'f16' });
    const one = await BicycleGANInference.create({ weights, build: 'relaxed' });
    const many = await BicycleGANInference.create({ weights, build: 'relaxed', threads: 2 });
    open.push(many);
    expect(many.threads).toBe(2);
    const x = input(one.size), [z] = one.codes(1, 9);
    expect(same(many.generate(x, z), one.generate(x, z))).toBe(true);
    await many.dispose();
  });
});

// The generator's 3x3 stride-2 downs on the split taps (assembly/conv3s2_split.ts): at 256 px and width 32, down3 and
// down4 take them per call (more than 64 output tiles) and down3..down5 on U packed at load (f32). The inference
// generator equals the training graph's eval forward with the weights packed and per call, and T threads give the
// bits of one (one U per rank's share, or the per-call kernel on each chunk). The reference: the training graph's
// eval forward on the direct convs.
describe('threads and the split taps of the stride-2 downs', () => {
  test('f32 packed at load and per call, f16 per call, 2 threads: G.forward(false), same bits on threads', async () => {
    const core = await loadCore({ build: 'simd' });
    const model = new BicycleGAN(core, { batch: 1, seed: 4, model: { gBase: 32, eBase: 4, dBase: 2, imageSize: 256 } });
    expect(convKernels(1, 64, 64, 64, 128, 3, 2, 1).fwd).toBe('split_s2'); // down3 per call
    expect(convKernels(1, 32, 32, 128, 256, 3, 2, 1).fwd).toBe('split_s2'); // down4 per call
    expect(splitAtLoad(1, 16, 16, 256, 256, 3, 2, 1) && !splitAtLoad(1, 4, 4, 256, 256, 3, 2, 1)).toBe(true); // down5, not down7
    const S = 256, x = Float32Array.from({ length: S * S * 3 }, (_, i) => Math.sin(i * 0.37) * 0.9), z = [0.3, -1, 0.5, 2, -0.2, 0, 1, -0.7];
    const G = model.G;
    // the reference: the training graph's eval forward on the direct conv (its scratch covers it: the backward-input
    // of a split_s2 layer is direct)
    const convs = G.g.layers.filter((l): l is Conv2d => l instanceof Conv2d);
    expect(convs.filter((l) => l.kern.fwd === 'split_s2').length).toBe(2);
    for (const l of convs) (l as { kern: object }).kern = { fwd: 'direct', bwdIn: 'direct', bwdW: 'direct' };
    core.f32(G.image.ptr, G.image.size).fill(0).set(x);
    core.f32(G.z.ptr, G.z.size).fill(0).set(z);
    G.g.forward(false);
    const want = core.f32(G.out.ptr, S * S * 3).slice();
    expect(want.some((v) => v !== 0)).toBe(true);
    const raw = weightsBytes(model, ['G']);
    const maxAbs = (a: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - want[i])), 0);
    for (const [storage, packWeights, tol] of [['f32', true, 2e-5], ['f32', false, 2e-5], ['f16', true, 5e-2]] as [Storage, boolean, number][]) {
      const weights = convertWeights(raw, { storage, chunkFloats: 65536 });
      const one = await BicycleGANInference.create({ weights, build: 'relaxed', packWeights });
      const many = await BicycleGANInference.create({ module: threadsModule('relaxed'), weights, build: 'relaxed', packWeights, threads: 2 });
      open.push(many);
      const a = one.generate(x, z);
      expect(maxAbs(a), `${storage} ${packWeights ? 'packed' : 'per call'}`).toBeLessThan(tol);
      expect(same(many.generate(x, z), a), `${storage} ${packWeights ? 'packed' : 'per call'} on 2 threads`).toBe(true);
      await many.dispose();
    }
  });
});

describe('upconv_forward_part (the row split of a narrow fused upsample + conv)', () => {
  test.each([
    [1, 5, 7, 16, 3, 3], // narrow, odd sizes: rows of every phase split
    [2, 4, 4, 8, 1, 2],
    [1, 2, 2, 8, 3, 2], // small image: part 0 runs it all
    [1, 4, 4, 8, 12, 3], // wide: part 0 runs it all
  ])('N %i, %ix%i, C %i -> OC %i, %i parts: the parts after the bias give the whole call bit for bit', async (N, H, W, C, OC, parts) => {
    for (const build of ['simd', 'relaxed'] as Build[]) {
      const core = await loadCore({ build });
      const k = core.k, ld = OC + 2; // y a channel slice of a wider buffer
      const x = core.arena.alloc(N * H * W * C), w = core.arena.alloc(9 * C * OC), b = core.arena.alloc(OC);
      const P = N * 4 * H * W, y1 = core.arena.alloc(P * ld), y2 = core.arena.alloc(P * ld);
      const sc = core.arena.alloc(k.upconv_forward_scratch_size(N, H, W, C, OC));
      let v = 1;
      for (const [p, n] of [[x, N * H * W * C], [w, 9 * C * OC], [b, OC]]) core.f32(p, n).forEach((_, i, a) => (a[i] = Math.sin(v++ * 1.7)));
      k.upconv_forward(y1, x, w, b, sc, N, H, W, C, OC, ld, C);
      k.view_zero(y2, P, OC, ld);
      k.bias_add_forward(y2, b, P, OC, ld);
      for (let r = parts - 1; r >= 0; r--) k.upconv_forward_part(y2, x, w, b, sc, N, H, W, C, OC, ld, C, r, parts);
      const a1 = core.f32(y1, P * ld), a2 = core.f32(y2, P * ld);
      for (let p = 0; p < P; p++) expect(Buffer.compare(Buffer.from(a2.buffer, a2.byteOffset + p * ld * 4, OC * 4), Buffer.from(a1.buffer, a1.byteOffset + p * ld * 4, OC * 4))).toBe(0);
    }
  });
});

describe('shares', () => {
  test('channel shares: cover [0, OC) in order; cuts at multiples of 8; no piece of 1..4 channels unless the layer is that narrow', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 2048 }), fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 64 }), (OC, T, m) => {
      const s = channelShares(OC, T);
      expect(s.length).toBe(T);
      let at = 0;
      for (const [c0, c1] of s) {
        expect(c0).toBe(at);
        expect(c1).toBeGreaterThanOrEqual(c0);
        at = c1;
        if (c1 > c0) {
          const pieces = chunksOfShare(c0, c1, 8 * m);
          expect(pieces[0][0]).toBe(c0);
          expect(pieces[pieces.length - 1][1]).toBe(c1);
          for (const [p0, p1] of pieces) {
            expect(p0 % 8).toBe(0);
            expect(p1 === OC || p1 % 8 === 0).toBe(true);
            expect(p1 - p0 > 4 || p1 - p0 === OC).toBe(true);
          }
        }
      }
      expect(at).toBe(OC);
      if (OC >= 16 * T) for (const [c0, c1] of s) expect(c1 - c0).toBeGreaterThan(0); // every thread has work
    }));
  });

  test('pixel shares: cover [0, P) in order, cut at multiples of 4', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 70000 }), fc.integer({ min: 1, max: 16 }), (P, T) => {
      const s = pixelShares(P, T);
      let at = 0;
      for (const [p0, p1] of s) {
        expect(p0).toBe(at);
        if (p1 > p0) expect(p0 % 4).toBe(0); // (an empty share may start at P)
        expect(p1).toBeGreaterThanOrEqual(p0);
        at = p1;
      }
      expect(at).toBe(P);
    }));
  });
});

describe('waiting (src/core/wait.ts)', () => {
  test('spin while every thread can have a core, not beyond', () => {
    expect(hardwareThreads()).toBe(availableParallelism());
    expect(spinFor(1)).toBe(SPIN_MS);
    expect(spinFor(hardwareThreads())).toBe(SPIN_MS);
    expect(spinFor(hardwareThreads() + 1)).toBe(0);
  });
  test('waitWhile returns once the slot changes, or when stop() says so', () => {
    const ctl = new Int32Array(new SharedArrayBuffer(8));
    ctl[0] = 1;
    waitWhile(ctl, 0, 0); // already changed
    let n = 0;
    const t0 = performance.now();
    waitWhile(ctl, 0, 1, false, () => ++n > 2, 0); // never changes: stop() ends it (no sleeping: block false)
    expect(n).toBe(3);
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});

describe('threads option', () => {
  test.each([0, -1, 1.5, Number.NaN, 65, '2' as unknown as number])('threads %s is refused, naming the option', async (threads) => {
    const weights = convertWeights(raw, { storage: 'f16' });
    await expect(BicycleGANInference.create({ weights, threads })).rejects.toThrow(/threads must be an integer in 1\.\.64/);
  });

  test('without SharedArrayBuffer: one thread, the same results, and one warning per process', async () => {
    const weights = convertWeights(raw, { storage: 'f16' });
    const warnings: string[] = [];
    resetThreadWarning();
    vi.stubGlobal('SharedArrayBuffer', undefined);
    try {
      for (let i = 0; i < 2; i++) {
        const m = await BicycleGANInference.create({ weights, build: 'relaxed', threads: 4, onWarning: (w) => warnings.push(w) });
        expect(m.threads).toBe(1);
        await m.dispose(); // a no-op on one thread
      }
    } finally {
      vi.unstubAllGlobals();
    }
    expect(warnings).toEqual(['bicyclegan-wasm: threads: 4 requested, running on one thread: this runtime has no SharedArrayBuffer']);
  });

  test('a page that is not cross-origin isolated is named as the reason', async () => {
    const weights = convertWeights(raw, { storage: 'f16' });
    const warnings: string[] = [];
    resetThreadWarning();
    vi.stubGlobal('crossOriginIsolated', false);
    try {
      const m = await BicycleGANInference.create({ weights, build: 'relaxed', threads: 2, onWarning: (w) => warnings.push(w) });
      expect(m.threads).toBe(1);
    } finally {
      vi.unstubAllGlobals();
    }
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/not cross-origin isolated.*Cross-Origin-Opener-Policy: same-origin.*Cross-Origin-Embedder-Policy: require-corp/);
  });

  test('a given module that is not a threads build: one thread, said once', async () => {
    const weights = convertWeights(raw, { storage: 'f16' });
    const warnings: string[] = [];
    resetThreadWarning();
    const one = await BicycleGANInference.create({ module: compiledModule('relaxed'), build: 'relaxed', weights });
    const m = await BicycleGANInference.create({ module: compiledModule('relaxed'), build: 'relaxed', weights, threads: 2, onWarning: (w) => warnings.push(w) });
    expect(m.threads).toBe(1);
    expect(warnings).toEqual([expect.stringMatching(/not a threads build/)]);
    const x = new Float32Array(one.size * one.size * 3).fill(0.25), [z] = one.codes(1, 3);
    expect(same(m.generate(x, z), one.generate(x, z))).toBe(true);
  });
});

describe('failures', () => {
  const pool = (programs: Call[][][][]) => ThreadPool.start({ module: threadsModule('simd'), memory: new WebAssembly.Memory({ initial: 16, maximum: 32, shared: true }), T: 2, programs });
  test('a worker whose kernel traps: the run throws (no hang), naming the worker, and so does every later run', async () => {
    // rank 1 copies from past the end of memory
    const p = await pool([[[[]], [[['copy_forward', 0, 2 ** 31, 1000, 4, 4, 4]]]]]);
    try {
      expect(() => p.run(0, 1, () => {})).toThrow(/infer threads: worker 1 failed/);
      expect(() => p.run(0, 1, () => {})).toThrow(/cannot run any more/);
    } finally {
      await p.dispose();
    }
  });
  test('rank 0 failing: its error, the workers released, later runs refused', async () => {
    const p = await pool([[[[]], [[]]]]);
    try {
      expect(() => p.run(0, 1, () => {
        throw new Error('boom');
      })).toThrow('boom');
      expect(() => p.run(0, 1, () => {})).toThrow(/boom/);
    } finally {
      await p.dispose();
    }
  });
});

describe('dispose', () => {
  test('terminates the worker threads; the model refuses to run afterwards', async () => {
    const weights = convertWeights(raw, { storage: 'f16' });
    const before = ThreadPool.live;
    const m = await BicycleGANInference.create({ module: threadsModule('relaxed'), build: 'relaxed', weights, threads: 3 });
    expect(ThreadPool.live).toBe(before + 2);
    const x = new Float32Array(m.size * m.size * 3), [z] = m.codes(1, 1);
    m.generate(x, z);
    await m.dispose();
    expect(ThreadPool.live).toBe(before);
    expect(() => m.generate(x, z)).toThrow(/disposed/);
    await m.dispose(); // twice is fine
  });
});
