// Output-size arithmetic, in one place (PyTorch semantics, floor mode). Runs once, when layers are built.

/** floor((n + 2*pad - k) / stride) + 1, for conv and pooling; throws when the window does not fit. */
export function convOut(n: number, k: number, stride: number, pad: number, layer: string): number {
  if (!(k > 0 && stride > 0 && pad >= 0)) throw new Error(`${layer}: invalid kernel ${k}, stride ${stride}, padding ${pad}`);
  if (2 * pad > k) throw new Error(`${layer}: padding ${pad} must be at most half the kernel size ${k}`);
  const o = Math.floor((n + 2 * pad - k) / stride) + 1;
  if (o < 1) throw new Error(`${layer}: input size ${n} is too small for kernel ${k}, stride ${stride}, padding ${pad}`);
  return o;
}

/** ConvTranspose2d output: (n - 1)*stride - 2*pad + k. */
export function deconvOut(n: number, k: number, stride: number, pad: number): number {
  return (n - 1) * stride - 2 * pad + k;
}
