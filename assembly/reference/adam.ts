// Scalar reference twin of assembly/adam.ts (which also runs it on its tail): torch.optim.Adam (1.13,
// _single_tensor_adam) on float tensors, one element at a time, in torch's operation order.

export function ref_adam_update(param: usize, grad: usize, m: usize, v: usize, lr: f64, beta1: f64, beta2: f64, eps: f64, step: i32, n: i32): void {
  const bc1 = 1 - Math.pow(beta1, <f64>step), bc2 = 1 - Math.pow(beta2, <f64>step);
  const b1 = <f32>beta1, c1 = <f32>(1 - beta1), b2 = <f32>beta2, c2 = <f32>(1 - beta2);
  const negStep = <f32>(-(lr / bc1)), bc2s = <f32>Math.sqrt(bc2), e = <f32>eps;
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    const g = load<f32>(grad + o);
    const mi = load<f32>(m + o) * b1 + g * c1;         // exp_avg.mul_(beta1).add_(grad, alpha=1-beta1)
    const vi = load<f32>(v + o) * b2 + (c2 * g) * g;   // exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1-beta2)
    const denom = Mathf.sqrt(vi) / bc2s + e;           // (exp_avg_sq.sqrt() / bc2_sqrt).add_(eps)
    store<f32>(m + o, mi);
    store<f32>(v + o, vi);
    store<f32>(param + o, load<f32>(param + o) + (negStep * mi) / denom); // param.addcdiv_(m, denom, value=-step_size)
  }
}
