// Pooling and nearest up-sampling on NHWC views, forward and backward side by side.
// Legend: x is (N, H, W, C) with pixel stride ldx floats; y is (N, OH, OW, C) with ldy.
// PyTorch semantics with ceil_mode = False: OH = floor((H + 2*pad - K) / stride) + 1, same for OW.
// SIMD runs over channels; window sums run in the same order as the reference, so results match exactly.
// Backward kernels ACCUMULATE. Max-pool saves argmax: i32 (N*OH*OW, C), dense, flat input pixel indices.

// @ts-ignore: decorator
@inline function px(p: usize, pixel: i32, ld: i32, c: i32): usize { return p + ((<usize>pixel * ld + c) << 2); }

// Output extent of a pooling window (PyTorch's pool output size, floor mode).
// @ts-ignore: decorator
@inline export function pool_out(size: i32, K: i32, stride: i32, pad: i32): i32 { return (size + 2 * pad - K) / stride + 1; }

// PyTorch's AvgPool2d divisor for the window starting at (h0, w0): with count_include_pad the window clipped
// to the padded image, else the number of in-image pixels.
// @ts-ignore: decorator
@inline export function avg_divisor(h0: i32, w0: i32, H: i32, W: i32, K: i32, pad: i32, countIncludePad: i32): f32 {
  if (countIncludePad != 0) return <f32>((min(h0 + K, H + pad) - h0) * (min(w0 + K, W + pad) - w0));
  return <f32>((min(h0 + K, H) - max(h0, 0)) * (min(w0 + K, W) - max(w0, 0)));
}

// y = mean of each K x K window (stride, zero padding `pad`)
export function avgpool2d_forward(y: usize, x: usize, N: i32, H: i32, W: i32, C: i32, K: i32, stride: i32, pad: i32, countIncludePad: i32, ldy: i32, ldx: i32): void {
  const OH = pool_out(H, K, stride, pad), OW = pool_out(W, K, stride, pad), C4 = C & ~3;
  for (let n = 0; n < N; n++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
    const h0 = oh * stride - pad, w0 = ow * stride - pad;
    const hs = max(h0, 0), he = min(h0 + K, H), ws = max(w0, 0), we = min(w0 + K, W);
    const div = avg_divisor(h0, w0, H, W, K, pad, countIncludePad), dv = f32x4.splat(div);
    const yp = px(y, (n * OH + oh) * OW + ow, ldy, 0);
    let c = 0;
    for (; c < C4; c += 4) {
      let acc = f32x4.splat(0);
      for (let ih = hs; ih < he; ih++) for (let iw = ws; iw < we; iw++) {
        acc = f32x4.add(acc, v128.load(px(x, (n * H + ih) * W + iw, ldx, c)));
      }
      v128.store(yp + (<usize>c << 2), f32x4.div(acc, dv));
    }
    for (; c < C; c++) {
      let acc: f32 = 0;
      for (let ih = hs; ih < he; ih++) for (let iw = ws; iw < we; iw++) acc += load<f32>(px(x, (n * H + ih) * W + iw, ldx, c));
      store<f32>(yp + (<usize>c << 2), acc / div);
    }
  }
}

// dx[window] += dy / divisor
export function avgpool2d_backward(dx: usize, dy: usize, N: i32, H: i32, W: i32, C: i32, K: i32, stride: i32, pad: i32, countIncludePad: i32, ldx: i32, ldy: i32): void {
  const OH = pool_out(H, K, stride, pad), OW = pool_out(W, K, stride, pad), C4 = C & ~3;
  for (let n = 0; n < N; n++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
    const h0 = oh * stride - pad, w0 = ow * stride - pad;
    const hs = max(h0, 0), he = min(h0 + K, H), ws = max(w0, 0), we = min(w0 + K, W);
    const div = avg_divisor(h0, w0, H, W, K, pad, countIncludePad), dv = f32x4.splat(div);
    const gp = px(dy, (n * OH + oh) * OW + ow, ldy, 0);
    for (let ih = hs; ih < he; ih++) for (let iw = ws; iw < we; iw++) {
      const dp = px(dx, (n * H + ih) * W + iw, ldx, 0);
      let c = 0;
      for (; c < C4; c += 4) {
        const o = <usize>c << 2;
        v128.store(dp + o, f32x4.add(v128.load(dp + o), f32x4.div(v128.load(gp + o), dv)));
      }
      for (; c < C; c++) { const o = <usize>c << 2; store<f32>(dp + o, load<f32>(dp + o) + load<f32>(gp + o) / div); }
    }
  }
}

