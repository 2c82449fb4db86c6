// Pixel access shared by the Winograd reference twins (winograd.ts, winograd_s2.ts); not kernels, so not exported
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
