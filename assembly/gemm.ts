// The GEMM micro-kernels under conv, conv-transpose and linear. The workhorse is a 4x8 register tile of 8 v128
// accumulators: A broadcast one float at a time with v128.load32_splat, B from 8-wide packed panels (two v128
// loads per k), so one k step is 4 splats + 2 loads + 8 madds and needs 8 + 2 + 1 (+1 temp without FMA) = 12 of
// V8's 15 usable xmm registers (5x8/6x8 or a k-unroll spill; see wasm-simd-state-of-the-art.md §5).
// igemm_4x8 reaches A's rows through pointer tables (indirect GEMM, XNNPACK style: conv needs no im2col);
// gemm_ap_4x8 is the fully packed form (weight gradient); igemm_dot_2x4 / gemm_dot_bt_2x4 are dot-product
// tiles for narrow outputs and for B^T read in place; gemm_dwt_4x8 is the narrow weight gradient. No kernel
// allocates or reads past the vectors it is given; all accumulate or overwrite as documented per function.
import { madd, storeT4 } from './simd';

// @ts-ignore: decorator
@inline function rowStore(o: usize, v0: v128, v1: v128, nc: i32, acc: i32): void {
  if (nc == 8) {
    if (acc) { v0 = f32x4.add(v0, v128.load(o)); v1 = f32x4.add(v1, v128.load(o, 16)); }
    v128.store(o, v0);
    v128.store(o, v1, 16);
  } else {
    laneStore(o, v0, nc > 4 ? 4 : nc, acc);
    if (nc > 4) laneStore(o + 16, v1, nc - 4, acc);
  }
}

// Stores the first n (1..4) lanes of v (adding to memory when acc); never touches memory past them.
// @ts-ignore: decorator
@inline function laneStore(o: usize, v: v128, n: i32, acc: i32): void {
  if (n == 4) {
    if (acc) v = f32x4.add(v, v128.load(o));
    v128.store(o, v);
    return;
  }
  store<f32>(o, f32x4.extract_lane(v, 0) + (acc ? load<f32>(o) : 0));
  if (n > 1) store<f32>(o, f32x4.extract_lane(v, 1) + (acc ? load<f32>(o, 4) : 0), 4);
  if (n > 2) store<f32>(o, f32x4.extract_lane(v, 2) + (acc ? load<f32>(o, 8) : 0), 8);
}

// Indirect GEMM, rows r in [0, R), columns in [0, NC):
//   Y_r[0:NC] (= or +=) bias + sum_{t < T} sum_{k < K} A[t][r][k] * B[t][k][0:NC]
// ind:  u32[T][R], ind[t][r] = byte pointer to K contiguous floats (an input pixel's channels, or zp = zeros)
// outp: u32[R], byte pointer of output row r; column 0 is at outp[r] + ooff
// bp:   B as 8-wide panels: panel j at bp + j*pstride, row k of tap t at + (t*K + k)*ldb bytes (packed: ldb = 32,
//       pstride = T*K*32; or W itself when NC is a multiple of 8: ldb = 4*row length, pstride = 32)
// bias: ceil(NC/8)*8 floats (zero-padded), or 0; acc: 0 overwrite, 1 accumulate (then bias must be 0)
// aoff (bytes) is added to every A pointer (a K block that starts inside the channel vectors).
// A tap whose 4 row pointers are all zp is skipped (padding taps of small images cost nothing).
// Panels outer, 4-row blocks inner: one B panel stays in L1/L2 while the rows stream past it;
// callers hand R in chunks small enough that the rows' input pixels stay in L2 across panels.
export function igemm_4x8(R: i32, T: i32, K: i32, ind: usize, outp: usize, ooff: usize, bp: usize, ldb: usize, pstride: usize,
  NC: i32, bias: usize, acc: i32, zp: usize, aoff: usize): void {
  if (R == 1) { igemv_1x32(T, K, ind, outp, ooff, bp, ldb, pstride, NC, bias, acc, zp, aoff); return; }
  const NP = (NC + 7) >> 3;
  const tstride = <usize>R << 2;
  const tapb = <usize>K * ldb;
  const zero = f32x4.splat(0);
  for (let j = 0; j < NP; j++) {
    const nc = min(8, NC - (j << 3));
    const bj = bp + <usize>j * pstride;
    for (let r = 0; r < R; r += 4) {
      const mr = min(4, R - r);
      // a short block repeats row r in the missing rows and does not store them
      const o0 = <usize>r << 2;
      const o1 = mr > 1 ? o0 + 4 : o0, o2 = mr > 2 ? o0 + 8 : o0, o3 = mr > 3 ? o0 + 12 : o0;
      // the bias is reloaded per block rather than held in two registers across the k loop (the mul+add
      // build needs a temp, and 8 + 2 + 2 + 1 + 1 + 2 would pass V8's 15 usable xmm)
      let bias0 = zero, bias1 = zero;
      if (bias != 0) { bias0 = v128.load(bias + (<usize>j << 5)); bias1 = v128.load(bias + (<usize>j << 5), 16); }
      let c00 = bias0, c01 = bias1, c10 = bias0, c11 = bias1, c20 = bias0, c21 = bias1, c30 = bias0, c31 = bias1;
      let bt = bj;
      let it = ind;
      for (let t = 0; t < T; t++) {
        let a0 = <usize>load<u32>(it + o0), a1 = <usize>load<u32>(it + o1);
        let a2 = <usize>load<u32>(it + o2), a3 = <usize>load<u32>(it + o3);
        it += tstride;
        if ((a0 == zp) & (a1 == zp) & (a2 == zp) & (a3 == zp)) { bt += tapb; continue; }
        a0 += aoff; a1 += aoff; a2 += aoff; a3 += aoff;
        for (let k = 0; k < K; k++) {
          const b0 = v128.load(bt), b1 = v128.load(bt, 16);
          let va = v128.load32_splat(a0);
          c00 = madd(va, b0, c00); c01 = madd(va, b1, c01);
          va = v128.load32_splat(a1);
          c10 = madd(va, b0, c10); c11 = madd(va, b1, c11);
          va = v128.load32_splat(a2);
          c20 = madd(va, b0, c20); c21 = madd(va, b1, c21);
          va = v128.load32_splat(a3);
          c30 = madd(va, b0, c30); c31 = madd(va, b1, c31);
          a0 += 4; a1 += 4; a2 += 4; a3 += 4; bt += ldb;
        }
      }
      const jo = ooff + (<usize>j << 5);
      rowStore(<usize>load<u32>(outp + o0) + jo, c00, c01, nc, acc);
      if (mr > 1) rowStore(<usize>load<u32>(outp + o1) + jo, c10, c11, nc, acc);
      if (mr > 2) rowStore(<usize>load<u32>(outp + o2) + jo, c20, c21, nc, acc);
      if (mr > 3) rowStore(<usize>load<u32>(outp + o3) + jo, c30, c31, nc, acc);
    }
  }
}

