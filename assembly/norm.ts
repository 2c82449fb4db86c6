// Batch and instance normalisation over NHWC views, forward and backward side by side.
// Legend: x is (P pixels, C channels) with pixel stride ldx floats (a channel slice of a wider buffer is fine);
// for BatchNorm P = N*H*W and statistics are per channel over all P pixels; for InstanceNorm x is (N, HW, C)
// and statistics are per (n, c). Sums of x, x^2, dy and dy*xhat are accumulated in f64 (a BN layer of the
// 128x128 generator sums 131072 pixels per channel); everything else is f32. Backward kernels ACCUMULATE.
// BatchNorm is split into partial/finish steps so data-parallel shards can add their `sums` (f64[2*C])
// before finishing; batchnorm_forward/backward run a whole batch in one call.
// see: torch.nn.BatchNorm2d / InstanceNorm2d (biased variance to normalise, unbiased for running_var).
import { madd } from './simd';
import {
  ref_batchnorm_backward_params, ref_batchnorm_eval_stats, ref_batchnorm_stats_finish,
} from './reference/norm';

// Pixels per tile: a tile of x (TILE*C floats, 16 KiB at C = 64) stays in L1 while it is walked once per
// 4-channel block, so per-block constants and f64 accumulators live in registers, not memory.
const TILE = 64;

// @ts-ignore: decorator
@inline function px(p: usize, r: i32, ld: i32, c: i32): usize { return p + ((<usize>r * ld + c) << 2); }
// lanes 0,1 and lanes 2,3 of an f32x4, widened to f64x2
// @ts-ignore: decorator
@inline function lo64(v: v128): v128 { return f64x2.promote_low_f32x4(v); }
// @ts-ignore: decorator
@inline function hi64(v: v128): v128 { return f64x2.promote_low_f32x4(f32x4.shuffle(v, v, 2, 3, 2, 3)); }
// two f64x2 back to one f32x4
// @ts-ignore: decorator
@inline function narrow(lo: v128, hi: v128): v128 {
  return f32x4.shuffle(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5);
}
// four f64 at p += (lo, hi)
// @ts-ignore: decorator
@inline function add64(p: usize, lo: v128, hi: v128): void {
  v128.store(p, f64x2.add(v128.load(p), lo));
  v128.store(p + 16, f64x2.add(v128.load(p + 16), hi));
}

// ---- BatchNorm2d -------------------------------------------------------------------------------------

// sums[c] += sum_p x[p,c]; sums[C+c] += sum_p x[p,c]^2.  sums: f64[2C], ACCUMULATES (shards add up)
export function batchnorm_stats_partial(sums: usize, x: usize, P: i32, C: i32, ldx: i32): void {
  const C4 = C & ~3, step = <usize>ldx << 2, sq = sums + (<usize>C << 3);
  for (let p0 = 0; p0 < P; p0 += TILE) {
    const p1 = min(P, p0 + TILE);
    for (let c = 0; c < C4; c += 4) {
      let s0 = f64x2.splat(0), s1 = s0, q0 = s0, q1 = s0;
      let xp = px(x, p0, ldx, c);
      for (let p = p0; p < p1; p++, xp += step) {
        const v = v128.load(xp), lo = lo64(v), hi = hi64(v);
        s0 = f64x2.add(s0, lo); s1 = f64x2.add(s1, hi);
        q0 = f64x2.add(q0, f64x2.mul(lo, lo)); q1 = f64x2.add(q1, f64x2.mul(hi, hi));
      }
      add64(sums + (<usize>c << 3), s0, s1);
      add64(sq + (<usize>c << 3), q0, q1);
    }
    for (let c = C4; c < C; c++) {
      let s: f64 = 0, q: f64 = 0;
      for (let p = p0; p < p1; p++) { const v = <f64>load<f32>(px(x, p, ldx, c)); s += v; q += v * v; }
      store<f64>(sums + (<usize>c << 3), load<f64>(sums + (<usize>c << 3)) + s);
      store<f64>(sq + (<usize>c << 3), load<f64>(sq + (<usize>c << 3)) + q);
    }
  }
}

