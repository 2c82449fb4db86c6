// Scalar reference twins of assembly/norm.ts: one channel at a time, f64 sums, same signatures.
// The per-channel O(C) steps (stats_finish, eval_stats, backward_params) are also what the SIMD file runs.

// @ts-ignore: decorator
@inline function at(p: usize, r: i32, ld: i32, c: i32): usize { return p + ((<usize>r * ld + c) << 2); }
// @ts-ignore: decorator
@inline function f(p: usize, c: i32): f32 { return load<f32>(p + (<usize>c << 2)); }
// @ts-ignore: decorator
@inline function d(p: usize, c: i32): f64 { return load<f64>(p + (<usize>c << 3)); }

export function ref_batchnorm_stats_partial(sums: usize, x: usize, P: i32, C: i32, ldx: i32): void {
  for (let c = 0; c < C; c++) {
    let s: f64 = 0, q: f64 = 0;
    for (let p = 0; p < P; p++) { const v = <f64>load<f32>(at(x, p, ldx, c)); s += v; q += v * v; }
    store<f64>(sums + (<usize>c << 3), d(sums, c) + s);
    store<f64>(sums + (<usize>(C + c) << 3), d(sums, C + c) + q);
  }
}

// mean = sum/count; var = sumsq/count - mean^2 (biased, >= 0); rstd = 1/sqrt(var + eps);
// running: r = (1 - momentum) r + momentum * stat, with var unbiased by count/(count - 1) (torch's running_var)
export function ref_batchnorm_stats_finish(mean: usize, rstd: usize, runMean: usize, runVar: usize, sums: usize, count: i32, eps: f64, momentum: f64, C: i32): void {
  // count == 1 (torch refuses it in training) leaves the variance biased instead of dividing by zero
  const n = <f64>count, unbias = count > 1 ? n / (n - 1) : 1;
  for (let c = 0; c < C; c++) {
    const m = d(sums, c) / n, v = max(d(sums, C + c) / n - m * m, 0);
    store<f32>(mean + (<usize>c << 2), <f32>m);
    store<f32>(rstd + (<usize>c << 2), <f32>(1 / Math.sqrt(v + eps)));
    if (runMean != 0) {
      store<f32>(runMean + (<usize>c << 2), <f32>((1 - momentum) * <f64>f(runMean, c) + momentum * m));
      store<f32>(runVar + (<usize>c << 2), <f32>((1 - momentum) * <f64>f(runVar, c) + momentum * v * unbias));
    }
  }
}

export function ref_batchnorm_eval_stats(mean: usize, rstd: usize, runMean: usize, runVar: usize, eps: f64, C: i32): void {
  for (let c = 0; c < C; c++) {
    store<f32>(mean + (<usize>c << 2), f(runMean, c));
    store<f32>(rstd + (<usize>c << 2), <f32>(1 / Math.sqrt(<f64>f(runVar, c) + eps)));
  }
}

export function ref_batchnorm_apply(y: usize, x: usize, mean: usize, rstd: usize, gamma: usize, beta: usize, P: i32, C: i32, ldy: i32, ldx: i32): void {
  for (let p = 0; p < P; p++) for (let c = 0; c < C; c++) {
    const g: f32 = gamma != 0 ? f(gamma, c) : 1, b: f32 = beta != 0 ? f(beta, c) : 0;
    store<f32>(at(y, p, ldy, c), (load<f32>(at(x, p, ldx, c)) - f(mean, c)) * f(rstd, c) * g + b);
  }
}

export function ref_batchnorm_forward(y: usize, mean: usize, rstd: usize, runMean: usize, runVar: usize, sums: usize, x: usize, gamma: usize, beta: usize, eps: f64, momentum: f64, training: i32, P: i32, C: i32, ldy: i32, ldx: i32): void {
  if (training != 0) {
    for (let i = 0; i < 2 * C; i++) store<f64>(sums + (<usize>i << 3), 0);
    ref_batchnorm_stats_partial(sums, x, P, C, ldx);
    ref_batchnorm_stats_finish(mean, rstd, runMean, runVar, sums, P, eps, momentum, C);
  } else {
    ref_batchnorm_eval_stats(mean, rstd, runMean, runVar, eps, C);
  }
  ref_batchnorm_apply(y, x, mean, rstd, gamma, beta, P, C, ldy, ldx);
}