// igemm_4x8 for one row (GEMV shape: a 1x1 image, one output pixel of a phase), where the 4x8 tile would repeat
// the row in all four and do 4x the madds: one row against four panels at once (8 accumulators; per k one splat,
// 8 B loads, 8 madds), the panels past a multiple of 4 one at a time. Same arguments as igemm_4x8 with R = 1;
// each column sums bias, then the taps and k in the same order as igemm_4x8, so the result is bit for bit the same.
function igemv_1x32(T: i32, K: i32, ind: usize, outp: usize, ooff: usize, bp: usize, ldb: usize, pstride: usize,
  NC: i32, bias: usize, acc: i32, zp: usize, aoff: usize): void {
  const NP = (NC + 7) >> 3;
  const tapb = <usize>K * ldb;
  const zero = f32x4.splat(0);
  const o = <usize>load<u32>(outp) + ooff;
  let j = 0;
  for (; j + 4 <= NP; j += 4) {
    const b0 = bp + <usize>j * pstride, b1 = b0 + pstride, b2 = b1 + pstride, b3 = b2 + pstride;
    let c00 = zero, c01 = zero, c10 = zero, c11 = zero, c20 = zero, c21 = zero, c30 = zero, c31 = zero;
    if (bias != 0) {
      const bj = bias + (<usize>j << 5);
      c00 = v128.load(bj); c01 = v128.load(bj, 16); c10 = v128.load(bj, 32); c11 = v128.load(bj, 48);
      c20 = v128.load(bj, 64); c21 = v128.load(bj, 80); c30 = v128.load(bj, 96); c31 = v128.load(bj, 112);
    }
    let off: usize = 0;
    for (let t = 0; t < T; t++) {
      let a = <usize>load<u32>(ind + (<usize>t << 2));
      if (a == zp) { off += tapb; continue; }
      a += aoff;
      const aend = a + (<usize>K << 2);
      for (; a < aend; a += 4) {
        const va = v128.load32_splat(a);
        c00 = madd(va, v128.load(b0 + off), c00); c01 = madd(va, v128.load(b0 + off, 16), c01);
        c10 = madd(va, v128.load(b1 + off), c10); c11 = madd(va, v128.load(b1 + off, 16), c11);
        c20 = madd(va, v128.load(b2 + off), c20); c21 = madd(va, v128.load(b2 + off, 16), c21);
        c30 = madd(va, v128.load(b3 + off), c30); c31 = madd(va, v128.load(b3 + off, 16), c31);
        off += ldb;
      }
    }
    const jo = o + (<usize>j << 5);
    rowStore(jo, c00, c01, min(8, NC - (j << 3)), acc);
    rowStore(jo + 32, c10, c11, min(8, NC - (j << 3) - 8), acc);
    rowStore(jo + 64, c20, c21, min(8, NC - (j << 3) - 16), acc);
    rowStore(jo + 96, c30, c31, min(8, NC - (j << 3) - 24), acc);
  }
  for (; j < NP; j++) {
    const bj = bp + <usize>j * pstride;
    let c0 = zero, c1 = zero;
    if (bias != 0) { c0 = v128.load(bias + (<usize>j << 5)); c1 = v128.load(bias + (<usize>j << 5), 16); }
    let bt = bj;
    for (let t = 0; t < T; t++) {
      let a = <usize>load<u32>(ind + (<usize>t << 2));
      if (a == zp) { bt += tapb; continue; }
      a += aoff;
      const aend = a + (<usize>K << 2);
      for (; a < aend; a += 4) {
        const va = v128.load32_splat(a);
        c0 = madd(va, v128.load(bt), c0); c1 = madd(va, v128.load(bt, 16), c1);
        bt += ldb;
      }
    }
    rowStore(o + (<usize>j << 5), c0, c1, min(8, NC - (j << 3)), acc);
  }
}

