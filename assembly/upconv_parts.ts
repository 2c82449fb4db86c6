// The fused nearest-upsample x2 + 3x3 stride-1 pad-1 conv (upconv.ts) by its parity parts on w's own nine taps:
// 9 MACs per x pixel and channel pair (the phases' 16, the split taps' 6.25) with nothing derived from w: each tap's
// C x OC matrix is read once, in place. For few x pixels (src/core/conv-dispatch.ts PARTS_P) the per-call transforms
// of the other two forwards (16 matrices written where w has 9) cost more than the multiply-adds they save.
// x (N, H, W, C) pixel stride ldx -> y (N, 2H, 2W, OC) pixel stride ldy; w HWIO [3][3][C][OC]; b [OC] (0 = none).
// Overwrites y.
//
// Rows (columns alike, winograd_split.ts): y[2i] = E[i] + P[i], y[2i+1] = E[i+1] + P[i] with
//   E[m] = w0 x[m-1] + w2 x[m]  (m = 0 .. H, x zero outside),   P[i] = w1 x[i]  (i < H).
// In 2-D the four parts, each a small conv of x with a subset of the taps:
//   EE[m][n] = sum_{a, b in {0, 1}} w[2a][2b] x[m-1+a][n-1+b]   ((H+1) x (W+1), 4 taps)
//   EP[m][j] = sum_a w[2a][1] x[m-1+a][j]                       ((H+1) x W, 2 taps)
//   PE[i][n] = sum_b w[1][2b] x[i][n-1+b]                       (H x (W+1), 2 taps)
//   PP[i][j] = w[1][1] x[i][j]                                  (H x W, 1 tap)
// and y[2i+a][2j+b] = EE[i+a][j+b] + EP[i+a][j] + PE[i][j+b] + PP[i][j] + bias.
// Each part is an indirect GEMM (igemm_4x8, rows = the part's positions, one pointer per tap into x or a zero
// vector) accumulating into its grid in scratch; then one pass adds the four grids into y.
// upconvNarrow is the same for narrow outputs (OC <= 4, the generator's last layer to RGB) on the dot-product tiles:
// upconv.ts's forward for those (its dual transposed conv does 16 MACs per x pixel and channel pair).
import { igemm_4x8, igemm_dot_2x4, pack_dot, pack_panels } from './gemm';

// @ts-ignore: decorator
@inline function al(n: i32): i32 { return (n + 15) & ~15; }
// @ts-ignore: decorator
@inline function c4(n: i32): i32 { return (n + 3) & ~3; }
// @ts-ignore: decorator
@inline function c8(n: i32): i32 { return (n + 7) & ~7; }
// @ts-ignore: decorator
@inline function fl(p: usize, n: i32): usize { return p + (<usize>n << 2); }

// Input channels per K block of a tap: read in place from w (OC a multiple of 8: measured 1.0-1.1x packing the
// block, and 8 or 64 rows per call were slower) or else packed into 8-wide panels (KB x c8(OC) floats, in L2).
// Both ways each output channel's sum runs over the same blocks, so a share of the channels gets the same bits.
const KB: i32 = 256;

// Positions of part q (0 EE, 1 EP, 2 PE, 3 PP) per image: E rows H + 1, P rows H (columns alike).
// @ts-ignore: decorator
@inline function partRows(q: i32, H: i32): i32 { return q < 2 ? H + 1 : H; }
// @ts-ignore: decorator
@inline function partCols(q: i32, W: i32): i32 { return (q & 1) == 0 ? W + 1 : W; }
// @ts-ignore: decorator
@inline function partSize(q: i32, N: i32, H: i32, W: i32): i32 { return N * partRows(q, H) * partCols(q, W); }

// Float offset of part q's grid from the first one's (OC floats a position, each grid 16-float aligned); q = 4:
// the four grids' size.
// @ts-ignore: decorator
@inline function gridAt(q: i32, N: i32, H: i32, W: i32, OC: i32): i32 {
  let o = 0;
  for (let p = 0; p < q; p++) o += al(partSize(p, N, H, W) * OC);
  return o;
}

// Floats of scratch of upconv_parts_forward (the pointer tables hold the largest part's rows: EE's).
export function upconv_parts_forward_scratch_size(N: i32, H: i32, W: i32, C: i32, OC: i32): i32 {
  return al(c4(C)) + al(min(KB, max(C, 1)) * c8(OC)) + gridAt(4, N, H, W, OC) + 2 * al(partSize(0, N, H, W));
}