// mean, rstd: [C] from the (global) sums over `count` pixels; running stats updated unless runMean == 0.
// O(C) work: the scalar loop is the kernel.
export function batchnorm_stats_finish(mean: usize, rstd: usize, runMean: usize, runVar: usize, sums: usize, count: i32, eps: f64, momentum: f64, C: i32): void {
  ref_batchnorm_stats_finish(mean, rstd, runMean, runVar, sums, count, eps, momentum, C);
}

// Eval mode: mean = runMean, rstd = 1/sqrt(runVar + eps).
export function batchnorm_eval_stats(mean: usize, rstd: usize, runMean: usize, runVar: usize, eps: f64, C: i32): void {
  ref_batchnorm_eval_stats(mean, rstd, runMean, runVar, eps, C);
}

// y = (x - mean) * rstd * gamma + beta.  y: (P, C) ldy; gamma == 0 / beta == 0: not affine
export function batchnorm_apply(y: usize, x: usize, mean: usize, rstd: usize, gamma: usize, beta: usize, P: i32, C: i32, ldy: i32, ldx: i32): void {
  const C4 = C & ~3, sx = <usize>ldx << 2, sy = <usize>ldy << 2;
  for (let p0 = 0; p0 < P; p0 += TILE) {
    const p1 = min(P, p0 + TILE);
    for (let c = 0; c < C4; c += 4) {
      const o = <usize>c << 2;
      const m = v128.load(mean + o), r = v128.load(rstd + o);
      const s = gamma != 0 ? f32x4.mul(r, v128.load(gamma + o)) : r;
      const b = beta != 0 ? v128.load(beta + o) : f32x4.splat(0);
      let xp = px(x, p0, ldx, c), yp = px(y, p0, ldy, c);
      for (let p = p0; p < p1; p++, xp += sx, yp += sy) v128.store(yp, madd(f32x4.sub(v128.load(xp), m), s, b));
    }
    for (let c = C4; c < C; c++) {
      const o = <usize>c << 2;
      const m = load<f32>(mean + o), r = load<f32>(rstd + o);
      const g: f32 = gamma != 0 ? load<f32>(gamma + o) : 1, b: f32 = beta != 0 ? load<f32>(beta + o) : 0;
      for (let p = p0; p < p1; p++) store<f32>(px(y, p, ldy, c), (load<f32>(px(x, p, ldx, c)) - m) * r * g + b);
    }
  }
}

// The whole batch in one call. training = 1: batch statistics (sums zeroed here), running stats updated;
// training = 0: running statistics.  mean, rstd: [C] saved for backward
export function batchnorm_forward(y: usize, mean: usize, rstd: usize, runMean: usize, runVar: usize, sums: usize, x: usize, gamma: usize, beta: usize, eps: f64, momentum: f64, training: i32, P: i32, C: i32, ldy: i32, ldx: i32): void {
  if (training != 0) {
    memory.fill(sums, 0, <usize>C << 4);
    batchnorm_stats_partial(sums, x, P, C, ldx);
    batchnorm_stats_finish(mean, rstd, runMean, runVar, sums, P, eps, momentum, C);
  } else {
    batchnorm_eval_stats(mean, rstd, runMean, runVar, eps, C);
  }
  batchnorm_apply(y, x, mean, rstd, gamma, beta, P, C, ldy, ldx);
}

