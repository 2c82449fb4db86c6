// The 3x3 stride-2 pad-1 conv (the generator's down2..down7, the encoder's strided convs) with its taps split by
// parity, the upconv's split (winograd_split.ts) seen from the other side: per axis
//   y[o] = w0 x[2o - 1] + w1 x[2o] + w2 x[2o + 1] = E[o] + P[o],  E[o] = w0 x[2o - 1] + w2 x[2o + 1],  P[o] = w1 x[2o]:
// E is the 2-tap conv (w0, w2) on the odd x samples, by F(2, 2) 3 products per 2 outputs, P one product: 2.5 per
// output against the direct conv's 3, so 6.25 multiply-adds per output pixel and channel pair against 9 in 2-D,
// on the same 16 transformed weight matrices as the upconv's (upconv_split_pack: 16/9 of w). It is exactly the
// stride-2 correlation the upconv's backward-input computes on its box sums: strideTwoTiles, here on x with pad 1.
// x (N, H, W, C) pixel stride ldx -> y (N, OH, OW, OC), OH = ceil(H / 2), pixel stride ldy; w HWIO [3][3][C][OC];
// b [OC] (0 = none). The forward overwrites y; the backward-weight accumulates.
import { bias_backward } from './conv_bias';
import { startRows } from './simd';
import { matrixFloats, perCallSize, splitGroup, splitPerCall, strideTwoSize, strideTwoTiles, weightGrads, weightGradsSize } from './winograd_split';

// @ts-ignore: decorator
@inline function al(n: i32): i32 { return (n + 15) & ~15; }
// @ts-ignore: decorator
@inline function c4(n: i32): i32 { return (n + 3) & ~3; }
// @ts-ignore: decorator
@inline function fl(p: usize, n: i32): usize { return p + (<usize>n << 2); }
// @ts-ignore: decorator
@inline function half(n: i32): i32 { return (n + 1) >> 1; }
// tiles of 2x2 output pixels
// @ts-ignore: decorator
@inline function tiles(N: i32, H: i32, W: i32): i32 { return N * half(half(H)) * half(half(W)); }

// Floats of scratch of conv3s2_split_forward_packed (U = upconv_split_pack(w) given).
export function conv3s2_split_packed_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 {
  return al(c4(max(C, OC))) + strideTwoSize(tiles(N, H, W), C, OC);
}

// y = b + conv3x3s2(x) on U = upconv_split_pack(w) (U's 8-wide panels over OC output channels).
export function conv3s2_split_forward_packed(y: usize, x: usize, U: usize, b: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  strideTwoForward(y, x, U, <usize>matrixFloats(C, OC, false) << 2, b, scratch, N, H, W, C, OC, ldy, ldx);
}

// conv3s2_split_forward_packed on U's matrices ks bytes apart.
function strideTwoForward(y: usize, x: usize, U: usize, ks: usize, b: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  if (N <= 0 || H <= 0 || W <= 0 || OC <= 0) return;
  const OH = half(H), OW = half(W);
  if (C <= 0) { startRows(y, N * OH * OW, ldy, OC, b); return; }
  const zero = scratch;
  strideTwoTiles(y, ldy, OH, OW, x, ldx, H, W, 1, U, ks, C, OC, N, b, false, zero, fl(zero, al(c4(max(C, OC)))));
}

// Floats of scratch of conv3s2_split_forward (a group's U made into scratch, as the upconv's per-call forward).
export function conv3s2_split_forward_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 {
  const G = splitGroup(C, OC);
  return al(perCallSize(C, G)) + conv3s2_split_packed_scratch_size(N, H, W, C, G);
}

// y = b + conv3x3s2(x), U made from w per call, by groups of output channels (at most 4 MiB of U each).
export function conv3s2_split_forward(y: usize, x: usize, w: usize, b: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  splitPerCall(strideTwoForward, y, x, w, b, scratch, N, H, W, C, OC, ldy, ldx);
}

// Floats of scratch of conv3s2_split_backward_weight.
export function conv3s2_split_backward_weight_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 {
  return al(c4(max(C, OC))) + weightGradsSize(tiles(N, H, W), 5, C, OC);
}

// dw += the weight gradient, db += sum dy (db == 0: no bias); accumulated: the split taps' weightGrads on the 5x5 x
// patches of the forward's tiles and the 2x2 dy blocks they produced.
export function conv3s2_split_backward_weight(dw: usize, db: usize, dy: usize, x: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  if (N <= 0 || H <= 0 || W <= 0 || OC <= 0) return;
  const OH = half(H), OW = half(W);
  if (db != 0) bias_backward(db, dy, N * OH * OW, OC, ldy);
  if (C <= 0) return;
  const zero = scratch;
  weightGrads(dw, x, ldx, H, W, N, half(OH), half(OW), 5, dy, ldy, OH, OW, C, OC, zero, fl(zero, al(c4(max(C, OC)))));
}