// y = b + upconv(x) (see the header).
export function upconv_parts_forward(y: usize, x: usize, w: usize, b: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32): void {
  if (N <= 0 || H <= 0 || W <= 0 || OC <= 0) return;
  // scratch: zero vector | packed K block of one tap | the four part grids (OC floats a position) | ind | outp
  const zero = scratch;
  const bp = fl(zero, al(c4(C)));
  const g0 = fl(bp, al(min(KB, max(C, 1)) * c8(OC)));
  const grids = gridAt(4, N, H, W, OC);
  const ind = fl(g0, grids), outp = fl(ind, al(partSize(0, N, H, W)));
  memory.fill(zero, 0, <usize>c4(C) << 2);
  memory.fill(g0, 0, <usize>grids << 2);
  const tap = C * OC;
  for (let q = 0; q < 4; q++) {
    const PR = partRows(q, H), PC = partCols(q, W), R = N * PR * PC, g = fl(g0, gridAt(q, N, H, W, OC));
    // E along an axis: taps 0 (x at m - 1) and 2 (x at m); P: tap 1 (x at i)
    const nA = q < 2 ? 2 : 1, nB = (q & 1) == 0 ? 2 : 1;
    for (let r = 0; r < R; r++) store<u32>(outp + (<usize>r << 2), <u32>fl(g, r * OC));
    for (let a = 0; a < nA; a++) {
      const kh = q < 2 ? 2 * a : 1, dr = q < 2 ? a - 1 : 0;
      for (let bb = 0; bb < nB; bb++) {
        const kw = (q & 1) == 0 ? 2 * bb : 1, dc = (q & 1) == 0 ? bb - 1 : 0;
        let any = false;
        for (let r = 0; r < R; r++) {
          const n = r / (PR * PC), s = r - n * PR * PC, m = s / PC, k = s - m * PC;
          const ih = m + dr, iw = k + dc;
          const inside = ih >= 0 && ih < H && iw >= 0 && iw < W;
          any = any || inside;
          store<u32>(ind + (<usize>r << 2), <u32>(inside ? fl(x, ((n * H + ih) * W + iw) * ldx) : zero));
        }
        if (!any || C <= 0) continue;
        const wt = fl(w, (kh * 3 + kw) * tap);
        if ((OC & 7) == 0) {
          for (let c0 = 0; c0 < C; c0 += KB) {
            igemm_4x8(R, 1, min(KB, C - c0), ind, outp, 0, fl(wt, c0 * OC), <usize>OC << 2, 32, OC, 0, 1, zero, <usize>c0 << 2);
          }
          continue;
        }
        for (let c0 = 0; c0 < C; c0 += KB) {
          const kc = min(KB, C - c0);
          pack_panels(bp, fl(wt, c0 * OC), kc, OC, OC);
          igemm_4x8(R, 1, kc, ind, outp, 0, bp, 32, <usize>kc << 5, OC, 0, 1, zero, <usize>c0 << 2);
        }
      }
    }
  }
  // y[2i+a][2j+b] = EE[i+a][j+b] + EP[i+a][j] + PE[i][j+b] + PP[i][j] + b, image by image
  const ee = g0, ep = fl(g0, gridAt(1, N, H, W, OC)), pe = fl(g0, gridAt(2, N, H, W, OC)), pp = fl(g0, gridAt(3, N, H, W, OC));
  const gE = (H + 1) * (W + 1) * OC, gEP = (H + 1) * W * OC, gPE = H * (W + 1) * OC, gP = H * W * OC;
  for (let n = 0; n < N; n++) {
    sumParts(fl(y, n * 4 * H * W * ldy), ldy, fl(ee, n * gE), fl(ep, n * gEP), fl(pe, n * gPE), fl(pp, n * gP), b, H, W, OC, false);
  }
}

// The pass into y of a block of x rows: y[2i+a][2j+bb] = (EE[i+a][j+bb] + EP[i+a][j]) + (PE[i][j+bb] + PP[i][j]) + b
// for i < nr, or with acc y += the part sum (y holds the bias already). y: the block's first y row; the grids: its
// first E (P) row, OC floats a position, rows of W + 1 (E columns) or W (P columns) positions.
function sumParts(y: usize, ldy: i32, ee: usize, ep: usize, pe: usize, pp: usize, b: usize, nr: i32, W: i32, OC: i32, acc: bool): void {
  const EW = W + 1, OC4 = OC & ~3;
  for (let i = 0; i < nr; i++) for (let j = 0; j < W; j++) for (let a = 0; a < 2; a++) for (let bb = 0; bb < 2; bb++) {
    const pEE = fl(ee, ((i + a) * EW + j + bb) * OC), pEP = fl(ep, ((i + a) * W + j) * OC);
    const pPE = fl(pe, (i * EW + j + bb) * OC), pP = fl(pp, (i * W + j) * OC);
    const yo = fl(y, ((2 * i + a) * 2 * W + 2 * j + bb) * ldy);
    let c = 0;
    for (; c < OC4; c += 4) {
      const o = <usize>c << 2;
      const v = f32x4.add(f32x4.add(v128.load(pEE + o), v128.load(pEP + o)), f32x4.add(v128.load(pPE + o), v128.load(pP + o)));
      v128.store(yo + o, acc ? f32x4.add(v128.load(yo + o), v) : b != 0 ? f32x4.add(v, v128.load(b + o)) : v);
    }
    for (; c < OC; c++) {
      const o = <usize>c << 2;
      const v = (load<f32>(pEE + o) + load<f32>(pEP + o)) + (load<f32>(pPE + o) + load<f32>(pP + o));
      store<f32>(yo + o, acc ? load<f32>(yo + o) + v : b != 0 ? v + load<f32>(b + o) : v);
    }
  }
}