// The narrow kernel for NC <= 4 columns (3-channel images, 1-channel patch logits), in dot-product form so no
// lane is wasted: a 2-row x 4-column tile of v128 accumulators each summing 4 k at once, reduced at the end.
// Per 4 k: 2 A loads, 4 B loads, 8 madds; 8 + 4 + 1 (+1 temp) registers. Splat-style tiles for 4 columns
// (8x4, or 4x4 with k split in two) measured 3x slower here. Same arguments as igemm_4x8 except:
// K must be a multiple of 4 (callers pad), and B is packed by k blocks: bp[kb][n][0:4] = B[4kb : 4kb+4][n]
// over the T*K flattened k, n < 4 (zero past NC).
export function igemm_dot_2x4(R: i32, T: i32, K: i32, ind: usize, outp: usize, ooff: usize, bp: usize,
  NC: i32, bias: usize, acc: i32, zp: usize): void {
  if (NC == 3) { igemm_dot_3x3(R, T, K, ind, outp, ooff, bp, bias, acc, zp); return; }
  const tstride = <usize>R << 2;
  const tapb = <usize>K << 4;
  const zero = f32x4.splat(0);
  const bias0 = bias != 0 ? v128.load(bias) : zero;
  for (let r = 0; r < R; r += 2) {
    const o0 = <usize>r << 2;
    const o1 = r + 1 < R ? o0 + 4 : o0;
    let c00 = zero, c01 = zero, c02 = zero, c03 = zero, c10 = zero, c11 = zero, c12 = zero, c13 = zero;
    let bt = bp;
    let it = ind;
    for (let t = 0; t < T; t++) {
      let a0 = <usize>load<u32>(it + o0), a1 = <usize>load<u32>(it + o1);
      it += tstride;
      if ((a0 == zp) & (a1 == zp)) { bt += tapb; continue; }
      const aend = a0 + (<usize>K << 2);
      while (a0 < aend) {
        const w0 = v128.load(bt), w1 = v128.load(bt, 16), w2 = v128.load(bt, 32), w3 = v128.load(bt, 48);
        let va = v128.load(a0);
        c00 = madd(va, w0, c00); c01 = madd(va, w1, c01); c02 = madd(va, w2, c02); c03 = madd(va, w3, c03);
        va = v128.load(a1);
        c10 = madd(va, w0, c10); c11 = madd(va, w1, c11); c12 = madd(va, w2, c12); c13 = madd(va, w3, c13);
        a0 += 16; a1 += 16; bt += 64;
      }
    }
    laneStore(<usize>load<u32>(outp + o0) + ooff, f32x4.add(reduce4(c00, c01, c02, c03), bias0), NC, acc);
    if (r + 1 < R) laneStore(<usize>load<u32>(outp + o1) + ooff, f32x4.add(reduce4(c10, c11, c12, c13), bias0), NC, acc);
  }
}

// igemm_dot_2x4 for 3 columns (RGB: the first layers' input gradient, the generator's last layer): 3 rows x 3
// columns, so no madd goes to the empty 4th column (9 of 9 useful per 6 loads, against 6 of 8 per 6). Per
// column the same sums in the same order as igemm_dot_2x4 (reduce4's lane j reads only its vector j), so the
// same bits.
function igemm_dot_3x3(R: i32, T: i32, K: i32, ind: usize, outp: usize, ooff: usize, bp: usize,
  bias: usize, acc: i32, zp: usize): void {
  const tstride = <usize>R << 2;
  const tapb = <usize>K << 4;
  const zero = f32x4.splat(0);
  const bias0 = bias != 0 ? v128.load(bias) : zero;
  for (let r = 0; r < R; r += 3) {
    const o0 = <usize>r << 2;
    const o1 = r + 1 < R ? o0 + 4 : o0, o2 = r + 2 < R ? o0 + 8 : o0;
    let c00 = zero, c01 = zero, c02 = zero, c10 = zero, c11 = zero, c12 = zero, c20 = zero, c21 = zero, c22 = zero;
    let bt = bp;
    let it = ind;
    for (let t = 0; t < T; t++) {
      let a0 = <usize>load<u32>(it + o0), a1 = <usize>load<u32>(it + o1), a2 = <usize>load<u32>(it + o2);
      it += tstride;
      if ((a0 == zp) & (a1 == zp) & (a2 == zp)) { bt += tapb; continue; }
      const aend = a0 + (<usize>K << 2);
      while (a0 < aend) {
        const w0 = v128.load(bt), w1 = v128.load(bt, 16), w2 = v128.load(bt, 32);
        let va = v128.load(a0);
        c00 = madd(va, w0, c00); c01 = madd(va, w1, c01); c02 = madd(va, w2, c02);
        va = v128.load(a1);
        c10 = madd(va, w0, c10); c11 = madd(va, w1, c11); c12 = madd(va, w2, c12);
        va = v128.load(a2);
        c20 = madd(va, w0, c20); c21 = madd(va, w1, c21); c22 = madd(va, w2, c22);
        a0 += 16; a1 += 16; a2 += 16; bt += 64;
      }
    }
    laneStore(<usize>load<u32>(outp + o0) + ooff, f32x4.add(reduce4(c00, c01, c02, c02), bias0), 3, acc);
    if (r + 1 < R) laneStore(<usize>load<u32>(outp + o1) + ooff, f32x4.add(reduce4(c10, c11, c12, c12), bias0), 3, acc);
    if (r + 2 < R) laneStore(<usize>load<u32>(outp + o2) + ooff, f32x4.add(reduce4(c20, c21, c22, c22), bias0), 3, acc);
  }
}