// sums[c] += sum_p dy; sums[C+c] += sum_p dy * xhat, xhat = (x - mean) * rstd.  ACCUMULATES (shards add up)
export function batchnorm_backward_partial(sums: usize, dy: usize, x: usize, mean: usize, rstd: usize, P: i32, C: i32, ldy: i32, ldx: i32): void {
  const C4 = C & ~3, sx = <usize>ldx << 2, sy = <usize>ldy << 2, sq = sums + (<usize>C << 3);
  for (let p0 = 0; p0 < P; p0 += TILE) {
    const p1 = min(P, p0 + TILE);
    for (let c = 0; c < C4; c += 4) {
      const m = v128.load(mean + (<usize>c << 2)), r = v128.load(rstd + (<usize>c << 2));
      let s0 = f64x2.splat(0), s1 = s0, q0 = s0, q1 = s0;
      let xp = px(x, p0, ldx, c), gp = px(dy, p0, ldy, c);
      for (let p = p0; p < p1; p++, xp += sx, gp += sy) {
        const g = v128.load(gp), xh = f32x4.mul(f32x4.sub(v128.load(xp), m), r);
        const glo = lo64(g), ghi = hi64(g);
        s0 = f64x2.add(s0, glo); s1 = f64x2.add(s1, ghi);
        q0 = f64x2.add(q0, f64x2.mul(glo, lo64(xh))); q1 = f64x2.add(q1, f64x2.mul(ghi, hi64(xh)));
      }
      add64(sums + (<usize>c << 3), s0, s1);
      add64(sq + (<usize>c << 3), q0, q1);
    }
    for (let c = C4; c < C; c++) {
      const m = load<f32>(mean + (<usize>c << 2)), r = load<f32>(rstd + (<usize>c << 2));
      let s: f64 = 0, q: f64 = 0;
      for (let p = p0; p < p1; p++) {
        const g = <f64>load<f32>(px(dy, p, ldy, c)), xh = (load<f32>(px(x, p, ldx, c)) - m) * r;
        s += g; q += g * <f64>xh;
      }
      store<f64>(sums + (<usize>c << 3), load<f64>(sums + (<usize>c << 3)) + s);
      store<f64>(sq + (<usize>c << 3), load<f64>(sq + (<usize>c << 3)) + q);
    }
  }
}

// dbeta += sums[0..C); dgamma += sums[C..2C), from a shard's OWN sums (O(C): the scalar loop is the kernel)
export function batchnorm_backward_params(dgamma: usize, dbeta: usize, sums: usize, C: i32): void {
  ref_batchnorm_backward_params(dgamma, dbeta, sums, C);
}

// training = 1: dx += gamma*rstd*(dy - sum_dy/count - xhat*sum_dyxhat/count), sums over the whole batch;
// training = 0: dx += gamma*rstd*dy.  gamma == 0: gamma = 1
export function batchnorm_backward_apply(dx: usize, dy: usize, x: usize, gamma: usize, mean: usize, rstd: usize, sums: usize, count: i32, training: i32, P: i32, C: i32, ldx: i32, ldy: i32): void {
  const C4 = C & ~3, sx = <usize>ldx << 2, sy = <usize>ldy << 2, sq = sums + (<usize>C << 3);
  const inv = f64x2.splat(1 / <f64>count);
  for (let p0 = 0; p0 < P; p0 += TILE) {
    const p1 = min(P, p0 + TILE);
    for (let c = 0; c < C4; c += 4) {
      const o = <usize>c << 2, o8 = <usize>c << 3;
      const m = v128.load(mean + o), r = v128.load(rstd + o);
      const k = gamma != 0 ? f32x4.mul(v128.load(gamma + o), r) : r;
      let xp = px(x, p0, ldx, c), gp = px(dy, p0, ldy, c), dp = px(dx, p0, ldx, c);
      if (training != 0) {
        const a = narrow(f64x2.mul(v128.load(sums + o8), inv), f64x2.mul(v128.load(sums + o8 + 16), inv));
        const b = narrow(f64x2.mul(v128.load(sq + o8), inv), f64x2.mul(v128.load(sq + o8 + 16), inv));
        for (let p = p0; p < p1; p++, xp += sx, gp += sy, dp += sx) {
          const xh = f32x4.mul(f32x4.sub(v128.load(xp), m), r);
          const t = f32x4.sub(f32x4.sub(v128.load(gp), a), f32x4.mul(xh, b));
          v128.store(dp, f32x4.add(v128.load(dp), f32x4.mul(k, t)));
        }
      } else {
        for (let p = p0; p < p1; p++, gp += sy, dp += sx) v128.store(dp, f32x4.add(v128.load(dp), f32x4.mul(k, v128.load(gp))));
      }
    }
    for (let c = C4; c < C; c++) {
      const o = <usize>c << 2, o8 = <usize>c << 3;
      const m = load<f32>(mean + o), r = load<f32>(rstd + o);
      const k = gamma != 0 ? load<f32>(gamma + o) * r : r;
      const a = <f32>(load<f64>(sums + o8) / <f64>count), b = <f32>(load<f64>(sq + o8) / <f64>count);
      for (let p = p0; p < p1; p++) {
        const g = load<f32>(px(dy, p, ldy, c)), d = px(dx, p, ldx, c);
        const t = training != 0 ? g - a - (load<f32>(px(x, p, ldx, c)) - m) * r * b : g;
        store<f32>(d, load<f32>(d) + k * t);
      }
    }
  }
}