export function ref_batchnorm_backward_partial(sums: usize, dy: usize, x: usize, mean: usize, rstd: usize, P: i32, C: i32, ldy: i32, ldx: i32): void {
  for (let c = 0; c < C; c++) {
    let s: f64 = 0, q: f64 = 0;
    for (let p = 0; p < P; p++) {
      const g = <f64>load<f32>(at(dy, p, ldy, c)), xh = (load<f32>(at(x, p, ldx, c)) - f(mean, c)) * f(rstd, c);
      s += g; q += g * <f64>xh;
    }
    store<f64>(sums + (<usize>c << 3), d(sums, c) + s);
    store<f64>(sums + (<usize>(C + c) << 3), d(sums, C + c) + q);
  }
}

export function ref_batchnorm_backward_params(dgamma: usize, dbeta: usize, sums: usize, C: i32): void {
  for (let c = 0; c < C; c++) {
    if (dbeta != 0) store<f32>(dbeta + (<usize>c << 2), f(dbeta, c) + <f32>d(sums, c));
    if (dgamma != 0) store<f32>(dgamma + (<usize>c << 2), f(dgamma, c) + <f32>d(sums, C + c));
  }
}

export function ref_batchnorm_backward_apply(dx: usize, dy: usize, x: usize, gamma: usize, mean: usize, rstd: usize, sums: usize, count: i32, training: i32, P: i32, C: i32, ldx: i32, ldy: i32): void {
  const inv = 1 / <f64>count;
  for (let c = 0; c < C; c++) {
    const m = f(mean, c), r = f(rstd, c), k = gamma != 0 ? f(gamma, c) * r : r;
    const a = <f32>(d(sums, c) * inv), b = <f32>(d(sums, C + c) * inv);
    for (let p = 0; p < P; p++) {
      const g = load<f32>(at(dy, p, ldy, c)), xh = (load<f32>(at(x, p, ldx, c)) - m) * r;
      const t = training != 0 ? g - a - xh * b : g;
      store<f32>(at(dx, p, ldx, c), load<f32>(at(dx, p, ldx, c)) + k * t);
    }
  }
}

export function ref_batchnorm_backward(dx: usize, dgamma: usize, dbeta: usize, sums: usize, dy: usize, x: usize, gamma: usize, mean: usize, rstd: usize, training: i32, P: i32, C: i32, ldx: i32, ldy: i32): void {
  const params = dgamma != 0 || dbeta != 0;
  for (let i = 0; i < 2 * C; i++) store<f64>(sums + (<usize>i << 3), 0);
  if (training != 0 || params) ref_batchnorm_backward_partial(sums, dy, x, mean, rstd, P, C, ldy, ldx);
  if (params) ref_batchnorm_backward_params(dgamma, dbeta, sums, C);
  ref_batchnorm_backward_apply(dx, dy, x, gamma, mean, rstd, sums, P, training, P, C, ldx, ldy);
}

export function ref_instancenorm_forward(y: usize, mean: usize, rstd: usize, x: usize, eps: f64, N: i32, HW: i32, C: i32, ldy: i32, ldx: i32): void {
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) {
    let s: f64 = 0, q: f64 = 0;
    for (let p = 0; p < HW; p++) { const v = <f64>load<f32>(at(x, n * HW + p, ldx, c)); s += v; q += v * v; }
    const m = s / <f64>HW, v = max(q / <f64>HW - m * m, 0);
    const mf = <f32>m, rf = <f32>(1 / Math.sqrt(v + eps));
    store<f32>(mean + (<usize>(n * C + c) << 2), mf);
    store<f32>(rstd + (<usize>(n * C + c) << 2), rf);
    for (let p = 0; p < HW; p++) store<f32>(at(y, n * HW + p, ldy, c), (load<f32>(at(x, n * HW + p, ldx, c)) - mf) * rf);
  }
}

export function ref_instancenorm_backward(dx: usize, dy: usize, x: usize, mean: usize, rstd: usize, N: i32, HW: i32, C: i32, ldx: i32, ldy: i32): void {
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) {
    const m = f(mean, n * C + c), r = f(rstd, n * C + c);
    let s: f64 = 0, q: f64 = 0;
    for (let p = 0; p < HW; p++) {
      const g = <f64>load<f32>(at(dy, n * HW + p, ldy, c)), xh = (load<f32>(at(x, n * HW + p, ldx, c)) - m) * r;
      s += g; q += g * <f64>xh;
    }
    const a = <f32>(s / <f64>HW), b = <f32>(q / <f64>HW);
    for (let p = 0; p < HW; p++) {
      const xh = (load<f32>(at(x, n * HW + p, ldx, c)) - m) * r;
      const i = at(dx, n * HW + p, ldx, c);
      store<f32>(i, load<f32>(i) + r * (load<f32>(at(dy, n * HW + p, ldy, c)) - a - xh * b));
    }
  }
}
