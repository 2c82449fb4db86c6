// Pixel access shared by the Winograd reference twins (winograd.ts, winograd_s2.ts: F(2x2, 2x2) and F(4x4, 2x2)); not kernels, so not exported
// from assembly/index.ts.
// @ts-ignore: decorator
@inline function at(p: usize, i: i32): usize { return p + (<usize>i << 2); }

// t[n][h][w][c] of an (N, H, W, *) tensor with pixel stride ld, zero outside the image
export function px(t: usize, ld: i32, n: i32, h: i32, w: i32, c: i32, H: i32, W: i32): f32 {
  return h < 0 || h >= H || w < 0 || w >= W ? 0 : load<f32>(at(t, ((n * H + h) * W + w) * ld + c));
}

// y[n][h][w][o] = v (or += v when acc); nothing outside the image
export function put(y: usize, ldy: i32, n: i32, h: i32, w: i32, o: i32, H: i32, W: i32, v: f32, acc: bool): void {
  if (h < 0 || h >= H || w < 0 || w >= W) return;
  const p = at(y, ((n * H + h) * W + w) * ldy + o);
  store<f32>(p, acc ? load<f32>(p) + v : v);
}

// The 2x2 output tile at (oh, ow) of output channel o, each value + bv
export function putTile(y: usize, ldy: i32, n: i32, oh: i32, ow: i32, o: i32, H: i32, W: i32,
  y00: f32, y01: f32, y10: f32, y11: f32, bv: f32, acc: bool): void {
  put(y, ldy, n, oh, ow, o, H, W, y00 + bv, acc);
  put(y, ldy, n, oh, ow + 1, o, H, W, y01 + bv, acc);
  put(y, ldy, n, oh + 1, ow, o, H, W, y10 + bv, acc);
  put(y, ldy, n, oh + 1, ow + 1, o, H, W, y11 + bv, acc);
}

// The split taps' packed weights (winograd_split.ts: 16 matrices, winograd_split4.ts: 36): U[u][oc >> 3][c][oc & 7]
// for u < n, laid out for OCt channels, w's OC channels at c0 .. c0 + OC - 1 (0 for oc past them up to the 8-wide
// panel's end when c0 + OC == OCt); entry(w, c, oc, C, OC, u) is matrix u's entry for w's channel oc.
export function packMatrices(U: usize, w: usize, C: i32, OC: i32, OCt: i32, c0: i32, n: i32,
  entry: (w: usize, c: i32, oc: i32, C: i32, OC: i32, u: i32) => f32): void {
  const O8 = (OCt + 7) & ~7;
  const end = c0 + OC == OCt ? O8 : c0 + OC;
  for (let u = 0; u < n; u++) for (let oc = c0; oc < end; oc++) for (let c = 0; c < C; c++) {
    const v: f32 = oc < c0 + OC ? entry(w, c, oc - c0, C, OC, u) : 0;
    store<f32>(at(U, (u * O8 + (oc & ~7)) * C + c * 8 + (oc & 7)), v);
  }
}

// Entry (c, oc) of matrix u of such a U laid out for OC channels.
export function matrixAt(U: usize, c: i32, oc: i32, C: i32, OC: i32, u: i32): f32 {
  return load<f32>(at(U, (u * ((OC + 7) & ~7) + (oc & ~7)) * C + c * 8 + (oc & 7)));
}
