import { loadCore } from '../src/core/load-node.js';
const core = await loadCore({ build: 'relaxed', maxMemoryMB: 1024 });
const k = core.k, a = core.arena;
const t = (f: () => void) => { for (let i = 0; i < 3; i++) f(); const ts = []; for (let r = 0; r < 15; r++) { const t0 = performance.now(); f(); ts.push(performance.now() - t0); } ts.sort((a, b) => a - b); return ts[0].toFixed(2) + '/' + ts[7].toFixed(2); };
for (const [C, OC] of [[1024, 512]]) {
  for (const N of [33, 64]) {
  const H = 1;
  const x = a.alloc(N*C), dy = a.alloc(N*4*OC), scw = a.alloc(k.upconv_scratch_size(N, H, H, C, OC)), dw = a.alloc(9*C*OC), dwd = a.alloc(16*C*OC);
  console.log(C, OC, N, 'bwdW 1x1 ms', t(() => k.upconv_backward_weight(dw, 0, dy, x, scw, N, H, H, C, OC, OC, C)),
    'dual conv bwdW only', t(() => k.conv2d_backward_weight(dwd, 0, x, dy, scw, N, 2 * H, 2 * H, OC, C, 4, 4, 2, 1, C, OC)),
    'zero 16 taps', t(() => k.view_zero(dwd, 1, 16 * C * OC, 16 * C * OC)));
  }
}
