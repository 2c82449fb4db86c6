// Layout conversions between PyTorch's NCHW and our NHWC, and a tolerance check that reports the worst element.
export function nchwToNhwc(src: ArrayLike<number>, N: number, C: number, H: number, W: number): Float32Array {
  const out = new Float32Array(N * C * H * W);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let h = 0; h < H; h++)
        for (let w = 0; w < W; w++) out[((n * H + h) * W + w) * C + c] = src[((n * C + c) * H + h) * W + w];
  return out;
}

export function nhwcToNchw(src: ArrayLike<number>, N: number, C: number, H: number, W: number): Float32Array {
  const out = new Float32Array(N * C * H * W);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let h = 0; h < H; h++)
        for (let w = 0; w < W; w++) out[((n * C + c) * H + h) * W + w] = src[((n * H + h) * W + w) * C + c];
  return out;
}

export interface Closeness {
  ok: boolean;
  /** worst |a - b| / (atol + rtol * |b|) over the tensor (<= 1 passes) */
  worst: number;
  index: number;
  expected: number;
  actual: number;
  maxRel: number;
}

/**
 * |a - b| <= atol + rtol * |b| element-wise, with atol = rtol * scaleFloor * max|b| so that values near zero
 * in a tensor are judged on the tensor's scale (gradients of sums of many terms cancel to tiny values), plus
 * `atolExtra` (e.g. the reference's own float32 rounding error, measured against float64).
 */
export function close(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, scaleFloor = 1e-2, atolExtra = 0): Closeness {
  let maxAbs = 0;
  for (let i = 0; i < expected.length; i++) maxAbs = Math.max(maxAbs, Math.abs(expected[i]));
  const atol = rtol * scaleFloor * maxAbs + atolExtra + 1e-30;
  let worst = 0, index = -1, maxRel = 0;
  if (actual.length !== expected.length) return { ok: false, worst: Infinity, index: -1, expected: expected.length, actual: actual.length, maxRel: Infinity };
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    const r = d / (atol + rtol * Math.abs(expected[i]));
    if (!(r <= worst)) {
      worst = r;
      index = i;
    }
    maxRel = Math.max(maxRel, d / Math.max(Math.abs(expected[i]), maxAbs * scaleFloor, 1e-30));
  }
  return { ok: worst <= 1, worst, index, expected: expected[index], actual: actual[index], maxRel };
}
