import { loadCore } from '../src/core/load-node.js';
const core = await loadCore({ build: process.argv[2] as 'simd' });
const k = core.k, a = core.arena;
const med = (x: number[]) => x.sort((p, q) => p - q)[x.length >> 1];
function t(fn: () => void) { fn(); fn(); const r: number[] = []; for (let i = 0; i < 5; i++) { let n = 0; const t0 = performance.now(); let t1 = t0; do { fn(); n++; t1 = performance.now(); } while (t1 - t0 < 20); r.push((t1 - t0) / n / 1000); } return med(r); }
for (const [N, C, OC] of JSON.parse(process.argv[3]) as number[][]) {
  const m = a.mark();
  const x = a.alloc(N * C), w = a.alloc(C * OC), y = a.alloc(N * OC), sc = a.alloc(k.conv2d_scratch_size(N, 1, 1, C, OC, 1, 1, 1, 0));
  core.f32(x, N * C).fill(0.5); core.f32(w, C * OC).fill(0.25);
  const s = t(() => k.conv2d_forward(y, x, w, 0, sc, N, 1, 1, C, OC, 1, 1, 1, 0, OC, C));
  console.log(`linear N${N} C${C} OC${OC}: ${(2 * N * C * OC / s / 1e9).toFixed(1)} GFLOP/s (${(s * 1e3).toFixed(2)} ms)`);
  a.reset(m);
}
