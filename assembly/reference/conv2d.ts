// Scalar reference twins of assembly/conv2d.ts: plain loops, one output element at a time (llm.c style).
// x (N, H, W, C) pixel stride ldx; y (N, OH, OW, OC) pixel stride ldy; weights HWIO [KH][KW][C][OC]; bias [OC].
// OH = (H + 2*pad - KH) / stride + 1. They take the same scratch argument as the SIMD kernels and ignore it.
// Backward passes ACCUMULATE (dx += ..., dw += ..., db += ...).

// The reference needs no scratch.
export function ref_conv2d_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32, KH: i32, KW: i32, stride: i32, pad: i32): i32 {
  return 0;
}

// @ts-ignore: decorator
@inline function at(p: usize, i: i32): usize { return p + (<usize>i << 2); }

// y[n, oh, ow, oc] = b[oc] + sum_{kh, kw, c} x[n, oh*s - pad + kh, ow*s - pad + kw, c] * w[kh, kw, c, oc]
export function ref_conv2d_forward(y: usize, x: usize, w: usize, b: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, KH: i32, KW: i32, stride: i32, pad: i32, ldy: i32, ldx: i32): void {
  conv(y, x, w, b, false, false, N, H, W, C, OC, KH, KW, stride, pad, ldy, ldx);
}

// The one reference conv loop: s = bias (or 0) + the taps' dot products; y = s, or y += s when `accumulate`.
// w is HWIO, or (`packed`) conv2d_pack's layout read back element by element (packedAt).
function conv(y: usize, x: usize, w: usize, b: usize, accumulate: bool, packed: bool,
  N: i32, H: i32, W: i32, C: i32, OC: i32, KH: i32, KW: i32, stride: i32, pad: i32, ldy: i32, ldx: i32): void {
  const OH = (H + 2 * pad - KH) / stride + 1, OW = (W + 2 * pad - KW) / stride + 1, TC = KH * KW * C;
  for (let n = 0; n < N; n++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
    const yp = at(y, ((n * OH + oh) * OW + ow) * ldy);
    for (let oc = 0; oc < OC; oc++) {
      let s: f32 = b != 0 ? load<f32>(at(b, oc)) : 0;
      for (let kh = 0; kh < KH; kh++) {
        const ih = oh * stride - pad + kh;
        if (ih < 0 || ih >= H) continue;
        for (let kw = 0; kw < KW; kw++) {
          const iw = ow * stride - pad + kw;
          if (iw < 0 || iw >= W) continue;
          const xp = at(x, ((n * H + ih) * W + iw) * ldx);
          const row = (kh * KW + kw) * C;
          for (let c = 0; c < C; c++) s += load<f32>(at(xp, c)) * load<f32>(at(w, packed ? packedAt(row + c, oc, TC, OC) : (row + c) * OC + oc));
        }
      }
      store<f32>(at(yp, oc), accumulate ? load<f32>(at(yp, oc)) + s : s);
    }
  }
}

// dx[n, ih, iw, c] += sum over (oh, ow, kh, kw) with oh*s - pad + kh = ih, ow*s - pad + kw = iw, and oc:
//                      dy[n, oh, ow, oc] * w[kh, kw, c, oc]
export function ref_conv2d_backward_input(dx: usize, dy: usize, w: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, KH: i32, KW: i32, stride: i32, pad: i32, ldx: i32, ldy: i32): void {
  const OH = (H + 2 * pad - KH) / stride + 1, OW = (W + 2 * pad - KW) / stride + 1;
  for (let n = 0; n < N; n++) for (let ih = 0; ih < H; ih++) for (let iw = 0; iw < W; iw++) {
    const dxp = at(dx, ((n * H + ih) * W + iw) * ldx);
    for (let c = 0; c < C; c++) {
      let s: f32 = 0;
      for (let kh = 0; kh < KH; kh++) {
        const t = ih + pad - kh;
        if (t < 0 || t % stride != 0 || t / stride >= OH) continue;
        const oh = t / stride;
        for (let kw = 0; kw < KW; kw++) {
          const u = iw + pad - kw;
          if (u < 0 || u % stride != 0 || u / stride >= OW) continue;
          const ow = u / stride;
          const dyp = at(dy, ((n * OH + oh) * OW + ow) * ldy);
          const wp = at(w, ((kh * KW + kw) * C + c) * OC);
          for (let oc = 0; oc < OC; oc++) s += load<f32>(at(dyp, oc)) * load<f32>(at(wp, oc));
        }
      }
      store<f32>(at(dxp, c), load<f32>(at(dxp, c)) + s);
    }
  }
}

