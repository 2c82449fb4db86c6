// Randomised shapes for the conv kernels beyond the op table's fixed cases: SIMD vs reference on all three
// passes with the scratch buffer sized exactly by conv2d_scratch_size and a canary right after it, so every
// weight-feeding mode (in place, K-blocked, packed, im2col, narrow), row-chunk and pixel-chunk boundary is
// exercised and a write past the scratch is caught; the same for the forward on packed weights (conv2d_pack
// into exactly conv2d_packed_size floats, conv2d_forward_packed with exactly conv2d_packed_scratch_size). Deterministic seed; a few seconds.
import { beforeAll, expect, test } from 'vitest';
import { loadCore } from '../src/core/load-node.js';
import type { Core } from '../src/core/loader.js';
import { mulberry32 } from './helpers/rng.js';

let core: Core;
beforeAll(async () => { core = await loadCore({ build: 'relaxed' }); });

const GUARD = 256;

/** `fixed`: kernel size, input and output channels to use instead of random ones. */
function runCase(rnd: () => number, label: string, fixed?: { K: number; C: number; OC: number }) {
  const pick = <T>(a: T[]) => a[Math.floor(rnd() * a.length)];
  const K = fixed?.K ?? pick([1, 2, 3, 4, 5, 7]), s = pick([1, 1, 2, 2, 3]), p = Math.min(pick([0, 1, 2, 3]), K - 1);
  const C = fixed?.C ?? pick([1, 2, 3, 4, 5, 8, 13, 16, 17, 32, 33, 64, 100, 260]);
  const OC = fixed?.OC ?? pick([1, 2, 3, 4, 5, 7, 8, 9, 16, 19, 32, 64, 70]);
  const N = pick([1, 1, 2]);
  const H = Math.max(K - 2 * p, 1) + Math.floor(rnd() * (C * OC > 4000 ? 6 : 24));
  const W = Math.max(K - 2 * p, 1) + Math.floor(rnd() * (C * OC > 4000 ? 6 : 24));
  const OH = Math.floor((H + 2 * p - K) / s) + 1, OW = Math.floor((W + 2 * p - K) / s) + 1;
  if (OH < 1 || OW < 1) return;
  const ldx = C + pick([0, 0, 3]), ldy = OC + pick([0, 0, 5]);
  const k = core.k, a = core.arena, mark = a.mark();
  const X = N * H * W * ldx, Y = N * OH * OW * ldy, Wn = K * K * C * OC;
  const S = k.conv2d_scratch_size(N, H, W, C, OC, K, K, s, p);
  const ptr = { x: a.alloc(X), w: a.alloc(Wn), b: a.alloc(OC), y: a.alloc(Y), dy: a.alloc(Y), dx: a.alloc(X), dw: a.alloc(Wn), db: a.alloc(OC), sc: a.alloc(S + GUARD) };
  const fill = (q: number, n: number) => { const v = core.f32(q, n); for (let i = 0; i < n; i++) v[i] = rnd() * 2 - 1; };
  fill(ptr.x, X); fill(ptr.w, Wn); fill(ptr.b, OC); fill(ptr.dy, Y);
  // the outputs (the backward passes accumulate) start from fixed finite values, not from what the arena held
  // (an earlier case's scratch: any bit pattern, NaN included); no draws from rnd, so the shapes stay the same
  for (const [q, n] of [[ptr.y, Y], [ptr.dx, X], [ptr.dw, Wn], [ptr.db, OC]]) { const v = core.f32(q, n); for (let i = 0; i < n; i++) v[i] = ((i * 7919) % 1999) / 1999 - 0.5; }
  const init = { y: core.f32(ptr.y, Y).slice(), dx: core.f32(ptr.dx, X).slice(), dw: core.f32(ptr.dw, Wn).slice(), db: core.f32(ptr.db, OC).slice() };
  const tag = `${label}: N${N} ${H}x${W}x${C}(ld${ldx}) -> ${OH}x${OW}x${OC}(ld${ldy}) k${K} s${s} p${p}`;
  const run = (ref: boolean) => {
    core.f32(ptr.y, Y).set(init.y); core.f32(ptr.dx, X).set(init.dx); core.f32(ptr.dw, Wn).set(init.dw); core.f32(ptr.db, OC).set(init.db);
    const canary = core.f32(ptr.sc + S * 4, GUARD); canary.fill(12345);
    const f = ref ? k.ref_conv2d_forward : k.conv2d_forward;
    const bi = ref ? k.ref_conv2d_backward_input : k.conv2d_backward_input;
    const bw = ref ? k.ref_conv2d_backward_weight : k.conv2d_backward_weight;
    f(ptr.y, ptr.x, ptr.w, ptr.b, ptr.sc, N, H, W, C, OC, K, K, s, p, ldy, ldx);
    bi(ptr.dx, ptr.dy, ptr.w, ptr.sc, N, H, W, C, OC, K, K, s, p, ldx, ldy);
    bw(ptr.dw, ptr.db, ptr.dy, ptr.x, ptr.sc, N, H, W, C, OC, K, K, s, p, ldy, ldx);
    expect(core.f32(ptr.sc + S * 4, GUARD).every((v) => v === 12345), `${tag}: wrote past its scratch`).toBe(true);
    return { y: core.f32(ptr.y, Y).slice(), dx: core.f32(ptr.dx, X).slice(), dw: core.f32(ptr.dw, Wn).slice(), db: core.f32(ptr.db, OC).slice() };
  };
  const want0 = run(true), got0 = run(false);
  // the forward on weights packed once: packed size and scratch exact, canaries after both
  const WP = k.conv2d_packed_size(K, K, C, OC), SP = k.conv2d_packed_scratch_size(N, H, W, C, OC, K, K, s, p);
  const wp = a.alloc(WP + GUARD), sp = a.alloc(SP + GUARD), y2 = a.alloc(Y);
  core.f32(wp + WP * 4, GUARD).fill(12345); core.f32(sp + SP * 4, GUARD).fill(12345); core.f32(y2, Y).set(init.y);
  k.conv2d_pack(wp, ptr.w, K, K, C, OC);
  k.conv2d_forward_packed(y2, ptr.x, wp, ptr.b, sp, N, H, W, C, OC, K, K, s, p, ldy, ldx);
  expect(core.f32(wp + WP * 4, GUARD).every((v) => v === 12345), `${tag}: conv2d_pack wrote past conv2d_packed_size`).toBe(true);
  expect(core.f32(sp + SP * 4, GUARD).every((v) => v === 12345), `${tag}: conv2d_forward_packed wrote past its scratch`).toBe(true);
  const want = { ...want0, yp: want0.y }, got = { ...got0, yp: core.f32(y2, Y).slice() };
  // rounding grows with the reduction length (sums of U(-1,1) products in a different order)
  const red = { y: K * K * C, yp: K * K * C, dx: K * K * OC, dw: N * OH * OW, db: N * OH * OW };
  for (const name of ['y', 'yp', 'dx', 'dw', 'db'] as const) {
    const e = want[name], g = got[name];
    const atol = 1e-4 * Math.max(1, Math.sqrt(red[name]) / 8);
    for (let i = 0; i < e.length; i++) {
      if (!(Math.abs(g[i] - e[i]) <= atol + 1e-4 * Math.abs(e[i]))) {
        throw new Error(`${tag}: ${name}[${i}] reference ${e[i]} vs simd ${g[i]}`);
      }
    }
  }
  a.reset(mark);
}