// Dot-product GEMM reading B^T in place, for a handful of rows (backward-input of 1-4 pixel images, where
// packing w^T would cost more than the GEMM): Y_r[n] += sum_{k < K} A_r[k] * W[n][k] for n < NC, r < R,
// A_r = ind[r] (skipped when zp), W row n at w + n*ldw floats, Y_r at outp[r]. Tile 2 rows x 4 columns,
// 4 k per step; columns outer so the 4 W rows stay in L1 while the rows pass (each weight read once).
export function gemm_dot_bt_2x4(R: i32, K: i32, ind: usize, outp: usize, w: usize, ldw: i32, NC: i32, zp: usize): void {
  const zero = f32x4.splat(0);
  const K4 = K & ~3;
  const ldwb = <usize>ldw << 2;
  for (let n0 = 0; n0 < NC; n0 += 4) {
    const nn = min(4, NC - n0);
    const w0 = w + <usize>n0 * ldwb;
    const w1 = nn > 1 ? w0 + ldwb : w0, w2 = nn > 2 ? w0 + 2 * ldwb : w0, w3 = nn > 3 ? w0 + 3 * ldwb : w0;
    for (let r = 0; r < R; r += 2) {
      const r1 = r + 1 < R ? r + 1 : r;
      const p0 = <usize>load<u32>(ind + (<usize>r << 2)), p1 = <usize>load<u32>(ind + (<usize>r1 << 2));
      if ((p0 == zp) & (p1 == zp)) continue;
      let c00 = zero, c01 = zero, c02 = zero, c03 = zero, c10 = zero, c11 = zero, c12 = zero, c13 = zero;
      for (let k: usize = 0; k < (<usize>K4 << 2); k += 16) {
        const b0 = v128.load(w0 + k), b1 = v128.load(w1 + k), b2 = v128.load(w2 + k), b3 = v128.load(w3 + k);
        let va = v128.load(p0 + k);
        c00 = madd(va, b0, c00); c01 = madd(va, b1, c01); c02 = madd(va, b2, c02); c03 = madd(va, b3, c03);
        va = v128.load(p1 + k);
        c10 = madd(va, b0, c10); c11 = madd(va, b1, c11); c12 = madd(va, b2, c12); c13 = madd(va, b3, c13);
      }
      let y0 = reduce4(c00, c01, c02, c03), y1 = reduce4(c10, c11, c12, c13);
      for (let k = K4; k < K; k++) {
        const o = <usize>k << 2;
        const x0 = f32x4.splat(load<f32>(p0 + o)), x1 = f32x4.splat(load<f32>(p1 + o));
        let wv = f32x4.splat(0);
        wv = f32x4.replace_lane(wv, 0, load<f32>(w0 + o));
        wv = f32x4.replace_lane(wv, 1, load<f32>(w1 + o));
        wv = f32x4.replace_lane(wv, 2, load<f32>(w2 + o));
        wv = f32x4.replace_lane(wv, 3, load<f32>(w3 + o));
        y0 = madd(x0, wv, y0); y1 = madd(x1, wv, y1);
      }
      const no = <usize>n0 << 2;
      laneStore(<usize>load<u32>(outp + (<usize>r << 2)) + no, y0, nn, 1);
      if (r1 != r) laneStore(<usize>load<u32>(outp + (<usize>r1 << 2)) + no, y1, nn, 1);
    }
  }
}

// [sum(a), sum(b), sum(c), sum(d)] of four 4-lane vectors.
// @ts-ignore: decorator
@inline function reduce4(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = f32x4.add(v128.shuffle<f32>(a, b, 0, 4, 1, 5), v128.shuffle<f32>(a, b, 2, 6, 3, 7));
  const cd = f32x4.add(v128.shuffle<f32>(c, d, 0, 4, 1, 5), v128.shuffle<f32>(c, d, 2, 6, 3, 7));
  return f32x4.add(v128.shuffle<f32>(ab, cd, 0, 1, 4, 5), v128.shuffle<f32>(ab, cd, 2, 3, 6, 7));
}

