// Scalar reference twins of assembly/loss.ts: one f64 sum per loss, same signatures.

// @ts-ignore: decorator
@inline function ld(p: usize, i: i32): f32 { return load<f32>(p + (<usize>i << 2)); }

export function ref_l1_loss_forward(loss: usize, a: usize, b: usize, n: i32): void {
  let s: f64 = 0;
  for (let i = 0; i < n; i++) s += Math.abs(<f64>ld(a, i) - <f64>ld(b, i));
  store<f32>(loss, <f32>(s / <f64>n));
}
export function ref_l1_loss_backward(da: usize, scale: f32, a: usize, b: usize, n: i32): void {
  const s = <f32>(<f64>scale / <f64>n);
  for (let i = 0; i < n; i++) {
    const d = ld(a, i) - ld(b, i);
    const g: f32 = d > 0 ? s : d < 0 ? -s : 0;
    store<f32>(da + (<usize>i << 2), ld(da, i) + g);
  }
}
export function ref_mse_loss_forward(loss: usize, x: usize, target: f32, n: i32): void {
  let s: f64 = 0;
  for (let i = 0; i < n; i++) { const d = <f64>ld(x, i) - <f64>target; s += d * d; }
  store<f32>(loss, <f32>(s / <f64>n));
}
export function ref_mse_loss_backward(dx: usize, scale: f32, x: usize, target: f32, n: i32): void {
  const s = <f32>(2 * <f64>scale / <f64>n);
  for (let i = 0; i < n; i++) store<f32>(dx + (<usize>i << 2), ld(dx, i) + s * (ld(x, i) - target));
}
export function ref_kl_loss_forward(loss: usize, mu: usize, logvar: usize, n: i32): void {
  let s: f64 = 0;
  for (let i = 0; i < n; i++) {
    const m = <f64>ld(mu, i), lv = <f64>ld(logvar, i);
    s += Math.exp(lv) + m * m - lv - 1;
  }
  store<f32>(loss, <f32>(0.5 * s));
}
export function ref_kl_loss_backward(dmu: usize, dlogvar: usize, scale: f32, mu: usize, logvar: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    store<f32>(dmu + (<usize>i << 2), ld(dmu, i) + scale * ld(mu, i));
    store<f32>(dlogvar + (<usize>i << 2), ld(dlogvar, i) + <f32>(0.5 * <f64>scale * (Math.exp(<f64>ld(logvar, i)) - 1)));
  }
}