test('conv2d: 300 random shapes, SIMD vs reference, exact scratch', () => {
  const rnd = mulberry32(20261126);
  for (let i = 0; i < 300; i++) runCase(rnd, `case ${i}`);
});

// backward-weight's narrow path (OC <= 4) has a row tail: dW has K*K*C rows, handled 8 at a time, so rows
// = 7 mod 8 (C = 7 mod 8 with K odd) leave the longest tail. The random shapes above rarely reach it; every
// such combination here does (a wrong tail offset passed the whole suite before).
test('conv2d backward-weight: narrow outputs (OC 1-4) with K*K*C = 7 mod 8 rows', () => {
  const rnd = mulberry32(7);
  for (const K of [1, 3])
    for (const C of [7, 15, 23, 31])
      for (const OC of [1, 2, 3, 4]) {
        expect((K * K * C) % 8).toBe(7);
        runCase(rnd, `narrow K${K} C${C} OC${OC}`, { K, C, OC });
      }
});

// igemm_4x8 sends a one-row call to its GEMV tile (four panels at a time): each column must get the same sums
// in the same order as in the 4x8 tile, so an image alone (one row) gives the bits of the same image in a batch
// of 5 (rows through the 4x8 tile, the fifth repeated in a short block).
test('igemm GEMV tile (one output row) gives the 4x8 tile bits', () => {
  const rnd = mulberry32(99);
  const k = core.k, a = core.arena;
  for (const [C, OC, K, bias] of [[24, 45, 1, true], [40, 64, 3, false], [8, 37, 1, true], [64, 200, 3, true]] as const) {
    const mark = a.mark(), N = 5, p = (K - 1) / 2;
    const x = a.alloc(N * C), w = a.alloc(K * K * C * OC), b = a.alloc(OC), y = a.alloc(N * OC), y1 = a.alloc(OC);
    const wp = a.alloc(k.conv2d_packed_size(K, K, C, OC)), sc = a.alloc(k.conv2d_scratch_size(N, 1, 1, C, OC, K, K, 1, p));
    for (const [q, n] of [[x, N * C], [w, K * K * C * OC], [b, OC]]) { const v = core.f32(q, n); for (let i = 0; i < n; i++) v[i] = rnd() * 2 - 1; }
    k.conv2d_pack(wp, w, K, K, C, OC);
    // the packed forward (one GEMM over all taps whatever the rows; conv2d_forward picks its mode by row count)
    const fwd = (yy: number, xx: number, n: number) => k.conv2d_forward_packed(yy, xx, wp, bias ? b : 0, sc, n, 1, 1, C, OC, K, K, 1, p, OC, C);
    fwd(y, x, N);
    const all = core.f32(y, N * OC).slice();
    for (let n = 0; n < N; n++) {
      fwd(y1, x + n * C * 4, 1);
      expect(Array.from(core.f32(y1, OC)), `C${C} OC${OC} k${K} image ${n}`).toEqual(Array.from(all.subarray(n * OC, (n + 1) * OC)));
    }
    a.reset(mark);
  }
});