// The whole batch in one call: sums (f64[2C] scratch) zeroed, partial, params (if dgamma/dbeta), apply.
export function batchnorm_backward(dx: usize, dgamma: usize, dbeta: usize, sums: usize, dy: usize, x: usize, gamma: usize, mean: usize, rstd: usize, training: i32, P: i32, C: i32, ldx: i32, ldy: i32): void {
  const params = dgamma != 0 || dbeta != 0;
  memory.fill(sums, 0, <usize>C << 4);
  if (training != 0 || params) batchnorm_backward_partial(sums, dy, x, mean, rstd, P, C, ldy, ldx);
  if (params) batchnorm_backward_params(dgamma, dbeta, sums, C);
  batchnorm_backward_apply(dx, dy, x, gamma, mean, rstd, sums, P, training, P, C, ldx, ldy);
}

// ---- InstanceNorm2d (affine = False; same in train and eval) -----------------------------------------

// y = (x - mean) * rstd per (n, c).  x, y: (N, HW, C) views; mean, rstd: [N][C] saved for backward.
// Statistics walk one 4-channel block over all HW pixels with f64 accumulators in registers (no scratch).
export function instancenorm_forward(y: usize, mean: usize, rstd: usize, x: usize, eps: f64, N: i32, HW: i32, C: i32, ldy: i32, ldx: i32): void {
  const C4 = C & ~3, sx = <usize>ldx << 2, sy = <usize>ldy << 2;
  const inv = 1 / <f64>HW, invv = f64x2.splat(inv), epsv = f64x2.splat(eps), one = f64x2.splat(1);
  for (let n = 0; n < N; n++) {
    const xn = px(x, n * HW, ldx, 0), yn = px(y, n * HW, ldy, 0);
    const mn = mean + ((<usize>n * C) << 2), rn = rstd + ((<usize>n * C) << 2);
    for (let c = 0; c < C4; c += 4) {
      let s0 = f64x2.splat(0), s1 = s0, q0 = s0, q1 = s0;
      let xp = xn + (<usize>c << 2);
      for (let p = 0; p < HW; p++, xp += sx) {
        const v = v128.load(xp), lo = lo64(v), hi = hi64(v);
        s0 = f64x2.add(s0, lo); s1 = f64x2.add(s1, hi);
        q0 = f64x2.add(q0, f64x2.mul(lo, lo)); q1 = f64x2.add(q1, f64x2.mul(hi, hi));
      }
      const m0 = f64x2.mul(s0, invv), m1 = f64x2.mul(s1, invv);
      const v0 = f64x2.max(f64x2.sub(f64x2.mul(q0, invv), f64x2.mul(m0, m0)), f64x2.splat(0));
      const v1 = f64x2.max(f64x2.sub(f64x2.mul(q1, invv), f64x2.mul(m1, m1)), f64x2.splat(0));
      v128.store(mn + (<usize>c << 2), narrow(m0, m1));
      v128.store(rn + (<usize>c << 2), narrow(f64x2.div(one, f64x2.sqrt(f64x2.add(v0, epsv))), f64x2.div(one, f64x2.sqrt(f64x2.add(v1, epsv)))));
    }
    for (let c = C4; c < C; c++) {
      let s: f64 = 0, q: f64 = 0;
      for (let p = 0; p < HW; p++) { const v = <f64>load<f32>(px(xn, p, ldx, c)); s += v; q += v * v; }
      const m = s * inv, v = max(q * inv - m * m, 0);
      store<f32>(mn + (<usize>c << 2), <f32>m);
      store<f32>(rn + (<usize>c << 2), <f32>(1 / Math.sqrt(v + eps)));
    }
    // normalise, pixel by pixel (the [C] stats stay in L1)
    for (let p = 0; p < HW; p++) {
      const xp = xn + <usize>p * sx, yp = yn + <usize>p * sy;
      let c = 0;
      for (; c < C4; c += 4) {
        const o = <usize>c << 2;
        v128.store(yp + o, f32x4.mul(f32x4.sub(v128.load(xp + o), v128.load(mn + o)), v128.load(rn + o)));
      }
      for (; c < C; c++) {
        const o = <usize>c << 2;
        store<f32>(yp + o, (load<f32>(xp + o) - load<f32>(mn + o)) * load<f32>(rn + o));
      }
    }
  }
}