// dw[kh, kw, c, oc] += sum_{n, oh, ow} x[n, oh*s - pad + kh, ow*s - pad + kw, c] * dy[n, oh, ow, oc];
// db[oc] += sum_{n, oh, ow} dy[n, oh, ow, oc]  (skipped when db == 0)
export function ref_conv2d_backward_weight(dw: usize, db: usize, dy: usize, x: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, KH: i32, KW: i32, stride: i32, pad: i32, ldy: i32, ldx: i32): void {
  const OH = (H + 2 * pad - KH) / stride + 1, OW = (W + 2 * pad - KW) / stride + 1;
  for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++) for (let c = 0; c < C; c++) {
    const wp = at(dw, ((kh * KW + kw) * C + c) * OC);
    for (let oc = 0; oc < OC; oc++) {
      let s: f32 = 0;
      for (let n = 0; n < N; n++) for (let oh = 0; oh < OH; oh++) {
        const ih = oh * stride - pad + kh;
        if (ih < 0 || ih >= H) continue;
        for (let ow = 0; ow < OW; ow++) {
          const iw = ow * stride - pad + kw;
          if (iw < 0 || iw >= W) continue;
          s += load<f32>(at(x, ((n * H + ih) * W + iw) * ldx + c)) * load<f32>(at(dy, ((n * OH + oh) * OW + ow) * ldy + oc));
        }
      }
      store<f32>(at(wp, oc), load<f32>(at(wp, oc)) + s);
    }
  }
  if (db != 0) ref_bias_backward(db, dy, N * OH * OW, OC, ldy);
}

// y[p, c] += b[c]
export function ref_bias_add_forward(y: usize, b: usize, P: i32, C: i32, ldy: i32): void {
  for (let p = 0; p < P; p++) for (let c = 0; c < C; c++) {
    const q = at(y, p * ldy + c);
    store<f32>(q, load<f32>(q) + load<f32>(at(b, c)));
  }
}

// db[c] += sum_p dy[p, c]
export function ref_bias_backward(db: usize, dy: usize, P: i32, C: i32, ldy: i32): void {
  for (let c = 0; c < C; c++) {
    let s: f32 = 0;
    for (let p = 0; p < P; p++) s += load<f32>(at(dy, p * ldy + c));
    store<f32>(at(db, c), load<f32>(at(db, c)) + s);
  }
}

// y[p, c] = 0 on a view (conv-transpose zeroes its output before accumulating into it).
export function ref_view_zero(y: usize, P: i32, C: i32, ldy: i32): void {
  for (let p = 0; p < P; p++) for (let c = 0; c < C; c++) store<f32>(at(y, p * ldy + c), 0);
}

// y[n, oh, ow, oc] += sum_{kh, kw, c} x[...] * w[kh, kw, c, oc]  (conv-transpose's backward-input)
export function ref_conv2d_forward_acc(y: usize, x: usize, w: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, KH: i32, KW: i32, stride: i32, pad: i32, ldy: i32, ldx: i32): void {
  conv(y, x, w, 0, true, false, N, H, W, C, OC, KH, KW, stride, pad, ldy, ldx);
}

// ---- packed weights (conv2d_pack / conv2d_forward_packed) ----

export function ref_conv2d_packed_size(KH: i32, KW: i32, C: i32, OC: i32): i32 {
  const TC = KH * KW * C;
  return OC <= 4 ? 4 * ((TC + 3) & ~3) : ((OC + 7) >> 3) * 8 * TC;
}

export function ref_conv2d_packed_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32, KH: i32, KW: i32, stride: i32, pad: i32): i32 {
  return 0;
}

// Index in the packed layout of w's row k = (kh*KW + kw)*C + c (of TC rows), column oc:
//   OC > 4:  8-wide panels, wp[oc / 8][k][oc % 8] (zero past OC)
//   OC <= 4: 4-row blocks for the dot-product kernel, wp[k / 4][oc][k % 4], 4 columns (zero past OC),
//            rows padded with zeros up to a multiple of 4
// @ts-ignore: decorator
@inline function packedAt(k: i32, oc: i32, TC: i32, OC: i32): i32 {
  return OC <= 4 ? (k >> 2) * 16 + oc * 4 + (k & 3) : (oc >> 3) * TC * 8 + k * 8 + (oc & 7);
}

export function ref_conv2d_pack(wp: usize, w: usize, KH: i32, KW: i32, C: i32, OC: i32): void {
  const TC = KH * KW * C;
  const rows = OC <= 4 ? (TC + 3) & ~3 : TC, cols = OC <= 4 ? 4 : (OC + 7) & ~7;
  for (let k = 0; k < rows; k++) for (let oc = 0; oc < cols; oc++) {
    const v: f32 = k < TC && oc < OC ? load<f32>(at(w, k * OC + oc)) : 0;
    store<f32>(at(wp, packedAt(k, oc, TC, OC)), v);
  }
}

// The reference conv loop on the packed weights.
export function ref_conv2d_forward_packed(y: usize, x: usize, wp: usize, b: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, KH: i32, KW: i32, stride: i32, pad: i32, ldy: i32, ldx: i32): void {
  conv(y, x, wp, b, false, true, N, H, W, C, OC, KH, KW, stride, pad, ldy, ldx);
}
