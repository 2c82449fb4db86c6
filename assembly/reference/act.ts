// Scalar reference twins of assembly/act.ts: plain loops over (pixel, channel), same signatures.
// They define what the SIMD kernels must compute and are what finite differences check.
import { hash_uniform } from '../act';

// @ts-ignore: decorator
@inline function at(p: usize, r: i32, ld: i32, c: i32): usize { return p + ((<usize>r * ld + c) << 2); }

export function ref_relu_forward(y: usize, x: usize, P: i32, C: i32, ldy: i32, ldx: i32): void {
  for (let r = 0; r < P; r++) for (let c = 0; c < C; c++) {
    const v = load<f32>(at(x, r, ldx, c)); store<f32>(at(y, r, ldy, c), v > 0 ? v : 0);
  }
}
export function ref_relu_backward(dx: usize, dy: usize, x: usize, P: i32, C: i32, ldx: i32, ldy: i32): void {
  for (let r = 0; r < P; r++) for (let c = 0; c < C; c++) {
    const g = load<f32>(at(x, r, ldx, c)) > 0 ? load<f32>(at(dy, r, ldy, c)) : <f32>0;
    store<f32>(at(dx, r, ldx, c), load<f32>(at(dx, r, ldx, c)) + g);
  }
}
export function ref_leaky_relu_forward(y: usize, x: usize, slope: f32, P: i32, C: i32, ldy: i32, ldx: i32): void {
  for (let r = 0; r < P; r++) for (let c = 0; c < C; c++) {
    const v = load<f32>(at(x, r, ldx, c)); store<f32>(at(y, r, ldy, c), v > 0 ? v : slope * v);
  }
}
export function ref_leaky_relu_backward(dx: usize, dy: usize, x: usize, slope: f32, P: i32, C: i32, ldx: i32, ldy: i32): void {
  for (let r = 0; r < P; r++) for (let c = 0; c < C; c++) {
    const g = load<f32>(at(dy, r, ldy, c));
    store<f32>(at(dx, r, ldx, c), load<f32>(at(dx, r, ldx, c)) + (load<f32>(at(x, r, ldx, c)) > 0 ? g : slope * g));
  }
}
export function ref_tanh_forward(y: usize, x: usize, P: i32, C: i32, ldy: i32, ldx: i32): void {
  for (let r = 0; r < P; r++) for (let c = 0; c < C; c++) store<f32>(at(y, r, ldy, c), <f32>Math.tanh(<f64>load<f32>(at(x, r, ldx, c))));
}
export function ref_tanh_backward(dx: usize, dy: usize, y: usize, P: i32, C: i32, ldx: i32, ldy: i32): void {
  for (let r = 0; r < P; r++) for (let c = 0; c < C; c++) {
    const t = load<f32>(at(y, r, ldy, c));
    store<f32>(at(dx, r, ldx, c), load<f32>(at(dx, r, ldx, c)) + load<f32>(at(dy, r, ldy, c)) * (1 - t * t));
  }
}
export function ref_sigmoid_forward(y: usize, x: usize, P: i32, C: i32, ldy: i32, ldx: i32): void {
  for (let r = 0; r < P; r++) for (let c = 0; c < C; c++) {
    store<f32>(at(y, r, ldy, c), <f32>(1 / (1 + Math.exp(-<f64>load<f32>(at(x, r, ldx, c))))));
  }
}
export function ref_sigmoid_backward(dx: usize, dy: usize, y: usize, P: i32, C: i32, ldx: i32, ldy: i32): void {
  for (let r = 0; r < P; r++) for (let c = 0; c < C; c++) {
    const t = load<f32>(at(y, r, ldy, c));
    store<f32>(at(dx, r, ldx, c), load<f32>(at(dx, r, ldx, c)) + load<f32>(at(dy, r, ldy, c)) * t * (1 - t));
  }
}
export function ref_dropout_forward(y: usize, mask: usize, x: usize, p: f32, seed: u32, pixel0: i32, P: i32, C: i32, ldy: i32, ldx: i32): void {
  const scale: f32 = p < 1 ? 1 / (1 - p) : 0;
  for (let r = 0; r < P; r++) for (let c = 0; c < C; c++) {
    const m: f32 = hash_uniform(seed, <u32>(pixel0 + r) * <u32>C + <u32>c) >= p ? scale : 0;
    store<f32>(at(mask, r, C, c), m);
    store<f32>(at(y, r, ldy, c), load<f32>(at(x, r, ldx, c)) * m);
  }
}
export function ref_dropout_backward(dx: usize, dy: usize, mask: usize, P: i32, C: i32, ldx: i32, ldy: i32): void {
  for (let r = 0; r < P; r++) for (let c = 0; c < C; c++) {
    store<f32>(at(dx, r, ldx, c), load<f32>(at(dx, r, ldx, c)) + load<f32>(at(dy, r, ldy, c)) * load<f32>(at(mask, r, C, c)));
  }
}
