// Randomised shapes for the split taps with F(4, 2) on their E parts (assembly/winograd_split4.ts) beyond the op
// table's fixed cases: the fused upsample + conv and the 3x3 stride-2 conv on weights transformed once, against the
// direct scalar references (ref_upconv_forward, ref_conv2d_forward: not the F(4, 2) twin), with the scratch sized
// exactly by *_split4_packed_scratch_size and the weights by split4_packed_size, each with a canary right after it.
// Sizes 1..21 reach every tile kind (full, past the image, the upconv's lone E row at H = 4k) and several chunks;
// channels 1..70 the channel tails and the 8-wide panels' tails; strided input and output rows, untouched lanes kept.
import { beforeAll, expect, test } from 'vitest';
import { loadCore } from '../src/core/load-node.js';
import type { Core } from '../src/core/loader.js';
import { mulberry32 } from './helpers/rng.js';

let core: Core;
beforeAll(async () => { core = await loadCore({ build: 'relaxed' }); });

const GUARD = 256;

function runCase(rnd: () => number, up: boolean, label: string) {
  const pick = <T>(a: T[]) => a[Math.floor(rnd() * a.length)];
  const C = pick([1, 3, 4, 5, 8, 13, 16, 33, 64, 70]), OC = pick([1, 3, 4, 7, 8, 9, 16, 19, 32, 70]);
  const N = pick([1, 1, 2, 3]), H = 1 + Math.floor(rnd() * 21), W = 1 + Math.floor(rnd() * 21);
  const ldx = C + pick([0, 0, 3]), ldy = OC + pick([0, 0, 5]);
  const OH = up ? 2 * H : Math.ceil(H / 2), OW = up ? 2 * W : Math.ceil(W / 2);
  const k = core.k, a = core.arena, mark = a.mark();
  const X = N * H * W * ldx, Y = N * OH * OW * ldy, Wn = 9 * C * OC, UN = k.split4_packed_size(C, OC);
  const S = up ? k.upconv_split4_packed_scratch_size(N, H, W, C, OC) : k.conv3s2_split4_packed_scratch_size(N, H, W, C, OC);
  const p = { x: a.alloc(X), w: a.alloc(Wn), b: a.alloc(OC), y: a.alloc(Y), y2: a.alloc(Y), U: a.alloc(UN + GUARD), sc: a.alloc(S + GUARD),
    rs: a.alloc(Math.max(k.ref_upconv_scratch_size(N, H, W, C, OC), k.ref_conv2d_scratch_size(N, H, W, C, OC, 3, 3, 2, 1), 1)) };
  const fill = (q: number, n: number) => { const v = core.f32(q, n); for (let i = 0; i < n; i++) v[i] = rnd() * 2 - 1; };
  fill(p.x, X); fill(p.w, Wn); fill(p.b, OC); fill(p.y, Y);
  core.f32(p.y2, Y).set(core.f32(p.y, Y)); // the lanes past OC in a row of ldy must stay
  const bias = rnd() < 0.5 ? p.b : 0;
  const tag = `${label}: ${up ? 'upconv' : 'k3s2'} N${N} ${H}x${W}x${C}(ld${ldx}) -> ${OH}x${OW}x${OC}(ld${ldy})${bias ? ' bias' : ''}`;
  if (up) k.ref_upconv_forward(p.y, p.x, p.w, bias, p.rs, N, H, W, C, OC, ldy, ldx);
  else k.ref_conv2d_forward(p.y, p.x, p.w, bias, p.rs, N, H, W, C, OC, 3, 3, 2, 1, ldy, ldx);
  core.f32(p.U + UN * 4, GUARD).fill(12345);
  core.f32(p.sc + S * 4, GUARD).fill(12345);
  k.split4_pack(p.U, p.w, p.sc, C, OC, OC, 0);
  if (up) k.upconv_split4_forward_packed(p.y2, p.x, p.U, bias, p.sc, N, H, W, C, OC, ldy, ldx);
  else k.conv3s2_split4_forward_packed(p.y2, p.x, p.U, bias, p.sc, N, H, W, C, OC, ldy, ldx);
  expect(core.f32(p.U + UN * 4, GUARD).every((v) => v === 12345), `${tag}: split4_pack wrote past split4_packed_size`).toBe(true);
  expect(core.f32(p.sc + S * 4, GUARD).every((v) => v === 12345), `${tag}: the forward wrote past its scratch (${S} floats)`).toBe(true);
  const want = core.f32(p.y, Y), got = core.f32(p.y2, Y);
  // rounding grows with the reduction length (9 C products) and F(4, 2)'s transform constants (up to 8)
  const atol = 4e-4 * Math.max(1, Math.sqrt(9 * C) / 8);
  for (let i = 0; i < Y; i++) {
    if (!(Math.abs(got[i] - want[i]) <= atol + 1e-4 * Math.abs(want[i]))) throw new Error(`${tag}: y[${i}] reference ${want[i]} vs F(4, 2) ${got[i]}`);
  }
  a.reset(mark);
}

test('F(4, 2) split taps, fused upsample + conv: 80 random shapes against the direct reference, exact scratch', () => {
  const rnd = mulberry32(20261201);
  for (let i = 0; i < 80; i++) runCase(rnd, true, `case ${i}`);
});

test('F(4, 2) split taps, 3x3 stride-2 conv: 80 random shapes against the direct reference, exact scratch', () => {
  const rnd = mulberry32(20261202);
  for (let i = 0; i < 80; i++) runCase(rnd, false, `case ${i}`);
});
