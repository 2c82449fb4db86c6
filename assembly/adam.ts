// Adam over one flat range of parameters (params, grads, m and v share one layout table, DESIGN.md §Memory).
// Reproduces torch.optim.Adam of PyTorch 1.13 (_single_tensor_adam; no weight decay, no amsgrad) on CPU
// float tensors: scalars in f64 (Python floats) rounded to f32, per-element math in f32 in torch's order.
// No fused multiply-add here even in the relaxed build, so both builds match the reference bit for bit.
import { ref_adam_update } from './reference/adam';

// param, grad, m, v: [n]; step >= 1 (already incremented). Hyper-parameters are f64, as Python floats.
//   m = m*beta1 + g*(1-beta1); v = v*beta2 + ((1-beta2)*g)*g
//   p = p + (-lr/bc1 * m) / (sqrt(v)/sqrt(bc2) + eps), bc1 = 1 - beta1^step, bc2 = 1 - beta2^step
export function adam_update(param: usize, grad: usize, m: usize, v: usize, lr: f64, beta1: f64, beta2: f64, eps: f64, step: i32, n: i32): void {
  const bc1 = 1 - Math.pow(beta1, <f64>step), bc2 = 1 - Math.pow(beta2, <f64>step);
  const b1 = f32x4.splat(<f32>beta1), c1 = f32x4.splat(<f32>(1 - beta1));
  const b2 = f32x4.splat(<f32>beta2), c2 = f32x4.splat(<f32>(1 - beta2));
  const negStep = f32x4.splat(<f32>(-(lr / bc1))), bc2s = f32x4.splat(<f32>Math.sqrt(bc2)), e = f32x4.splat(<f32>eps);
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const o = <usize>i << 2;
    step4(param + o, grad + o, m + o, v + o, b1, c1, b2, c2, negStep, bc2s, e);
  }
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const g = v128.load(grad + o);
    const mi = f32x4.add(f32x4.mul(v128.load(m + o), b1), f32x4.mul(g, c1));
    const vi = f32x4.add(f32x4.mul(v128.load(v + o), b2), f32x4.mul(f32x4.mul(c2, g), g));
    const denom = f32x4.add(f32x4.div(f32x4.sqrt(vi), bc2s), e);
    v128.store(m + o, mi);
    v128.store(v + o, vi);
    v128.store(param + o, f32x4.add(v128.load(param + o), f32x4.div(f32x4.mul(negStep, mi), denom)));
  }
  // the tail is the reference loop over the remaining elements
  const o = <usize>i << 2;
  if (i < n) ref_adam_update(param + o, grad + o, m + o, v + o, lr, beta1, beta2, eps, step, n - i);
}

// 16 elements: four independent vectors (ILP for the divisions and square roots)
// @ts-ignore: decorator
@inline function step4(p: usize, gp: usize, mp: usize, vp: usize, b1: v128, c1: v128, b2: v128, c2: v128, negStep: v128, bc2s: v128, e: v128): void {
  const g0 = v128.load(gp), g1 = v128.load(gp, 16), g2 = v128.load(gp, 32), g3 = v128.load(gp, 48);
  const m0 = f32x4.add(f32x4.mul(v128.load(mp), b1), f32x4.mul(g0, c1));
  const m1 = f32x4.add(f32x4.mul(v128.load(mp, 16), b1), f32x4.mul(g1, c1));
  const m2 = f32x4.add(f32x4.mul(v128.load(mp, 32), b1), f32x4.mul(g2, c1));
  const m3 = f32x4.add(f32x4.mul(v128.load(mp, 48), b1), f32x4.mul(g3, c1));
  const v0 = f32x4.add(f32x4.mul(v128.load(vp), b2), f32x4.mul(f32x4.mul(c2, g0), g0));
  const v1 = f32x4.add(f32x4.mul(v128.load(vp, 16), b2), f32x4.mul(f32x4.mul(c2, g1), g1));
  const v2 = f32x4.add(f32x4.mul(v128.load(vp, 32), b2), f32x4.mul(f32x4.mul(c2, g2), g2));
  const v3 = f32x4.add(f32x4.mul(v128.load(vp, 48), b2), f32x4.mul(f32x4.mul(c2, g3), g3));
  v128.store(mp, m0); v128.store(mp, m1, 16); v128.store(mp, m2, 32); v128.store(mp, m3, 48);
  v128.store(vp, v0); v128.store(vp, v1, 16); v128.store(vp, v2, 32); v128.store(vp, v3, 48);
  const d0 = f32x4.add(f32x4.div(f32x4.sqrt(v0), bc2s), e), d1 = f32x4.add(f32x4.div(f32x4.sqrt(v1), bc2s), e);
  const d2 = f32x4.add(f32x4.div(f32x4.sqrt(v2), bc2s), e), d3 = f32x4.add(f32x4.div(f32x4.sqrt(v3), bc2s), e);
  v128.store(p, f32x4.add(v128.load(p), f32x4.div(f32x4.mul(negStep, m0), d0)));
  v128.store(p, f32x4.add(v128.load(p, 16), f32x4.div(f32x4.mul(negStep, m1), d1)), 16);
  v128.store(p, f32x4.add(v128.load(p, 32), f32x4.div(f32x4.mul(negStep, m2), d2)), 32);
  v128.store(p, f32x4.add(v128.load(p, 48), f32x4.div(f32x4.mul(negStep, m3), d3)), 48);
}