// dx += rstd * (dy - mean_p(dy) - xhat * mean_p(dy * xhat)) per (n, c); accumulates.
// Per 4-channel block: one pass for the two f64 sums, one pass to apply them.
export function instancenorm_backward(dx: usize, dy: usize, x: usize, mean: usize, rstd: usize, N: i32, HW: i32, C: i32, ldx: i32, ldy: i32): void {
  const C4 = C & ~3, sx = <usize>ldx << 2, sy = <usize>ldy << 2;
  const inv = 1 / <f64>HW, invv = f64x2.splat(inv);
  for (let n = 0; n < N; n++) {
    const xn = px(x, n * HW, ldx, 0), gn = px(dy, n * HW, ldy, 0), dn = px(dx, n * HW, ldx, 0);
    const mn = mean + ((<usize>n * C) << 2), rn = rstd + ((<usize>n * C) << 2);
    for (let c = 0; c < C4; c += 4) {
      const o = <usize>c << 2;
      const m = v128.load(mn + o), r = v128.load(rn + o);
      let s0 = f64x2.splat(0), s1 = s0, q0 = s0, q1 = s0;
      let xp = xn + o, gp = gn + o;
      for (let p = 0; p < HW; p++, xp += sx, gp += sy) {
        const g = v128.load(gp), xh = f32x4.mul(f32x4.sub(v128.load(xp), m), r);
        const glo = lo64(g), ghi = hi64(g);
        s0 = f64x2.add(s0, glo); s1 = f64x2.add(s1, ghi);
        q0 = f64x2.add(q0, f64x2.mul(glo, lo64(xh))); q1 = f64x2.add(q1, f64x2.mul(ghi, hi64(xh)));
      }
      const a = narrow(f64x2.mul(s0, invv), f64x2.mul(s1, invv)), b = narrow(f64x2.mul(q0, invv), f64x2.mul(q1, invv));
      xp = xn + o; gp = gn + o;
      let dp = dn + o;
      for (let p = 0; p < HW; p++, xp += sx, gp += sy, dp += sx) {
        const xh = f32x4.mul(f32x4.sub(v128.load(xp), m), r);
        const t = f32x4.sub(f32x4.sub(v128.load(gp), a), f32x4.mul(xh, b));
        v128.store(dp, f32x4.add(v128.load(dp), f32x4.mul(r, t)));
      }
    }
    for (let c = C4; c < C; c++) {
      const o = <usize>c << 2;
      const m = load<f32>(mn + o), r = load<f32>(rn + o);
      let s: f64 = 0, q: f64 = 0;
      for (let p = 0; p < HW; p++) {
        const g = <f64>load<f32>(px(gn, p, ldy, c)), xh = (load<f32>(px(xn, p, ldx, c)) - m) * r;
        s += g; q += g * <f64>xh;
      }
      const a = <f32>(s * inv), b = <f32>(q * inv);
      for (let p = 0; p < HW; p++) {
        const xh = (load<f32>(px(xn, p, ldx, c)) - m) * r, d = px(dn, p, ldx, c);
        store<f32>(d, load<f32>(d) + r * (load<f32>(px(gn, p, ldy, c)) - a - xh * b));
      }
    }
  }
}
