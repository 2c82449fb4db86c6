// Randomised shapes for the fused upsample x2 + 3x3 conv kernels beyond the op table's fixed cases: SIMD vs
// reference on the three passes with the scratch sized exactly by upconv_scratch_size (and the packed forward
// by upconv_packed_scratch_size, the forward alone by upconv_forward_scratch_size, the packed taps' forward by
// upconv_taps_scratch_size) and a canary right after it,
// so the small-image path, the phase GEMMs (row chunks, panel tails), the narrow dual-conv path and the box-sum
// backward (dot and packed modes, pixel chunks) all run and a write past the scratch is caught.
import { beforeAll, expect, test } from 'vitest';
import { loadCore } from '../src/core/load-node.js';
import type { Core } from '../src/core/loader.js';
import { mulberry32 } from './helpers/rng.js';

let core: Core;
beforeAll(async () => { core = await loadCore({ build: 'relaxed' }); });

const GUARD = 256;

function runCase(rnd: () => number, label: string) {
  const pick = <T>(a: T[]) => a[Math.floor(rnd() * a.length)];
  const C = pick([1, 2, 3, 4, 5, 8, 13, 16, 17, 32, 33, 64, 100]);
  const OC = pick([1, 2, 3, 4, 5, 7, 8, 9, 16, 19, 32, 64, 70]);
  const N = pick([1, 1, 2, 3]);
  const big = C * OC > 2000;
  const H = 1 + Math.floor(rnd() * (big ? 5 : 11)), W = 1 + Math.floor(rnd() * (big ? 5 : 11));
  const ldx = C + pick([0, 0, 3]), ldy = OC + pick([0, 0, 5]);
  const k = core.k, a = core.arena, mark = a.mark();
  const U = 4 * N * H * W, X = N * H * W * ldx, Y = U * ldy, Wn = 9 * C * OC;
  const S = k.upconv_scratch_size(N, H, W, C, OC), SP = k.upconv_packed_scratch_size(N, H, W, C, OC);
  const SF = k.upconv_forward_scratch_size(N, H, W, C, OC), PW = k.upconv_packed_size(C, OC);
  const ST = k.upconv_taps_scratch_size(N, H, W, C, OC), PT = k.upconv_taps_packed_size(C, OC);
  expect(SF, 'the forward alone needs no more than all passes').toBeLessThanOrEqual(S);
  const ptr = { x: a.alloc(X), w: a.alloc(Wn), b: a.alloc(OC), y: a.alloc(Y), y2: a.alloc(Y), y3: a.alloc(Y), y4: a.alloc(Y), dy: a.alloc(Y), dx: a.alloc(X),
    dw: a.alloc(Wn), db: a.alloc(OC), wd: a.alloc(PW + GUARD), wt: a.alloc(PT + GUARD), sc: a.alloc(Math.max(S, SP, ST) + GUARD) };
  const fill = (q: number, n: number) => { const v = core.f32(q, n); for (let i = 0; i < n; i++) v[i] = rnd() * 2 - 1; };
  fill(ptr.x, X); fill(ptr.w, Wn); fill(ptr.b, OC); fill(ptr.dy, Y);
  const bias = rnd() < 0.5 ? ptr.b : 0;
  const init = { y: core.f32(ptr.y, Y).slice(), dx: core.f32(ptr.dx, X).slice(), dw: core.f32(ptr.dw, Wn).slice(), db: core.f32(ptr.db, OC).slice() };
  const tag = `${label}: N${N} ${H}x${W}x${C}(ld${ldx}) -> ${2 * H}x${2 * W}x${OC}(ld${ldy})${bias ? ' bias' : ''}`;
  const canary = (n: number) => core.f32(ptr.sc + n * 4, GUARD).fill(12345);
  const intact = (n: number, what: string) =>
    expect(core.f32(ptr.sc + n * 4, GUARD).every((v) => v === 12345), `${tag}: ${what} wrote past its scratch (${n} floats)`).toBe(true);
  const run = (ref: boolean) => {
    core.f32(ptr.y, Y).set(init.y); core.f32(ptr.y2, Y).set(init.y); core.f32(ptr.y3, Y).set(init.y); core.f32(ptr.y4, Y).set(init.y);
    core.f32(ptr.dx, X).set(init.dx); core.f32(ptr.dw, Wn).set(init.dw); core.f32(ptr.db, OC).set(init.db);
    if (ref) {
      k.ref_upconv_forward(ptr.y, ptr.x, ptr.w, bias, ptr.sc, N, H, W, C, OC, ldy, ldx);
      k.ref_upconv_forward(ptr.y2, ptr.x, ptr.w, bias, ptr.sc, N, H, W, C, OC, ldy, ldx);
      k.ref_upconv_forward(ptr.y3, ptr.x, ptr.w, bias, ptr.sc, N, H, W, C, OC, ldy, ldx);
      k.ref_upconv_forward(ptr.y4, ptr.x, ptr.w, bias, ptr.sc, N, H, W, C, OC, ldy, ldx);
      k.ref_upconv_backward_input(ptr.dx, ptr.dy, ptr.w, ptr.sc, N, H, W, C, OC, ldx, ldy);
      k.ref_upconv_backward_weight(ptr.dw, ptr.db, ptr.dy, ptr.x, ptr.sc, N, H, W, C, OC, ldy, ldx);
    } else {
      canary(SF); k.upconv_forward(ptr.y3, ptr.x, ptr.w, bias, ptr.sc, N, H, W, C, OC, ldy, ldx); intact(SF, 'forward');
      canary(S); k.upconv_forward(ptr.y, ptr.x, ptr.w, bias, ptr.sc, N, H, W, C, OC, ldy, ldx);
      k.upconv_backward_input(ptr.dx, ptr.dy, ptr.w, ptr.sc, N, H, W, C, OC, ldx, ldy);
      k.upconv_backward_weight(ptr.dw, ptr.db, ptr.dy, ptr.x, ptr.sc, N, H, W, C, OC, ldy, ldx);
      intact(S, 'a pass');
      core.f32(ptr.wd + PW * 4, GUARD).fill(12345);
      canary(SP); k.upconv_pack(ptr.wd, ptr.w, ptr.sc, C, OC);
      k.upconv_forward_packed(ptr.y2, ptr.x, ptr.w, ptr.wd, bias, ptr.sc, N, H, W, C, OC, ldy, ldx); intact(SP, 'pack / packed forward');
      expect(core.f32(ptr.wd + PW * 4, GUARD).every((v) => v === 12345), `${tag}: upconv_pack wrote past upconv_packed_size`).toBe(true);
      core.f32(ptr.wt + PT * 4, GUARD).fill(12345);
      canary(ST); k.upconv_taps_pack(ptr.wt, ptr.w, C, OC);
      k.upconv_taps_forward_packed(ptr.y4, ptr.x, ptr.wt, bias, ptr.sc, N, H, W, C, OC, ldy, ldx); intact(ST, 'taps forward');
      expect(core.f32(ptr.wt + PT * 4, GUARD).every((v) => v === 12345), `${tag}: upconv_taps_pack wrote past upconv_taps_packed_size`).toBe(true);
    }
    return { y: core.f32(ptr.y, Y).slice(), y2: core.f32(ptr.y2, Y).slice(), y3: core.f32(ptr.y3, Y).slice(), y4: core.f32(ptr.y4, Y).slice(), dx: core.f32(ptr.dx, X).slice(), dw: core.f32(ptr.dw, Wn).slice(), db: core.f32(ptr.db, OC).slice() };
  };
  const want = run(true), got = run(false);
  // rounding grows with the reduction length (sums of U(-1,1) products in a different order)
  const red = { y: 9 * C, y2: 9 * C, y3: 9 * C, y4: 9 * C, dx: 36 * OC, dw: U, db: U };
  for (const name of ['y', 'y2', 'y3', 'y4', 'dx', 'dw', 'db'] as const) {
    const e = want[name], g = got[name];
    const atol = 1e-4 * Math.max(1, Math.sqrt(red[name]) / 8);
    for (let i = 0; i < e.length; i++) {
      if (!(Math.abs(g[i] - e[i]) <= atol + 1e-4 * Math.abs(e[i]))) throw new Error(`${tag}: ${name}[${i}] reference ${e[i]} vs simd ${g[i]}`);
    }
  }
  a.reset(mark);
}

test('upconv: 150 random shapes, SIMD vs reference, exact scratch', () => {
  const rnd = mulberry32(20261130);
  for (let i = 0; i < 150; i++) runCase(rnd, `case ${i}`);
});