// Packed GEMM, rows m in [0, M), columns in [0, NC), accumulating (the weight gradients):
//   Y[m][0:NC] += sum_{q < Q} A[q][m] * B[q][0:NC]
// or, acc = 0, Y[m][0:NC] = bias + the sum (the first layers' forward on im2col rows packed by pack_rows4, and
// their input gradient Z = dy . w^T: the same madds in the same order as igemm_4x8 on those rows, so the same
// bits, with one A pointer instead of four).
// ap: A packed by pack_a4 / pack_rows4 in ceil(M/4) panels of [Q][4] floats; B in ceil(NC/8) panels of 8
// columns, row q of panel j at bp + j*bps + q*bld bytes: packed [Q][8] (bld = 32, bps = 0 meaning Q*32), or a
// row-major matrix read in place (bld = its row bytes, bps = 32; NC a multiple of 8). bias: ceil(NC/8)*8 floats
// or 0; Y row m at y + m*ldy floats. Row blocks outer, panels inner: the 4 dw rows are walked left to right
// (whole cache lines), the A panel (Q*16 bytes) stays in L1 and the Q x NC B block in L2. A last panel of 1-4
// columns runs a half tile (4 accumulators, one B load per q): no madd on its empty half, the same sums.
export function gemm_ap_4x8(M: i32, Q: i32, ap: usize, bp: usize, NC: i32, y: usize, ldy: i32, bias: usize = 0, acc: i32 = 1,
  bld: usize = 32, bps: usize = 0): void {
  const NP = (NC + 7) >> 3;
  const zero = f32x4.splat(0);
  const ld = <usize>ldy << 2;
  const abytes = <usize>Q << 4;
  const pst = bps != 0 ? bps : <usize>Q << 5;
  // a last panel of 1-4 columns goes to the 8x4 tile below
  const tail = NC & 7, NPf = tail != 0 && tail <= 4 ? NP - 1 : NP;
  for (let m = 0; m < M; m += 4) {
    const mr = min(4, M - m);
    const am = ap + <usize>(m >> 2) * abytes;
    const aend = am + abytes;
    for (let j = 0; j < NPf; j++) {
      const nc = min(8, NC - (j << 3));
      let bt = bp + <usize>j * pst;
      let bias0 = zero, bias1 = zero;
      if (bias != 0) { bias0 = v128.load(bias + (<usize>j << 5)); bias1 = v128.load(bias + (<usize>j << 5), 16); }
      let c00 = bias0, c01 = bias1, c10 = bias0, c11 = bias1, c20 = bias0, c21 = bias1, c30 = bias0, c31 = bias1;
      for (let a = am; a < aend; a += 16) {
        const b0 = v128.load(bt), b1 = v128.load(bt, 16);
        let va = v128.load32_splat(a);
        c00 = madd(va, b0, c00); c01 = madd(va, b1, c01);
        va = v128.load32_splat(a, 4);
        c10 = madd(va, b0, c10); c11 = madd(va, b1, c11);
        va = v128.load32_splat(a, 8);
        c20 = madd(va, b0, c20); c21 = madd(va, b1, c21);
        va = v128.load32_splat(a, 12);
        c30 = madd(va, b0, c30); c31 = madd(va, b1, c31);
        bt += bld;
      }
      const yr = y + ((<usize>m * ldy) << 2) + (<usize>j << 5);
      rowStore(yr, c00, c01, nc, acc);
      if (mr > 1) rowStore(yr + ld, c10, c11, nc, acc);
      if (mr > 2) rowStore(yr + 2 * ld, c20, c21, nc, acc);
      if (mr > 3) rowStore(yr + 3 * ld, c30, c31, nc, acc);
    }
  }
  if (NPf < NP) apTail8x4(M, Q, ap, bp + <usize>NPf * pst, tail, y + (<usize>NPf << 5), ld, bias != 0 ? bias + (<usize>NPf << 5) : 0, acc, bld);
}

// gemm_ap_4x8's last panel when it has 1-4 columns (nc): 8 rows (two A panels) x 4 columns held transposed (an
// accumulator per column and 4-row block: A's 4 rows are one load, B's value is splatted), so a q step is 2 A
// loads, 4 splats and 8 madds, as dense as the 4x8 tile, with no madd on the panel's empty half (8 row splats
// per q measured slower: the splats are shuffles). Transposed back 4x4 at the store; per column the same sums in
// the same order as the 4x8 tile.
function apTail8x4(M: i32, Q: i32, ap: usize, bt0: usize, nc: i32, y: usize, ld: usize, bias: usize, acc: i32, bld: usize): void {
  const abytes = <usize>Q << 4;
  const b0 = bias != 0 ? f32x4.splat(load<f32>(bias)) : f32x4.splat(0);
  const b1 = bias != 0 ? f32x4.splat(load<f32>(bias, 4)) : f32x4.splat(0);
  const b2 = bias != 0 ? f32x4.splat(load<f32>(bias, 8)) : f32x4.splat(0);
  const b3 = bias != 0 ? f32x4.splat(load<f32>(bias, 12)) : f32x4.splat(0);
  for (let m = 0; m < M; m += 8) {
    const mr = min(8, M - m);
    const a0 = ap + <usize>(m >> 2) * abytes;
    // a block of 4 or fewer rows reads its own panel twice and stores 4
    const a1 = mr > 4 ? a0 + abytes : a0, aend = a0 + abytes;
    let c0 = b0, c1 = b1, c2 = b2, c3 = b3, c4 = b0, c5 = b1, c6 = b2, c7 = b3;
    let bt = bt0;
    for (let a = a0, e = a1; a < aend; a += 16, e += 16) {
      const u = v128.load(a), v = v128.load(e);
      let s = v128.load32_splat(bt);
      c0 = madd(u, s, c0); c4 = madd(v, s, c4);
      s = v128.load32_splat(bt, 4);
      c1 = madd(u, s, c1); c5 = madd(v, s, c5);
      s = v128.load32_splat(bt, 8);
      c2 = madd(u, s, c2); c6 = madd(v, s, c6);
      s = v128.load32_splat(bt, 12);
      c3 = madd(u, s, c3); c7 = madd(v, s, c7);
      bt += bld;
    }
    tailStore(y + <usize>m * ld, ld, c0, c1, c2, c3, nc, min(4, mr), acc);
    if (mr > 4) tailStore(y + <usize>(m + 4) * ld, ld, c4, c5, c6, c7, nc, mr - 4, acc);
  }
}