// The first layers (1-15 input channels) on an unstrided x take their own im2col (colRows: a kernel row in one
// copy; rowPanels + gemm_ap_4x8 for the forward, its panels written by colPack4 when a kernel row is whole
// groups of 4 floats; colPanels for the weight gradient): they must give the bits of the general path, which a
// strided x (ldx = C + 1) takes, on every pass, padding and batch included (the last two shapes: 4-pixel blocks
// across output rows and images, and a last block of 2).
test('first-layer im2col paths on an unstrided x give the strided path bits (all three passes)', () => {
  const rnd = mulberry32(314);
  const k = core.k, a = core.arena;
  for (const [N, H, C, OC, K, s, p] of [[2, 33, 3, 64, 4, 2, 1], [1, 40, 4, 19, 3, 2, 1], [1, 17, 4, 70, 3, 1, 1], [2, 21, 3, 64, 7, 2, 3], [1, 12, 5, 9, 3, 1, 0],
    [2, 19, 4, 24, 3, 2, 1], [2, 17, 4, 16, 3, 2, 1]] as const) {
    const mark = a.mark(), OH = Math.floor((H + 2 * p - K) / s) + 1, P = N * H * H, Y = N * OH * OH * OC, Wn = K * K * C * OC;
    const x = a.alloc(P * C), xs = a.alloc(P * (C + 1)), w = a.alloc(Wn), b = a.alloc(OC), dy = a.alloc(Y);
    const out = Array.from({ length: 2 }, () => ({ y: a.alloc(Y), dx: a.alloc(P * (C + 1)), dw: a.alloc(Wn) }));
    for (const o of out) { core.f32(o.dx, P * (C + 1)).fill(0); core.f32(o.dw, Wn).fill(0); } // both backward passes accumulate
    const sc = a.alloc(k.conv2d_scratch_size(N, H, H, C, OC, K, K, s, p));
    for (const [q, n] of [[x, P * C], [w, Wn], [b, OC], [dy, Y]]) { const v = core.f32(q, n); for (let i = 0; i < n; i++) v[i] = rnd() * 2 - 1; }
    const xv = core.f32(x, P * C), xsv = core.f32(xs, P * (C + 1));
    for (let i = 0; i < P; i++) for (let c = 0; c < C; c++) xsv[i * (C + 1) + c] = xv[i * C + c];
    [[x, C], [xs, C + 1]].forEach(([xp, ldx], i) => {
      const o = out[i];
      k.conv2d_forward(o.y, xp, w, b, sc, N, H, H, C, OC, K, K, s, p, OC, ldx);
      k.conv2d_backward_input(o.dx, dy, w, sc, N, H, H, C, OC, K, K, s, p, ldx, OC);
      k.conv2d_backward_weight(o.dw, 0, dy, xp, sc, N, H, H, C, OC, K, K, s, p, OC, ldx);
    });
    const tag = `N${N} ${H}x${C} -> ${OC} k${K} s${s} p${p}`;
    expect(Array.from(core.f32(out[0].y, Y)), `${tag}: y`).toEqual(Array.from(core.f32(out[1].y, Y)));
    expect(Array.from(core.f32(out[0].dw, Wn)), `${tag}: dw`).toEqual(Array.from(core.f32(out[1].dw, Wn)));
    const dx0 = core.f32(out[0].dx, P * C), dx1 = core.f32(out[1].dx, P * (C + 1));
    expect(Array.from({ length: P * C }, (_, i) => dx0[i]), `${tag}: dx`).toEqual(Array.from({ length: P * C }, (_, i) => dx1[Math.floor(i / C) * (C + 1) + (i % C)]));
    a.reset(mark);
  }
});