// ---- narrow outputs (OC <= 4, C a multiple of 4) ----

// x rows per block of upconvNarrow: the four part grids of a block stay in L2 (at 128 x 128 x 3: 17 x 129 E
// positions, 26 KB each), and the block's last E row is computed again as the next block's first (1/16 more EE, EP).
const RB: i32 = 16;

// Floats of scratch upconvNarrow needs: zero vector | the 9 taps packed | 4 part grids of a block | ind (4 taps) | outp.
export function narrowSize(H: i32, W: i32, C: i32, OC: i32): i32 {
  const E = (min(H, RB) + 1) * (W + 1);
  return al(c4(C)) + al(36 * C) + 4 * al(E * OC) + al(4 * E) + al(E);
}

// The fused upsample + conv for OC <= 4 output channels and C a multiple of 4 (the dot tiles read 4 channels at
// once), by the parts above on igemm_dot_2x4's dot-product tiles (3 columns: igemm_dot_3x3, no lane spent on an
// absent channel): x rows [r0, r1) of the N H rows (y rows 2 r0 .. 2 r1 - 1 of each image), block by block.
// y = (EE + EP) + (PE + PP) + b, or with acc y += (EE + EP) + (PE + PP) (y holds the bias: the threads' row split,
// the same bits since the two sums only commute).
export function upconvNarrow(y: usize, x: usize, w: usize, b: usize, scratch: usize,
  N: i32, H: i32, W: i32, C: i32, OC: i32, ldy: i32, ldx: i32, r0: i32, r1: i32, acc: bool): void {
  const EW = W + 1, E = (min(H, RB) + 1) * EW, gs = al(E * OC);
  const zero = scratch, bp = fl(zero, al(c4(C))), g0 = fl(bp, al(36 * C));
  const ind = fl(g0, 4 * gs), outp = fl(ind, al(4 * E));
  memory.fill(zero, 0, <usize>c4(C) << 2);
  // the 9 taps in part order (EE: w[0][0], w[0][2], w[2][0], w[2][2]; EP: w[0][1], w[2][1]; PE: w[1][0], w[1][2];
  // PP: w[1][1]), each as igemm_dot_2x4's B: [C / 4][4 columns][4 k], zero past OC
  let t = 0;
  for (let q = 0; q < 4; q++) {
    for (let a = 0; a < (q < 2 ? 2 : 1); a++) for (let bb = 0; bb < ((q & 1) == 0 ? 2 : 1); bb++) {
      const kh = q < 2 ? 2 * a : 1, kw = (q & 1) == 0 ? 2 * bb : 1;
      pack_dot(fl(bp, t * 4 * C), 0, fl(w, (kh * 3 + kw) * C * OC), C, OC, OC, 1);
      t++;
    }
  }
  for (let n = r0 / H; n < N && n * H < r1; n++) {
    const ia = max(r0 - n * H, 0), ib = min(r1 - n * H, H);
    for (let i0 = ia; i0 < ib; i0 += RB) {
      const nr = min(RB, ib - i0);
      // the parts' grids: E rows i0 .. i0 + nr, P rows i0 .. i0 + nr - 1 (columns: E 0 .. W, P 0 .. W - 1)
      let t0 = 0;
      for (let q = 0; q < 4; q++) {
        const PR = q < 2 ? nr + 1 : nr, PC = (q & 1) == 0 ? EW : W, R = PR * PC, g = fl(g0, q * gs);
        const nA = q < 2 ? 2 : 1, nB = (q & 1) == 0 ? 2 : 1;
        for (let r = 0; r < R; r++) {
          const m = r / PC, c = r - m * PC;
          store<u32>(outp + (<usize>r << 2), <u32>fl(g, r * OC));
          for (let a = 0; a < nA; a++) for (let bb = 0; bb < nB; bb++) {
            const ih = i0 + m + (q < 2 ? a - 1 : 0), iw = c + ((q & 1) == 0 ? bb - 1 : 0);
            const inside = ih >= 0 && ih < H && iw >= 0 && iw < W;
            store<u32>(ind + (<usize>((a * nB + bb) * R + r) << 2), <u32>(inside ? fl(x, ((n * H + ih) * W + iw) * ldx) : zero));
          }
        }
        igemm_dot_2x4(R, nA * nB, C, ind, outp, 0, fl(bp, t0 * 4 * C), OC, 0, 0, zero);
        t0 += nA * nB;
      }
      sumParts(fl(y, (n * 2 * H + 2 * i0) * 2 * W * ldy), ldy, g0, fl(g0, gs), fl(g0, 2 * gs), fl(g0, 3 * gs), b, nr, W, OC, acc);
    }
  }
}