// Rows i < mr of the 4x4 block held by columns (c0..c3: lane i = row i) stored as rows of nc lanes, ld bytes apart.
// @ts-ignore: decorator
@inline function tailStore(y: usize, ld: usize, c0: v128, c1: v128, c2: v128, c3: v128, nc: i32, mr: i32, acc: i32): void {
  const t0 = v128.shuffle<f32>(c0, c1, 0, 4, 1, 5), t1 = v128.shuffle<f32>(c0, c1, 2, 6, 3, 7);
  const t2 = v128.shuffle<f32>(c2, c3, 0, 4, 1, 5), t3 = v128.shuffle<f32>(c2, c3, 2, 6, 3, 7);
  laneStore(y, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5), nc, acc);
  if (mr > 1) laneStore(y + ld, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7), nc, acc);
  if (mr > 2) laneStore(y + 2 * ld, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5), nc, acc);
  if (mr > 3) laneStore(y + 3 * ld, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7), nc, acc);
}

// Weight gradient for a narrow output (OC <= 4: final RGB conv, patch logits), transposed so the 8-wide side is
// the input channels: dW^T[oc][m] += sum_q dy[q][oc] * A_q[m] for m < M (rows of dw, m-th channel), oc < OCn.
// A_q = aptr[q] (u32 table, M contiguous floats), read in place 8 channels at a time; dy rows q at dyp + q*ldy
// floats (4 splats, lanes past OCn repeat the last); dw row m at dw + m*ldw floats, accumulated.
export function gemm_dwt_4x8(M: i32, Q: i32, aptr: usize, dyp: usize, ldy: i32, OCn: i32, dw: usize, ldw: i32): void {
  const zero = f32x4.splat(0);
  const ldyb = <usize>ldy << 2;
  const o1: usize = OCn > 1 ? 4 : 0, o2: usize = OCn > 2 ? 8 : o1, o3: usize = OCn > 3 ? 12 : o2;
  const qend = aptr + (<usize>Q << 2);
  for (let m = 0; m < M; m += 8) {
    const nc = min(8, M - m);
    const mo = <usize>m << 2;
    let c00 = zero, c01 = zero, c10 = zero, c11 = zero, c20 = zero, c21 = zero, c30 = zero, c31 = zero;
    let d = dyp;
    if (nc == 8) {
      // full panel: the hot loop, no lane work
      for (let q = aptr; q < qend; q += 4) {
        const a = <usize>load<u32>(q) + mo;
        const b0 = v128.load(a), b1 = v128.load(a, 16);
        let va = v128.load32_splat(d);
        c00 = madd(va, b0, c00); c01 = madd(va, b1, c01);
        va = v128.load32_splat(d + o1);
        c10 = madd(va, b0, c10); c11 = madd(va, b1, c11);
        va = v128.load32_splat(d + o2);
        c20 = madd(va, b0, c20); c21 = madd(va, b1, c21);
        va = v128.load32_splat(d + o3);
        c30 = madd(va, b0, c30); c31 = madd(va, b1, c31);
        d += ldyb;
      }
    } else {
      for (let q = aptr; q < qend; q += 4) {
        const a = <usize>load<u32>(q) + mo;
        // tail channels: lane by lane, never past the vector
        let b0 = zero, b1 = zero;
        b0 = f32x4.replace_lane(b0, 0, load<f32>(a));
        if (nc > 1) b0 = f32x4.replace_lane(b0, 1, load<f32>(a, 4));
        if (nc > 2) b0 = f32x4.replace_lane(b0, 2, load<f32>(a, 8));
        if (nc > 3) b0 = f32x4.replace_lane(b0, 3, load<f32>(a, 12));
        if (nc > 4) b1 = f32x4.replace_lane(b1, 0, load<f32>(a, 16));
        if (nc > 5) b1 = f32x4.replace_lane(b1, 1, load<f32>(a, 20));
        if (nc > 6) b1 = f32x4.replace_lane(b1, 2, load<f32>(a, 24));
        let va = v128.load32_splat(d);
        c00 = madd(va, b0, c00); c01 = madd(va, b1, c01);
        va = v128.load32_splat(d + o1);
        c10 = madd(va, b0, c10); c11 = madd(va, b1, c11);
        va = v128.load32_splat(d + o2);
        c20 = madd(va, b0, c20); c21 = madd(va, b1, c21);
        va = v128.load32_splat(d + o3);
        c30 = madd(va, b0, c30); c31 = madd(va, b1, c31);
        d += ldyb;
      }
    }
    const y = dw + ((<usize>m * ldw) << 2);
    const ld = <usize>ldw << 2;
    colStore(y, c00, c01, nc, ld);
    if (OCn > 1) colStore(y + 4, c10, c11, nc, ld);
    if (OCn > 2) colStore(y + 8, c20, c21, nc, ld);
    if (OCn > 3) colStore(y + 12, c30, c31, nc, ld);
  }
}

