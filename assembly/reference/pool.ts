// Scalar reference twins of assembly/pool.ts: one (output pixel, channel) at a time, same signatures.
import { avg_divisor, pool_out } from '../pool';

// @ts-ignore: decorator
@inline function at(p: usize, pixel: i32, ld: i32, c: i32): usize { return p + ((<usize>pixel * ld + c) << 2); }

export function ref_avgpool2d_forward(y: usize, x: usize, N: i32, H: i32, W: i32, C: i32, K: i32, stride: i32, pad: i32, countIncludePad: i32, ldy: i32, ldx: i32): void {
  const OH = pool_out(H, K, stride, pad), OW = pool_out(W, K, stride, pad);
  for (let n = 0; n < N; n++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) for (let c = 0; c < C; c++) {
    const h0 = oh * stride - pad, w0 = ow * stride - pad;
    let acc: f32 = 0;
    for (let ih = max(h0, 0); ih < min(h0 + K, H); ih++) for (let iw = max(w0, 0); iw < min(w0 + K, W); iw++) {
      acc += load<f32>(at(x, (n * H + ih) * W + iw, ldx, c));
    }
    store<f32>(at(y, (n * OH + oh) * OW + ow, ldy, c), acc / avg_divisor(h0, w0, H, W, K, pad, countIncludePad));
  }
}

export function ref_avgpool2d_backward(dx: usize, dy: usize, N: i32, H: i32, W: i32, C: i32, K: i32, stride: i32, pad: i32, countIncludePad: i32, ldx: i32, ldy: i32): void {
  const OH = pool_out(H, K, stride, pad), OW = pool_out(W, K, stride, pad);
  for (let n = 0; n < N; n++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) for (let c = 0; c < C; c++) {
    const h0 = oh * stride - pad, w0 = ow * stride - pad;
    const g = load<f32>(at(dy, (n * OH + oh) * OW + ow, ldy, c)) / avg_divisor(h0, w0, H, W, K, pad, countIncludePad);
    for (let ih = max(h0, 0); ih < min(h0 + K, H); ih++) for (let iw = max(w0, 0); iw < min(w0 + K, W); iw++) {
      const d = at(dx, (n * H + ih) * W + iw, ldx, c);
      store<f32>(d, load<f32>(d) + g);
    }
  }
}

export function ref_maxpool2d_forward(y: usize, argmax: usize, x: usize, N: i32, H: i32, W: i32, C: i32, K: i32, stride: i32, pad: i32, ldy: i32, ldx: i32): void {
  const OH = pool_out(H, K, stride, pad), OW = pool_out(W, K, stride, pad);
  for (let n = 0; n < N; n++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) for (let c = 0; c < C; c++) {
    const h0 = oh * stride - pad, w0 = ow * stride - pad;
    let best: f32 = -Infinity, idx = (n * H + max(h0, 0)) * W + max(w0, 0);
    for (let ih = max(h0, 0); ih < min(h0 + K, H); ih++) for (let iw = max(w0, 0); iw < min(w0 + K, W); iw++) {
      const i = (n * H + ih) * W + iw, v = load<f32>(at(x, i, ldx, c));
      if (v > best || isNaN(v)) { best = v; idx = i; }
    }
    const o = (n * OH + oh) * OW + ow;
    store<f32>(at(y, o, ldy, c), best);
    store<i32>(argmax + ((<usize>o * C + c) << 2), idx);
  }
}

export function ref_maxpool2d_backward(dx: usize, dy: usize, argmax: usize, N: i32, H: i32, W: i32, C: i32, K: i32, stride: i32, pad: i32, ldx: i32, ldy: i32): void {
  const P = N * pool_out(H, K, stride, pad) * pool_out(W, K, stride, pad);
  for (let o = 0; o < P; o++) for (let c = 0; c < C; c++) {
    const d = at(dx, load<i32>(argmax + ((<usize>o * C + c) << 2)), ldx, c);
    store<f32>(d, load<f32>(d) + load<f32>(at(dy, o, ldy, c)));
  }
}

export function ref_upsample_nearest2x_forward(y: usize, x: usize, N: i32, H: i32, W: i32, C: i32, ldy: i32, ldx: i32): void {
  for (let n = 0; n < N; n++) for (let oh = 0; oh < 2 * H; oh++) for (let ow = 0; ow < 2 * W; ow++) for (let c = 0; c < C; c++) {
    store<f32>(at(y, (n * 2 * H + oh) * 2 * W + ow, ldy, c), load<f32>(at(x, (n * H + oh / 2) * W + ow / 2, ldx, c)));
  }
}

export function ref_upsample_nearest2x_backward(dx: usize, dy: usize, N: i32, H: i32, W: i32, C: i32, ldx: i32, ldy: i32): void {
  for (let n = 0; n < N; n++) for (let oh = 0; oh < 2 * H; oh++) for (let ow = 0; ow < 2 * W; ow++) for (let c = 0; c < C; c++) {
    const d = at(dx, (n * H + oh / 2) * W + ow / 2, ldx, c);
    store<f32>(d, load<f32>(d) + load<f32>(at(dy, (n * 2 * H + oh) * 2 * W + ow, ldy, c)));
  }
}
