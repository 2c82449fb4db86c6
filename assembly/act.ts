// Elementwise activations and dropout, forward and backward side by side.
// Tensors are NHWC views: P pixels (N*H*W) of C channels, pixel stride ld floats (ld >= C), so a view
// can be a channel slice of a wider buffer (zero-copy concat). A gradient shares its tensor's ld.
// Backward kernels ACCUMULATE into dx (dx += ...). Saved: relu/leaky_relu keep x, tanh/sigmoid keep y,
// dropout keeps its mask (a dense P*C buffer).
import { exp4 } from './simd';

// Contiguous views are walked as one row of P*C floats; strided ones pixel by pixel.
// @ts-ignore: decorator
@inline function rows(P: i32, C: i32, ld1: i32, ld2: i32): i32 { return ld1 == C && ld2 == C ? 1 : P; }

// y = max(x, 0)
export function relu_forward(y: usize, x: usize, P: i32, C: i32, ldy: i32, ldx: i32): void {
  const R = rows(P, C, ldy, ldx), n = R == 1 ? P * C : C;
  const zero = f32x4.splat(0);
  for (let r = 0; r < R; r++) {
    const yr = y + ((<usize>r * ldy) << 2), xr = x + ((<usize>r * ldx) << 2);
    let i = 0;
    for (; i + 4 <= n; i += 4) v128.store(yr + (<usize>i << 2), f32x4.max(v128.load(xr + (<usize>i << 2)), zero));
    for (; i < n; i++) { const v = load<f32>(xr + (<usize>i << 2)); store<f32>(yr + (<usize>i << 2), v > 0 ? v : 0); }
  }
}

// dx += dy * (x > 0)
export function relu_backward(dx: usize, dy: usize, x: usize, P: i32, C: i32, ldx: i32, ldy: i32): void {
  const R = rows(P, C, ldy, ldx), n = R == 1 ? P * C : C;
  const zero = f32x4.splat(0);
  for (let r = 0; r < R; r++) {
    const xr = x + ((<usize>r * ldx) << 2), dxr = dx + ((<usize>r * ldx) << 2), dyr = dy + ((<usize>r * ldy) << 2);
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const m = f32x4.gt(v128.load(xr + o), zero);
      v128.store(dxr + o, f32x4.add(v128.load(dxr + o), v128.and(v128.load(dyr + o), m)));
    }
    for (; i < n; i++) {
      const o = <usize>i << 2;
      if (load<f32>(xr + o) > 0) store<f32>(dxr + o, load<f32>(dxr + o) + load<f32>(dyr + o));
    }
  }
}

// y = x > 0 ? x : slope * x
export function leaky_relu_forward(y: usize, x: usize, slope: f32, P: i32, C: i32, ldy: i32, ldx: i32): void {
  const R = rows(P, C, ldy, ldx), n = R == 1 ? P * C : C;
  const zero = f32x4.splat(0), s = f32x4.splat(slope);
  for (let r = 0; r < R; r++) {
    const yr = y + ((<usize>r * ldy) << 2), xr = x + ((<usize>r * ldx) << 2);
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const v = v128.load(xr + (<usize>i << 2));
      v128.store(yr + (<usize>i << 2), v128.bitselect(v, f32x4.mul(v, s), f32x4.gt(v, zero)));
    }
    for (; i < n; i++) { const v = load<f32>(xr + (<usize>i << 2)); store<f32>(yr + (<usize>i << 2), v > 0 ? v : slope * v); }
  }
}

// dx += dy * (x > 0 ? 1 : slope)
export function leaky_relu_backward(dx: usize, dy: usize, x: usize, slope: f32, P: i32, C: i32, ldx: i32, ldy: i32): void {
  const R = rows(P, C, ldy, ldx), n = R == 1 ? P * C : C;
  const zero = f32x4.splat(0), s = f32x4.splat(slope);
  for (let r = 0; r < R; r++) {
    const xr = x + ((<usize>r * ldx) << 2), dxr = dx + ((<usize>r * ldx) << 2), dyr = dy + ((<usize>r * ldy) << 2);
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const g = v128.load(dyr + o);
      const d = v128.bitselect(g, f32x4.mul(g, s), f32x4.gt(v128.load(xr + o), zero));
      v128.store(dxr + o, f32x4.add(v128.load(dxr + o), d));
    }
    for (; i < n; i++) {
      const o = <usize>i << 2;
      const g = load<f32>(dyr + o);
      store<f32>(dxr + o, load<f32>(dxr + o) + (load<f32>(xr + o) > 0 ? g : slope * g));
    }
  }
}

// tanh for four lanes (Cephes tanhf): an odd polynomial for |x| < 0.625, where 1 - 2/(exp(2x)+1)
// would cancel, and that formula elsewhere (it saturates cleanly because exp4 clamps).
// @ts-ignore: decorator
@inline function tanh4(x: v128, one: v128, two: v128): v128 {
  const z = f32x4.mul(x, x);
  let p = f32x4.splat(-5.70498872745e-3);
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(2.06390887954e-2));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(-5.37397155531e-2));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(1.33314422036e-1));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(-3.33332819422e-1));
  const small = f32x4.add(f32x4.mul(f32x4.mul(p, z), x), x);
  const big = f32x4.sub(one, f32x4.div(two, f32x4.add(exp4(f32x4.mul(x, two)), one)));
  return v128.bitselect(small, big, f32x4.lt(f32x4.abs(x), f32x4.splat(0.625)));
}