// y[i*ld] += lane i of (v0, v1) for i < n: a transposed row added down a column.
// @ts-ignore: decorator
@inline function colStore(y: usize, v0: v128, v1: v128, n: i32, ld: usize): void {
  store<f32>(y, load<f32>(y) + f32x4.extract_lane(v0, 0));
  if (n > 1) store<f32>(y + ld, load<f32>(y + ld) + f32x4.extract_lane(v0, 1));
  if (n > 2) store<f32>(y + 2 * ld, load<f32>(y + 2 * ld) + f32x4.extract_lane(v0, 2));
  if (n > 3) store<f32>(y + 3 * ld, load<f32>(y + 3 * ld) + f32x4.extract_lane(v0, 3));
  if (n > 4) store<f32>(y + 4 * ld, load<f32>(y + 4 * ld) + f32x4.extract_lane(v1, 0));
  if (n > 5) store<f32>(y + 5 * ld, load<f32>(y + 5 * ld) + f32x4.extract_lane(v1, 1));
  if (n > 6) store<f32>(y + 6 * ld, load<f32>(y + 6 * ld) + f32x4.extract_lane(v1, 2));
  if (n > 7) store<f32>(y + 7 * ld, load<f32>(y + 7 * ld) + f32x4.extract_lane(v1, 3));
}

// Packs rows for gemm_ap_4x8: dst[rb][q][i] = ind[4rb + i][q] for q < Q4 (Q4 a multiple of 4, the rows at least
// that long), rows past R repeating row 4rb (their results are not stored); 4x4 blocks through register transposes.
export function pack_rows4(dst: usize, ind: usize, R: i32, Q4: i32): void {
  const qb = <usize>Q4 << 4;
  for (let r = 0; r < R; r += 4) {
    const s0 = <usize>load<u32>(ind + (<usize>r << 2));
    const s1 = r + 1 < R ? <usize>load<u32>(ind + (<usize>(r + 1) << 2)) : s0;
    const s2 = r + 2 < R ? <usize>load<u32>(ind + (<usize>(r + 2) << 2)) : s0;
    const s3 = r + 3 < R ? <usize>load<u32>(ind + (<usize>(r + 3) << 2)) : s0;
    let d = dst + <usize>(r >> 2) * qb;
    for (let q: usize = 0; q < (<usize>Q4 << 2); q += 16, d += 64) {
      storeT4(d, 16, v128.load(s0 + q), v128.load(s1 + q), v128.load(s2 + q), v128.load(s3 + q));
    }
  }
}

// Packs A for gemm_ap_4x8: dst[mb][q][0:4] = aptr[q][4mb : 4mb+4] for q < Q, where aptr[q] (u32 table) points
// to M contiguous floats; entries past M are zero (never read past a vector).
export function pack_a4(dst: usize, aptr: usize, Q: i32, M: i32): void {
  const M4 = M & ~3;
  const qb = <usize>Q << 4;
  for (let q = 0; q < Q; q++) {
    const s = <usize>load<u32>(aptr + (<usize>q << 2));
    let d = dst + (<usize>q << 4);
    let m = 0;
    for (; m < M4; m += 4) {
      v128.store(d, v128.load(s + (<usize>m << 2)));
      d += qb;
    }
    if (m < M) {
      let v = f32x4.splat(0);
      v = f32x4.replace_lane(v, 0, load<f32>(s + (<usize>m << 2)));
      if (m + 1 < M) v = f32x4.replace_lane(v, 1, load<f32>(s + (<usize>m << 2), 4));
      if (m + 2 < M) v = f32x4.replace_lane(v, 2, load<f32>(s + (<usize>m << 2), 8));
      v128.store(d, v);
    }
  }
}

// Packs rows of a row-major matrix into 8-wide panels: for r < Rn, dst[j][r][0:8] = src_r[8j : 8j+8]
// where src_r = src + r*lds floats, columns past NC zero. dst holds ceil(NC/8) panels of Rn*8 floats.
export function pack_panels(dst: usize, src: usize, Rn: i32, NC: i32, lds: i32): void {
  const NP = (NC + 7) >> 3;
  for (let j = 0; j < NP; j++) {
    const nc = min(8, NC - (j << 3));
    let d = dst + ((<usize>j * Rn) << 5);
    let s = src + (<usize>j << 5);
    const ls = <usize>lds << 2;
    if (nc == 8) {
      for (let r = 0; r < Rn; r++) {
        v128.store(d, v128.load(s));
        v128.store(d, v128.load(s, 16), 16);
        d += 32; s += ls;
      }
    } else {
      for (let r = 0; r < Rn; r++) {
        v128.store(d, f32x4.splat(0));
        v128.store(d, f32x4.splat(0), 16);
        for (let c = 0; c < nc; c++) store<f32>(d + (<usize>c << 2), load<f32>(s + (<usize>c << 2)));
        d += 32; s += ls;
      }
    }
  }
}

