// Losses over flat contiguous arrays of n floats (L1, LSGAN's MSE against a constant target, the VAE's KL).
// Forward writes the loss (one f32 at `loss`, not accumulated), summed in f64 four lanes at a time.
// Backward ACCUMULATES scale * dloss/dinput, where scale is the upstream gradient of the loss.
// see: torch.nn.functional.l1_loss / mse_loss (reduction='mean'); KL as in bicyclegan-reference.md §6 (a SUM).
import { exp4 } from './simd';

// Adds the four lanes of v, widened to f64, to the two f64x2 accumulators' sum (returned as lanes 0+1 of acc).
// @ts-ignore: decorator
@inline function widen_add(acc: v128, v: v128): v128 {
  return f64x2.add(f64x2.add(acc, f64x2.promote_low_f32x4(v)), f64x2.promote_low_f32x4(f32x4.shuffle(v, v, 2, 3, 2, 3)));
}

// @ts-ignore: decorator
@inline function lanes_sum(acc: v128): f64 { return f64x2.extract_lane(acc, 0) + f64x2.extract_lane(acc, 1); }

// loss = mean |a - b|.  a, b: [n]
export function l1_loss_forward(loss: usize, a: usize, b: usize, n: i32): void {
  let acc = f64x2.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    acc = widen_add(acc, f32x4.abs(f32x4.sub(v128.load(a + o), v128.load(b + o))));
  }
  let s = lanes_sum(acc);
  for (; i < n; i++) { const o = <usize>i << 2; s += <f64>Mathf.abs(load<f32>(a + o) - load<f32>(b + o)); }
  store<f32>(loss, <f32>(s / <f64>n));
}

// da += scale * sign(a - b) / n   (sign(0) = 0, as torch.sign)
export function l1_loss_backward(da: usize, scale: f32, a: usize, b: usize, n: i32): void {
  const s = <f32>(<f64>scale / <f64>n);
  const sv = f32x4.splat(s), nsv = f32x4.splat(-s), zero = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const d = f32x4.sub(v128.load(a + o), v128.load(b + o));
    const g = v128.or(v128.and(sv, f32x4.gt(d, zero)), v128.and(nsv, f32x4.lt(d, zero)));
    v128.store(da + o, f32x4.add(v128.load(da + o), g));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2, d = load<f32>(a + o) - load<f32>(b + o);
    store<f32>(da + o, load<f32>(da + o) + (d > 0 ? s : d < 0 ? -s : <f32>0));
  }
}

// loss = mean (x - target)^2.  x: [n], target: a constant (LSGAN's real/fake label)
export function mse_loss_forward(loss: usize, x: usize, target: f32, n: i32): void {
  const tv = f32x4.splat(target);
  let acc = f64x2.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const d = f32x4.sub(v128.load(x + (<usize>i << 2)), tv);
    acc = widen_add(acc, f32x4.mul(d, d));
  }
  let s = lanes_sum(acc);
  for (; i < n; i++) { const d = load<f32>(x + (<usize>i << 2)) - target; s += <f64>(d * d); }
  store<f32>(loss, <f32>(s / <f64>n));
}

// dx += scale * 2 (x - target) / n
export function mse_loss_backward(dx: usize, scale: f32, x: usize, target: f32, n: i32): void {
  const s = <f32>(2 * <f64>scale / <f64>n);
  const sv = f32x4.splat(s), tv = f32x4.splat(target);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(dx + o, f32x4.add(v128.load(dx + o), f32x4.mul(sv, f32x4.sub(v128.load(x + o), tv))));
  }
  for (; i < n; i++) { const o = <usize>i << 2; store<f32>(dx + o, load<f32>(dx + o) + s * (load<f32>(x + o) - target)); }
}

// loss = 0.5 * sum(exp(lv) + mu^2 - lv - 1), a SUM over batch and latent dims.  mu, logvar: [n]
export function kl_loss_forward(loss: usize, mu: usize, logvar: usize, n: i32): void {
  const one = f32x4.splat(1);
  let acc = f64x2.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const m = v128.load(mu + o), lv = v128.load(logvar + o);
    acc = widen_add(acc, f32x4.sub(f32x4.add(exp4(lv), f32x4.mul(m, m)), f32x4.add(lv, one)));
  }
  let s = lanes_sum(acc);
  for (; i < n; i++) {
    const o = <usize>i << 2, m = load<f32>(mu + o), lv = load<f32>(logvar + o);
    s += <f64>(Mathf.exp(lv) + m * m - (lv + 1));
  }
  store<f32>(loss, <f32>(0.5 * s));
}

// dmu += scale * mu;  dlogvar += scale * 0.5 * (exp(lv) - 1)
export function kl_loss_backward(dmu: usize, dlogvar: usize, scale: f32, mu: usize, logvar: usize, n: i32): void {
  const sv = f32x4.splat(scale), hv = f32x4.splat(0.5 * scale), one = f32x4.splat(1);
  const h: f32 = 0.5 * scale;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(dmu + o, f32x4.add(v128.load(dmu + o), f32x4.mul(sv, v128.load(mu + o))));
    const e = f32x4.sub(exp4(v128.load(logvar + o)), one);
    v128.store(dlogvar + o, f32x4.add(v128.load(dlogvar + o), f32x4.mul(hv, e)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(dmu + o, load<f32>(dmu + o) + scale * load<f32>(mu + o));
    store<f32>(dlogvar + o, load<f32>(dlogvar + o) + h * (Mathf.exp(load<f32>(logvar + o)) - 1));
  }
}
