// Scalar reference twins of assembly/conv3s2_split.ts: the 3x3 stride-2 pad-1 conv with its taps split by parity,
// written straight from the definitions (one output, one slot at a time), on the upconv twin's formulas.
// x (N, H, W, C) pixel stride ldx -> y (N, OH, OW, OC), OH = ceil(H / 2), pixel stride ldy; w HWIO [3][3][C][OC].
//   Per axis y[o] = E[o] + P[o], E[o] = w0 x[2o - 1] + w2 x[2o + 1], P[o] = w1 x[2o]. Tile (tm, tn): y rows 2tm + a;
//   E rows = A^T [ (G g) (.) (B^T d) ] of d = x rows 4tm - 1, 4tm + 1, 4tm + 3, g = (w0, w2); P row a = w1 x[4tm + 2a]
//   (the 5x5 patch at (4tm - 1, 4tn - 1): E positions at patch rows 0, 2, 4, P lines at 1, 3; slot's st = 2).
// The backward-weight: dU_u = sum over tiles and slots s of u of V_s(c) dM_s(oc), dM along each axis (dy[2t],
// dy[2t] + dy[2t + 1], dy[2t + 1]) for the E positions and dy[2t + i] for P line i (zero outside y), then dw from dU
// by the pack's sums.
import { put } from './tiles';
import { atm, slot, splitWeightGrad } from './winograd_split';

// @ts-ignore: decorator
@inline function at(p: usize, i: i32): usize { return p + (<usize>i << 2); }

export function ref_conv3s2_split_packed_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 { return 0; }
export function ref_conv3s2_split_forward_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 { return 0; }
export function ref_conv3s2_split_backward_weight_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 { return 0; }

function forward(y: usize, x: usize, w: usize, U: usize, b: usize, N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  const OH = (H + 1) >> 1, OW = (W + 1) >> 1;
  for (let n = 0; n < N; n++) for (let tm = 0; tm < (OH + 1) >> 1; tm++) for (let tn = 0; tn < (OW + 1) >> 1; tn++) for (let o = 0; o < OC; o++) {
    const r0 = 4 * tm - 1, s0 = 4 * tn - 1;
    for (let a = 0; a < 2; a++) for (let bb = 0; bb < 2; bb++) {
      let v: f32 = b != 0 ? load<f32>(at(b, o)) : 0;
      for (let ki = 0; ki < 3; ki++) {
        for (let kj = 0; kj < 3; kj++) v += atm(a, ki) * atm(bb, kj) * slot(x, ldx, w, U, n, r0, s0, 2, 0, ki, kj, o, H, W, C, OC);
        v += atm(a, ki) * slot(x, ldx, w, U, n, r0, s0, 2, 1, ki, bb, o, H, W, C, OC);
        v += atm(bb, ki) * slot(x, ldx, w, U, n, r0, s0, 2, 2, a, ki, o, H, W, C, OC);
      }
      v += slot(x, ldx, w, U, n, r0, s0, 2, 3, a, bb, o, H, W, C, OC);
      put(y, ldy, n, 2 * tm + a, 2 * tn + bb, o, OH, OW, v, false);
    }
  }
}

export function ref_conv3s2_split_forward(y: usize, x: usize, w: usize, b: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  forward(y, x, w, 0, b, N, H, W, C, OC, ldy, ldx);
}

export function ref_conv3s2_split_forward_packed(y: usize, x: usize, U: usize, b: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  forward(y, x, 0, U, b, N, H, W, C, OC, ldy, ldx);
}

export function ref_conv3s2_split_backward_weight(dw: usize, db: usize, dy: usize, x: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  splitWeightGrad(dw, db, dy, x, N, H, W, C, OC, ldy, ldx, true);
}
