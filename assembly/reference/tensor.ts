// Scalar reference twins of assembly/tensor.ts: plain loops over (pixel, channel), same signatures.

// @ts-ignore: decorator
@inline function at(p: usize, r: i32, ld: i32, c: i32): usize { return p + ((<usize>r * ld + c) << 2); }

export function ref_add_forward(y: usize, a: usize, b: usize, P: i32, C: i32, ldy: i32, lda: i32, ldb: i32): void {
  for (let r = 0; r < P; r++) for (let c = 0; c < C; c++) {
    store<f32>(at(y, r, ldy, c), load<f32>(at(a, r, lda, c)) + load<f32>(at(b, r, ldb, c)));
  }
}
export function ref_add_backward(da: usize, db: usize, dy: usize, P: i32, C: i32, lda: i32, ldb: i32, ldy: i32): void {
  for (let r = 0; r < P; r++) for (let c = 0; c < C; c++) {
    const g = load<f32>(at(dy, r, ldy, c));
    store<f32>(at(da, r, lda, c), load<f32>(at(da, r, lda, c)) + g);
    store<f32>(at(db, r, ldb, c), load<f32>(at(db, r, ldb, c)) + g);
  }
}
export function ref_copy_forward(y: usize, x: usize, P: i32, C: i32, ldy: i32, ldx: i32): void {
  for (let r = 0; r < P; r++) for (let c = 0; c < C; c++) store<f32>(at(y, r, ldy, c), load<f32>(at(x, r, ldx, c)));
}
export function ref_copy_backward(dx: usize, dy: usize, P: i32, C: i32, ldx: i32, ldy: i32): void {
  for (let r = 0; r < P; r++) for (let c = 0; c < C; c++) {
    store<f32>(at(dx, r, ldx, c), load<f32>(at(dx, r, ldx, c)) + load<f32>(at(dy, r, ldy, c)));
  }
}
