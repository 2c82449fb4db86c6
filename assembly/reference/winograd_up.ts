// Scalar reference twins of assembly/winograd_up.ts: the fused upsample x2 + 3x3 conv's four output phases, each
// a 2x2 conv of x by Winograd F(2x2, 2x2), written straight from the matrix definitions (one tile, one channel
// pair, one transform entry at a time). x (N, H, W, C) pixel stride ldx -> y (N, 2H, 2W, OC) pixel stride ldy;
// w HWIO [3][3][C][OC]; b [OC] (0 = none).
//   phase (pr, pc), tile (ti, tj): y rows 2(2ti + i') + 1 - pr (i' = 0, 1; columns alike) from the x patch
//   d[i][j] = x[2ti - pr + i][2tj - pc + j] (i, j < 3) and the phase's 2x2 kernel g[a][b] = sum over the 3x3 rows
//   T(pr, a) and columns T(pc, b) of w, T(0, .) = {0, 1}, {2}; T(1, .) = {0}, {1, 2}:
//   Y = A^T [ sum_c (G g G^T) (.) (B^T d B) ] A,  B^T = [1 -1 0; 0 1 0; 0 -1 1], G = [1 0; 1 1; 0 1],
//   A^T = [1 1 0; 0 1 1].
// The pack writes U in the SIMD kernels' layout from the formula above (the op table compares it entry by
// entry); the packed forward reads its (G g G^T) entries from U, the plain forward computes them from w.
import { put, px } from './tiles';

// @ts-ignore: decorator
@inline function at(p: usize, i: i32): usize { return p + (<usize>i << 2); }

function bt(r: i32, i: i32): f32 { return r == 1 ? (i == 1 ? 1 : 0) : i == 1 ? -1 : (r == 0 ? i == 0 : i == 2) ? 1 : 0; }
function gm(r: i32, a: i32): f32 { return r == 1 ? 1 : (r == 0 ? a == 0 : a == 1) ? 1 : 0; }
function atm(a: i32, r: i32): f32 { return r == 1 ? 1 : (a == 0 ? r == 0 : r == 2) ? 1 : 0; }
// is the 3x3 row kh in T(p, a)
function inT(p: i32, a: i32, kh: i32): bool { return p == 0 ? (a == 0 ? kh < 2 : kh == 2) : (a == 0 ? kh == 0 : kh > 0); }

// (G g G^T)[r][s] of phase (pr, pc), channels (c, oc)
function ut(w: usize, c: i32, oc: i32, C: i32, OC: i32, pr: i32, pc: i32, r: i32, s: i32): f32 {
  let u: f32 = 0;
  for (let a = 0; a < 2; a++) for (let b = 0; b < 2; b++) {
    const f = gm(r, a) * gm(s, b);
    if (f == 0) continue;
    for (let kh = 0; kh < 3; kh++) for (let kw = 0; kw < 3; kw++) {
      if (inT(pr, a, kh) && inT(pc, b, kw)) u += f * load<f32>(at(w, ((kh * 3 + kw) * C + c) * OC + oc));
    }
  }
  return u;
}

export function ref_upconv_wino_packed_size(C: i32, OC: i32): i32 {
  return 36 * C * ((OC + 7) & ~7);
}
export function ref_upconv_wino_packed_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 { return 0; }
export function ref_upconv_wino_forward_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 { return 0; }

// U[ph = 2pr + pc][k = 3r + s][oc >> 3][c][oc & 7] = (G g G^T)[r][s] of phase ph (0 for oc past OCt), U laid out
// for OCt channels, w's OC channels at c0 .. c0 + OC - 1 of it
export function ref_upconv_wino_pack(U: usize, w: usize, scratch: usize, C: i32, OC: i32, OCt: i32, c0: i32): void {
  const O8 = (OCt + 7) & ~7;
  const end = c0 + OC == OCt ? O8 : c0 + OC;
  for (let ph = 0; ph < 4; ph++) for (let r = 0; r < 3; r++) for (let s = 0; s < 3; s++) for (let oc = c0; oc < end; oc++) for (let c = 0; c < C; c++) {
    const v: f32 = oc < c0 + OC ? ut(w, c, oc - c0, C, OC, ph >> 1, ph & 1, r, s) : 0;
    store<f32>(at(U, ((ph * 9 + 3 * r + s) * O8 + (oc & ~7)) * C + c * 8 + (oc & 7)), v);
  }
}

// U's entry (G g G^T)[r][s] of phase ph, channels (c, oc)
function uAt(U: usize, C: i32, OC: i32, ph: i32, c: i32, oc: i32, r: i32, s: i32): f32 {
  const O8 = (OC + 7) & ~7;
  return load<f32>(at(U, ((ph * 9 + 3 * r + s) * O8 + (oc & ~7)) * C + c * 8 + (oc & 7)));
}

// y = b + each phase's F(2x2, 2x2) tiles; the transformed weight from w (U == 0) or read from U
function winoForward(y: usize, x: usize, w: usize, U: usize, b: usize, N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  const UH = 2 * H, UW = 2 * W;
  for (let pr = 0; pr < 2; pr++) for (let pc = 0; pc < 2; pc++) {
    for (let n = 0; n < N; n++) for (let ti = 0; ti < (H + 1) / 2; ti++) for (let tj = 0; tj < (W + 1) / 2; tj++) {
      for (let o = 0; o < OC; o++) {
        let y00: f32 = 0, y01: f32 = 0, y10: f32 = 0, y11: f32 = 0;
        for (let r = 0; r < 3; r++) for (let s = 0; s < 3; s++) {
          let m: f32 = 0;
          for (let c = 0; c < C; c++) {
            let v: f32 = 0;
            for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) {
              const f = bt(r, i) * bt(s, j);
              if (f != 0) v += f * px(x, ldx, n, 2 * ti - pr + i, 2 * tj - pc + j, c, H, W);
            }
            m += (U != 0 ? uAt(U, C, OC, 2 * pr + pc, c, o, r, s) : ut(w, c, o, C, OC, pr, pc, r, s)) * v;
          }
          y00 += atm(0, r) * atm(0, s) * m; y01 += atm(0, r) * atm(1, s) * m;
          y10 += atm(1, r) * atm(0, s) * m; y11 += atm(1, r) * atm(1, s) * m;
        }
        const bv: f32 = b != 0 ? load<f32>(at(b, o)) : 0;
        const h0 = 4 * ti + 1 - pr, w0 = 4 * tj + 1 - pc;
        // rows past the image: i = 2ti + 1 >= H (put skips rows >= 2H: 2(2ti + 1) + 1 - pr >= 2H there)
        put(y, ldy, n, h0, w0, o, UH, UW, y00 + bv, false);
        put(y, ldy, n, h0, w0 + 2, o, UH, UW, y01 + bv, false);
        put(y, ldy, n, h0 + 2, w0, o, UH, UW, y10 + bv, false);
        put(y, ldy, n, h0 + 2, w0 + 2, o, UH, UW, y11 + bv, false);
      }
    }
  }
}

export function ref_upconv_wino_forward(y: usize, x: usize, w: usize, b: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  winoForward(y, x, w, 0, b, N, H, W, C, OC, ldy, ldx);
}

export function ref_upconv_wino_forward_packed(y: usize, x: usize, U: usize, b: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  winoForward(y, x, 0, U, b, N, H, W, C, OC, ldy, ldx);
}