// y = max of each K x K window, padding acting as -inf; argmax = n*H*W + ih*W + iw of the first maximum
// in row-major window order (a NaN wins, as in PyTorch's `val > max || isnan(val)`).
export function maxpool2d_forward(y: usize, argmax: usize, x: usize, N: i32, H: i32, W: i32, C: i32, K: i32, stride: i32, pad: i32, ldy: i32, ldx: i32): void {
  const OH = pool_out(H, K, stride, pad), OW = pool_out(W, K, stride, pad), C4 = C & ~3;
  for (let n = 0; n < N; n++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
    const h0 = oh * stride - pad, w0 = ow * stride - pad;
    const hs = max(h0, 0), he = min(h0 + K, H), ws = max(w0, 0), we = min(w0 + K, W);
    const o = (n * OH + oh) * OW + ow;
    const yp = px(y, o, ldy, 0), ap = argmax + ((<usize>o * C) << 2);
    const first = (n * H + hs) * W + ws;
    let c = 0;
    for (; c < C4; c += 4) {
      let best = f32x4.splat(-Infinity), idx = i32x4.splat(first);
      for (let ih = hs; ih < he; ih++) for (let iw = ws; iw < we; iw++) {
        const i = (n * H + ih) * W + iw;
        const v = v128.load(px(x, i, ldx, c));
        const m = v128.or(f32x4.gt(v, best), f32x4.ne(v, v));
        best = v128.bitselect(v, best, m);
        idx = v128.bitselect(i32x4.splat(i), idx, m);
      }
      v128.store(yp + (<usize>c << 2), best);
      v128.store(ap + (<usize>c << 2), idx);
    }
    for (; c < C; c++) {
      let best: f32 = -Infinity, idx = first;
      for (let ih = hs; ih < he; ih++) for (let iw = ws; iw < we; iw++) {
        const i = (n * H + ih) * W + iw, v = load<f32>(px(x, i, ldx, c));
        if (v > best || v != v) { best = v; idx = i; }
      }
      store<f32>(yp + (<usize>c << 2), best);
      store<i32>(ap + (<usize>c << 2), idx);
    }
  }
}

// dx[argmax] += dy. A scatter, so scalar: per output element one indexed add.
export function maxpool2d_backward(dx: usize, dy: usize, argmax: usize, N: i32, H: i32, W: i32, C: i32, K: i32, stride: i32, pad: i32, ldx: i32, ldy: i32): void {
  const P = N * pool_out(H, K, stride, pad) * pool_out(W, K, stride, pad);
  for (let o = 0; o < P; o++) {
    const gp = px(dy, o, ldy, 0), ap = argmax + ((<usize>o * C) << 2);
    for (let c = 0; c < C; c++) {
      const d = px(dx, load<i32>(ap + (<usize>c << 2)), ldx, c);
      store<f32>(d, load<f32>(d) + load<f32>(gp + (<usize>c << 2)));
    }
  }
}

// y (N, 2H, 2W, C): each input pixel copied to a 2 x 2 block
export function upsample_nearest2x_forward(y: usize, x: usize, N: i32, H: i32, W: i32, C: i32, ldy: i32, ldx: i32): void {
  const OW = 2 * W, C4 = C & ~3, row = (<usize>OW * ldy) << 2;
  for (let n = 0; n < N; n++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) {
    const xp = px(x, (n * H + h) * W + w, ldx, 0);
    const y0 = px(y, (n * 2 * H + 2 * h) * OW + 2 * w, ldy, 0), y1 = y0 + ((<usize>ldy) << 2);
    let c = 0;
    for (; c < C4; c += 4) {
      const o = <usize>c << 2, v = v128.load(xp + o);
      v128.store(y0 + o, v); v128.store(y1 + o, v); v128.store(y0 + row + o, v); v128.store(y1 + row + o, v);
    }
    for (; c < C; c++) {
      const o = <usize>c << 2, v = load<f32>(xp + o);
      store<f32>(y0 + o, v); store<f32>(y1 + o, v); store<f32>(y0 + row + o, v); store<f32>(y1 + row + o, v);
    }
  }
}

// dx += the four dy of its 2 x 2 block, added one by one in output order (as PyTorch's backward does)
export function upsample_nearest2x_backward(dx: usize, dy: usize, N: i32, H: i32, W: i32, C: i32, ldx: i32, ldy: i32): void {
  const OW = 2 * W, C4 = C & ~3, row = (<usize>OW * ldy) << 2;
  for (let n = 0; n < N; n++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) {
    const dp = px(dx, (n * H + h) * W + w, ldx, 0);
    const g0 = px(dy, (n * 2 * H + 2 * h) * OW + 2 * w, ldy, 0), g1 = g0 + ((<usize>ldy) << 2);
    let c = 0;
    for (; c < C4; c += 4) {
      const o = <usize>c << 2;
      let a = f32x4.add(v128.load(dp + o), v128.load(g0 + o));
      a = f32x4.add(a, v128.load(g1 + o));
      a = f32x4.add(a, v128.load(g0 + row + o));
      v128.store(dp + o, f32x4.add(a, v128.load(g1 + row + o)));
    }
    for (; c < C; c++) {
      const o = <usize>c << 2;
      store<f32>(dp + o, load<f32>(dp + o) + load<f32>(g0 + o) + load<f32>(g1 + o) + load<f32>(g0 + row + o) + load<f32>(g1 + row + o));
    }
  }
}