// The weight gradient's packed path sums db one chunk of dy at a time, carrying the running sums, so db must have
// the bits of bias_backward's one pass over dy (the narrow path still makes that pass).
test('backward-weight db (chunked running sums) gives bias_backward bits', () => {
  const rnd = mulberry32(2718);
  const k = core.k, a = core.arena;
  for (const [N, H, C, OC, K, s, p] of [[2, 33, 3, 64, 4, 2, 1], [1, 19, 24, 37, 3, 1, 1], [3, 9, 40, 70, 1, 1, 0], [1, 12, 8, 3, 3, 1, 1]] as const) {
    const mark = a.mark(), OH = Math.floor((H + 2 * p - K) / s) + 1, P = N * OH * OH;
    const x = a.alloc(N * H * H * C), dy = a.alloc(P * OC), dw = a.alloc(K * K * C * OC), db = a.alloc(OC), db2 = a.alloc(OC);
    const sc = a.alloc(k.conv2d_scratch_size(N, H, H, C, OC, K, K, s, p));
    for (const [q, n] of [[x, N * H * H * C], [dy, P * OC], [db, OC]]) { const v = core.f32(q, n); for (let i = 0; i < n; i++) v[i] = rnd() * 2 - 1; }
    core.f32(db2, OC).set(core.f32(db, OC));
    k.conv2d_backward_weight(dw, db, dy, x, sc, N, H, H, C, OC, K, K, s, p, OC, C);
    k.bias_backward(db2, dy, P, OC, OC);
    expect(Array.from(core.f32(db, OC)), `N${N} ${H}x${C} -> ${OC} k${K}`).toEqual(Array.from(core.f32(db2, OC)));
    a.reset(mark);
  }
});