// y = tanh(x)
export function tanh_forward(y: usize, x: usize, P: i32, C: i32, ldy: i32, ldx: i32): void {
  const R = rows(P, C, ldy, ldx), n = R == 1 ? P * C : C;
  const one = f32x4.splat(1), two = f32x4.splat(2);
  for (let r = 0; r < R; r++) {
    const yr = y + ((<usize>r * ldy) << 2), xr = x + ((<usize>r * ldx) << 2);
    let i = 0;
    for (; i + 4 <= n; i += 4) v128.store(yr + (<usize>i << 2), tanh4(v128.load(xr + (<usize>i << 2)), one, two));
    for (; i < n; i++) store<f32>(yr + (<usize>i << 2), Mathf.tanh(load<f32>(xr + (<usize>i << 2))));
  }
}

// dx += dy * (1 - y^2)
export function tanh_backward(dx: usize, dy: usize, y: usize, P: i32, C: i32, ldx: i32, ldy: i32): void {
  const R = rows(P, C, ldy, ldx), n = R == 1 ? P * C : C;
  const one = f32x4.splat(1);
  for (let r = 0; r < R; r++) {
    const yr = y + ((<usize>r * ldy) << 2), dxr = dx + ((<usize>r * ldx) << 2), dyr = dy + ((<usize>r * ldy) << 2);
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const t = v128.load(yr + o);
      v128.store(dxr + o, f32x4.add(v128.load(dxr + o), f32x4.mul(v128.load(dyr + o), f32x4.sub(one, f32x4.mul(t, t)))));
    }
    for (; i < n; i++) {
      const o = <usize>i << 2;
      const t = load<f32>(yr + o);
      store<f32>(dxr + o, load<f32>(dxr + o) + load<f32>(dyr + o) * (1 - t * t));
    }
  }
}

// y = 1 / (1 + exp(-x))
export function sigmoid_forward(y: usize, x: usize, P: i32, C: i32, ldy: i32, ldx: i32): void {
  const R = rows(P, C, ldy, ldx), n = R == 1 ? P * C : C;
  const one = f32x4.splat(1);
  for (let r = 0; r < R; r++) {
    const yr = y + ((<usize>r * ldy) << 2), xr = x + ((<usize>r * ldx) << 2);
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      v128.store(yr + (<usize>i << 2), f32x4.div(one, f32x4.add(one, exp4(f32x4.neg(v128.load(xr + (<usize>i << 2)))))));
    }
    for (; i < n; i++) store<f32>(yr + (<usize>i << 2), 1 / (1 + Mathf.exp(-load<f32>(xr + (<usize>i << 2)))));
  }
}

// dx += dy * y * (1 - y)
export function sigmoid_backward(dx: usize, dy: usize, y: usize, P: i32, C: i32, ldx: i32, ldy: i32): void {
  const R = rows(P, C, ldy, ldx), n = R == 1 ? P * C : C;
  const one = f32x4.splat(1);
  for (let r = 0; r < R; r++) {
    const yr = y + ((<usize>r * ldy) << 2), dxr = dx + ((<usize>r * ldx) << 2), dyr = dy + ((<usize>r * ldy) << 2);
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const t = v128.load(yr + o);
      v128.store(dxr + o, f32x4.add(v128.load(dxr + o), f32x4.mul(v128.load(dyr + o), f32x4.mul(t, f32x4.sub(one, t)))));
    }
    for (; i < n; i++) {
      const o = <usize>i << 2;
      const t = load<f32>(yr + o);
      store<f32>(dxr + o, load<f32>(dxr + o) + load<f32>(dyr + o) * t * (1 - t));
    }
  }
}

// Counter-based uniform in [0, 1): a 32-bit integer hash (lowbias32) of (seed, index), so the mask
// depends only on the seed and the element's index in the whole batch, never on the build or shard.
// @ts-ignore: decorator
@inline export function hash_uniform(seed: u32, i: u32): f32 {
  let h = seed ^ (i * 0x9e3779b9);
  h ^= h >> 16; h *= 0x7feb352d; h ^= h >> 15; h *= 0x846ca68b; h ^= h >> 16;
  return <f32>(h >> 8) * (1.0 / 16777216.0);
}

// Inverted dropout: mask = (u >= p) / (1 - p), y = x * mask; mask is dense (P, C).
// pixel0 is the batch-global index of the first pixel, so a shard draws the batch's mask.
export function dropout_forward(y: usize, mask: usize, x: usize, p: f32, seed: u32, pixel0: i32, P: i32, C: i32, ldy: i32, ldx: i32): void {
  const scale: f32 = p < 1 ? 1 / (1 - p) : 0;
  for (let r = 0; r < P; r++) {
    const yr = y + ((<usize>r * ldy) << 2), xr = x + ((<usize>r * ldx) << 2), mr = mask + ((<usize>r * C) << 2);
    const base = <u32>(pixel0 + r) * <u32>C;
    for (let i = 0; i < C; i++) {
      const o = <usize>i << 2;
      const m: f32 = hash_uniform(seed, base + <u32>i) >= p ? scale : 0;
      store<f32>(mr + o, m);
      store<f32>(yr + o, load<f32>(xr + o) * m);
    }
  }
}

// dx += dy * mask
export function dropout_backward(dx: usize, dy: usize, mask: usize, P: i32, C: i32, ldx: i32, ldy: i32): void {
  for (let r = 0; r < P; r++) {
    const dxr = dx + ((<usize>r * ldx) << 2), dyr = dy + ((<usize>r * ldy) << 2), mr = mask + ((<usize>r * C) << 2);
    let i = 0;
    for (; i + 4 <= C; i += 4) {
      const o = <usize>i << 2;
      v128.store(dxr + o, f32x4.add(v128.load(dxr + o), f32x4.mul(v128.load(dyr + o), v128.load(mr + o))));
    }
    for (; i < C; i++) { const o = <usize>i << 2; store<f32>(dxr + o, load<f32>(dxr + o) + load<f32>(dyr + o) * load<f32>(mr + o)); }
  }
}
