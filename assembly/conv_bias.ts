// Per-channel bias of conv, conv-transpose and linear, and the view zeroing conv-transpose needs, on NHWC views
// (P pixels of C channels, pixel stride ld). bias_backward accumulates (db += ...). Reference twins are in
// reference/conv2d.ts.

// @ts-ignore: decorator
@inline function fl(p: usize, n: i32): usize { return p + (<usize>n << 2); }

// y[p, c] += b[c]
export function bias_add_forward(y: usize, b: usize, P: i32, C: i32, ldy: i32): void {
  for (let p = 0; p < P; p++) {
    const yp = fl(y, p * ldy);
    let c = 0;
    for (; c + 4 <= C; c += 4) {
      const o = <usize>c << 2;
      v128.store(yp + o, f32x4.add(v128.load(yp + o), v128.load(b + o)));
    }
    for (; c < C; c++) {
      const o = <usize>c << 2;
      store<f32>(yp + o, load<f32>(yp + o) + load<f32>(b + o));
    }
  }
}

// db[c] += sum_p dy[p, c]  (four v128 column sums at a time, walking the pixels)
export function bias_backward(db: usize, dy: usize, P: i32, C: i32, ldy: i32): void {
  const ld = <usize>ldy << 2;
  let c = 0;
  for (; c + 16 <= C; c += 16) {
    let s0 = f32x4.splat(0), s1 = s0, s2 = s0, s3 = s0;
    let q = dy + (<usize>c << 2);
    for (let p = 0; p < P; p++) {
      s0 = f32x4.add(s0, v128.load(q)); s1 = f32x4.add(s1, v128.load(q, 16));
      s2 = f32x4.add(s2, v128.load(q, 32)); s3 = f32x4.add(s3, v128.load(q, 48));
      q += ld;
    }
    const o = db + (<usize>c << 2);
    v128.store(o, f32x4.add(v128.load(o), s0)); v128.store(o, f32x4.add(v128.load(o, 16), s1), 16);
    v128.store(o, f32x4.add(v128.load(o, 32), s2), 32); v128.store(o, f32x4.add(v128.load(o, 48), s3), 48);
  }
  for (; c + 4 <= C; c += 4) {
    let s0 = f32x4.splat(0);
    let q = dy + (<usize>c << 2);
    for (let p = 0; p < P; p++) { s0 = f32x4.add(s0, v128.load(q)); q += ld; }
    const o = db + (<usize>c << 2);
    v128.store(o, f32x4.add(v128.load(o), s0));
  }
  for (; c < C; c++) {
    let s: f32 = 0;
    let q = dy + (<usize>c << 2);
    for (let p = 0; p < P; p++) { s += load<f32>(q); q += ld; }
    store<f32>(db + (<usize>c << 2), load<f32>(db + (<usize>c << 2)) + s);
  }
}

// y[p, c] = 0 on a view (conv-transpose zeroes its output, then accumulates into it).
export function view_zero(y: usize, P: i32, C: i32, ldy: i32): void {
  if (ldy == C) { memory.fill(y, 0, (<usize>P * C) << 2); return; }
  for (let p = 0; p < P; p++) memory.fill(fl(y, p * ldy), 0, <usize>C << 2);
}