// Packs a transposed matrix into 8-wide panels: dst[j][k][cc] = src[(8j + cc)*lds + k] for k < Kn, columns
// 8j + cc past NC zero; panel j at dst + j*pstride bytes. 8x4 blocks go through two 4x4 register transposes.
export function pack_panels_t(dst: usize, src: usize, Kn: i32, NC: i32, lds: i32, pstride: usize): void {
  const NP = (NC + 7) >> 3;
  const ls = <usize>lds << 2;
  for (let j = 0; j < NP; j++) {
    const nc = min(8, NC - (j << 3));
    const d0 = dst + <usize>j * pstride;
    const s0 = src + ((<usize>j << 3) * ls);
    let k = 0;
    if (nc == 8) {
      for (; k + 4 <= Kn; k += 4) {
        const s = s0 + (<usize>k << 2);
        const r0 = v128.load(s), r1 = v128.load(s + ls), r2 = v128.load(s + 2 * ls), r3 = v128.load(s + 3 * ls);
        const r4 = v128.load(s + 4 * ls), r5 = v128.load(s + 5 * ls), r6 = v128.load(s + 6 * ls), r7 = v128.load(s + 7 * ls);
        const a = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5), b = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
        const c = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5), e = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
        const f = v128.shuffle<f32>(r4, r5, 0, 4, 1, 5), g = v128.shuffle<f32>(r4, r5, 2, 6, 3, 7);
        const h = v128.shuffle<f32>(r6, r7, 0, 4, 1, 5), i = v128.shuffle<f32>(r6, r7, 2, 6, 3, 7);
        const d = d0 + (<usize>k << 5);
        v128.store(d, v128.shuffle<f32>(a, c, 0, 1, 4, 5)); v128.store(d, v128.shuffle<f32>(f, h, 0, 1, 4, 5), 16);
        v128.store(d, v128.shuffle<f32>(a, c, 2, 3, 6, 7), 32); v128.store(d, v128.shuffle<f32>(f, h, 2, 3, 6, 7), 48);
        v128.store(d, v128.shuffle<f32>(b, e, 0, 1, 4, 5), 64); v128.store(d, v128.shuffle<f32>(g, i, 0, 1, 4, 5), 80);
        v128.store(d, v128.shuffle<f32>(b, e, 2, 3, 6, 7), 96); v128.store(d, v128.shuffle<f32>(g, i, 2, 3, 6, 7), 112);
      }
    }
    for (; k < Kn; k++) {
      const d = d0 + (<usize>k << 5);
      v128.store(d, f32x4.splat(0));
      v128.store(d, f32x4.splat(0), 16);
      const s = s0 + (<usize>k << 2);
      for (let cc = 0; cc < nc; cc++) store<f32>(d + (<usize>cc << 2), load<f32>(s + <usize>cc * ls));
    }
  }
}

// B for igemm_dot_2x4, entries k in [k0, k0 + Kn): dst[k/4][n][k%4] = src[(k - k0)*ks + n*ns] for n < NC, else 0.
export function pack_dot(dst: usize, k0: i32, src: usize, Kn: i32, NC: i32, ks: i32, ns: i32): void {
  for (let k = k0; k < k0 + Kn; k++) for (let n = 0; n < 4; n++) {
    const v: f32 = n < NC ? load<f32>(src + (<usize>((k - k0) * ks + n * ns) << 2)) : 0;
    store<f32>(dst + ((<usize>(k >> 2) << 6) + (<usize>n << 4) + (<usize>(k & 3) << 2)), v);
  }
}

// Zero entries k in [k0, k1) of a pack_dot layout (the padding up to a multiple of 4).
export function pad_dot(dst: usize, k0: i32, k1: i32): void {
  for (let k = k0; k < k1; k++) for (let n = 0; n < 4; n++) {
    store<f32>(dst + ((<usize>(k >> 2) << 6) + (<usize>n << 4) + (<usize>(k & 3) << 2)), 0);
  }
}

// Measures the SIMD128 ceiling: 12 independent madd chains kept in registers (12 accumulators + 2 constants
// + 1 temp for the mul+add build = 15 xmm), 96 flops per iteration. Returns a sum so the loop is kept.
export function peak_probe(iters: i32): f32 {
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0.1), c2 = f32x4.splat(0.2), c3 = f32x4.splat(0.3);
  let c4 = f32x4.splat(0.4), c5 = f32x4.splat(0.5), c6 = f32x4.splat(0.6), c7 = f32x4.splat(0.7);
  let c8 = f32x4.splat(0.8), c9 = f32x4.splat(0.9), c10 = f32x4.splat(1.0), c11 = f32x4.splat(1.1);
  const a = f32x4.splat(0.999), b = f32x4.splat(0.0001);
  for (let i = 0; i < iters; i++) {
    c0 = madd(c0, a, b); c1 = madd(c1, a, b); c2 = madd(c2, a, b); c3 = madd(c3, a, b);
    c4 = madd(c4, a, b); c5 = madd(c5, a, b); c6 = madd(c6, a, b); c7 = madd(c7, a, b);
    c8 = madd(c8, a, b); c9 = madd(c9, a, b); c10 = madd(c10, a, b); c11 = madd(c11, a, b);
  }
  const s = f32x4.add(f32x4.add(f32x4.add(f32x4.add(c0, c1), f32x4.add(c2, c3)), f32x4.add(f32x4.add(c4, c5), f32x4.add(c6, c7))),
    f32x4.add(f32x4.add(c8, c9), f32x4.add(c10, c11)));
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3);
}
