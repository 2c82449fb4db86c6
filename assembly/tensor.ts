// Tensor utilities on NHWC views (P pixels, C channels, pixel stride ld floats): the residual add and the
// channel-slice copy (for a concatenation where a zero-copy slice is impossible), forward and backward.
// Backward kernels ACCUMULATE (dx += ...). Nothing here reduces, so SIMD and reference agree exactly.

// Contiguous views are walked as one row of P*C floats; strided ones pixel by pixel.
// @ts-ignore: decorator
@inline function rows3(P: i32, C: i32, ld1: i32, ld2: i32, ld3: i32): i32 { return ld1 == C && ld2 == C && ld3 == C ? 1 : P; }

// y = a + b.  y, a, b: (P, C) views with strides ldy, lda, ldb
export function add_forward(y: usize, a: usize, b: usize, P: i32, C: i32, ldy: i32, lda: i32, ldb: i32): void {
  const R = rows3(P, C, ldy, lda, ldb), n = R == 1 ? P * C : C;
  for (let r = 0; r < R; r++) {
    const yr = y + ((<usize>r * ldy) << 2), ar = a + ((<usize>r * lda) << 2), br = b + ((<usize>r * ldb) << 2);
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      v128.store(yr + o, f32x4.add(v128.load(ar + o), v128.load(br + o)));
    }
    for (; i < n; i++) { const o = <usize>i << 2; store<f32>(yr + o, load<f32>(ar + o) + load<f32>(br + o)); }
  }
}

// da += dy; db += dy
export function add_backward(da: usize, db: usize, dy: usize, P: i32, C: i32, lda: i32, ldb: i32, ldy: i32): void {
  const R = rows3(P, C, ldy, lda, ldb), n = R == 1 ? P * C : C;
  for (let r = 0; r < R; r++) {
    const gr = dy + ((<usize>r * ldy) << 2), ar = da + ((<usize>r * lda) << 2), br = db + ((<usize>r * ldb) << 2);
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const g = v128.load(gr + o);
      v128.store(ar + o, f32x4.add(v128.load(ar + o), g));
      v128.store(br + o, f32x4.add(v128.load(br + o), g));
    }
    for (; i < n; i++) {
      const o = <usize>i << 2, g = load<f32>(gr + o);
      store<f32>(ar + o, load<f32>(ar + o) + g);
      store<f32>(br + o, load<f32>(br + o) + g);
    }
  }
}

// y = x (a channel slice into another view)
export function copy_forward(y: usize, x: usize, P: i32, C: i32, ldy: i32, ldx: i32): void {
  if (ldy == C && ldx == C) { memory.copy(y, x, (<usize>P * C) << 2); return; }
  for (let r = 0; r < P; r++) memory.copy(y + ((<usize>r * ldy) << 2), x + ((<usize>r * ldx) << 2), <usize>C << 2);
}

// dx += dy
export function copy_backward(dx: usize, dy: usize, P: i32, C: i32, ldx: i32, ldy: i32): void {
  const R = ldx == C && ldy == C ? 1 : P, n = R == 1 ? P * C : C;
  for (let r = 0; r < R; r++) {
    const xr = dx + ((<usize>r * ldx) << 2), gr = dy + ((<usize>r * ldy) << 2);
    let i = 0;
    for (; i + 4 <= n; i += 4) { const o = <usize>i << 2; v128.store(xr + o, f32x4.add(v128.load(xr + o), v128.load(gr + o))); }
    for (; i < n; i++) { const o = <usize>i << 2; store<f32>(xr + o, load<f32>(xr + o) + load<f32>(gr + o)); }
  }
}
