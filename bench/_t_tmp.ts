import { loadCore } from '../src/core/load-node.js';
const core = await loadCore({ build: 'relaxed', maxMemoryMB: 1024 });
const k = core.k, a = core.arena;
for (const N of [1, 8, 32]) {
const [H, C, OC] = [1, 512, 512]; const U = 2 * H;
const x = a.alloc(N*H*H*C), u = a.alloc(N*U*U*C), y = a.alloc(N*U*U*OC), dy = a.alloc(N*U*U*OC), w = a.alloc(9*C*OC), dw = a.alloc(9*C*OC), dx = a.alloc(N*H*H*C), du = a.alloc(N*U*U*C);
const sc = a.alloc(Math.max(k.upconv_scratch_size(N,H,H,C,OC), k.upconv_packed_scratch_size(N,H,H,C,OC), k.conv2d_scratch_size(N,U,U,C,OC,3,3,1,1)));
const t = (f: () => void) => { for (let i = 0; i < 5; i++) f(); const ts = []; for (let r = 0; r < 21; r++) { const t0 = performance.now(); f(); ts.push(performance.now() - t0); } ts.sort((a, b) => a - b); return ts[0].toFixed(3) + ' / ' + ts[10].toFixed(3); };
console.log(N, 'sep fwd', t(() => { k.upsample_nearest2x_forward(u, x, N, H, H, C, C, C); k.conv2d_forward(y, u, w, 0, sc, N, U, U, C, OC, 3, 3, 1, 1, OC, C); }));
console.log(N, 'fused fwd', t(() => k.upconv_forward(y, x, w, 0, sc, N, H, H, C, OC, OC, C)));
console.log(N, 'sep bwdIn', t(() => { k.view_zero(du, N*U*U, C, C); k.conv2d_backward_input(du, dy, w, sc, N, U, U, C, OC, 3, 3, 1, 1, C, OC); k.upsample_nearest2x_backward(dx, du, N, H, H, C, C, C); }));
console.log(N, 'fused bwdIn', t(() => k.upconv_backward_input(dx, dy, w, sc, N, H, H, C, OC, C, OC)));
console.log(N, 'sep bwdW', t(() => k.conv2d_backward_weight(dw, 0, dy, u, sc, N, U, U, C, OC, 3, 3, 1, 1, OC, C)));
console.log(N, 'fused bwdW', t(() => k.upconv_backward_weight(dw, 0, dy, x, sc, N, H, H, C, OC, OC, C)));
}
