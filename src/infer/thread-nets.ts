// The inference builder for intra-op threads (threads.ts runs what it records): a RunBuilder whose ops also
// carry, per rank, the kernel calls of that rank's share. Shares never split a reduction, so T threads give
// the same bits as one:
//   - a weight layer (conv, linear, fused upsample + conv) splits its OUTPUT CHANNELS: each rank runs the same
//     kernel on its own contiguous chunks of the weights ([k][k][C][n], laid out once at load into the shared
//     memory, still compressed: f16/int8 chunks are dequantised per run into that rank's scratch) and writes a
//     channel slice of the output. Chunks are multiples of 8 channels (the 8-wide GEMM panels; the layer's
//     last chunk keeps its tail), never 4 or fewer unless the layer has that few (the narrow kernels): then
//     every output channel takes the same kernel path and summation order as in the one-thread run;
//   - the activation after a layer runs on the same rank's channel chunks (no barrier between them), when
//     every chunk is a multiple of 4 channels (the SIMD groups of the one-thread run); otherwise, and for add
//     and copy, an elementwise op splits its pixels at multiples of 4;
//   - the last layer of the generator (fused upsample + conv to RGB: too few channels to split) gets its bias
//     first, then each rank runs the same kernels on its share of the input rows (upconv_forward_part);
//   - anything else (pools; ops a later builder adds) runs on rank 0 as the one-thread op.
// The layers packAtLoad picks run on packed panels, split the same way: f32 files keep each chunk only as its
// panels (conv2d_pack, run once after building; also a fused upsample + conv of a 1x1 image), f16 / int8 files
// dequantise each chunk per run straight into the rank's panels.
// One barrier after every op.
import { UPCONV_FORWARD, convKernels, upconvForward } from '../core/conv-dispatch.js';
import type { Core } from '../core/loader.js';
import type { Activation, BlockTail } from '../nn/builder.js';
import { RunBuilder, type SharedScratch, type T } from './nets.js';
import type { Call } from './threads.js';
import type { LayerWeights, PackedWeights, StoredLayer } from './weights.js';
import { packAtLoad, panelsPerCall, splitAtLoad, splitTaps, upconvPacks, upconvPacks1x1, upconvPhases1x1 } from './packed.js';

/** A rank's own scratch: dequantised weights of one chunk, and the conv kernels' scratch. */
export interface RankScratch {
  w: number;
  conv: number;
}
type Part = (s: RankScratch) => Call[];

/** Rank shares [c0, c1) of OC output channels: boundaries at multiples of 8, the last share (which holds the
 * tail OC % 8) more than 4 channels; layers of 8 or fewer channels stay whole on rank 0. */
export function channelShares(OC: number, T: number): [number, number][] {
  const b = [0];
  for (let r = 1; r < T; r++) b.push(OC <= 8 ? 0 : Math.min(OC, 8 * Math.round((OC * r) / T / 8)));
  b.push(OC);
  // a last share of 1..4 channels would take the narrow kernels: move its start back by whole panels
  while (T > 1 && OC > 8 && b[T] - b[T - 1] > 0 && b[T] - b[T - 1] <= 4) b[T - 1] = Math.max(0, b[T - 1] - 8);
  for (let r = T - 1; r > 0; r--) b[r] = Math.min(b[r], b[r + 1]);
  if (OC <= 8) b.fill(0, 1, T);
  return Array.from({ length: T }, (_, r) => [b[r], b[r + 1]] as [number, number]);
}

/** A share [c0, c1) cut into chunks of at most maxCh channels (a multiple of 8); a last chunk of 4 or fewer
 * channels joins the one before it. */
export function chunksOfShare(c0: number, c1: number, maxCh: number): [number, number][] {
  const out: [number, number][] = [];
  for (let c = c0; c < c1; c += maxCh) out.push([c, Math.min(c1, c + maxCh)]);
  const last = out[out.length - 1];
  if (out.length > 1 && last[1] - last[0] <= 4) {
    out.pop();
    out[out.length - 1][1] = last[1];
  }
  return out;
}

/** Rank shares [p0, p1) of P pixels, boundaries at multiples of 4 (the SIMD groups of a contiguous walk). */
export function pixelShares(P: number, T: number): [number, number][] {
  const b = [0];
  for (let r = 1; r < T; r++) b.push(Math.min(P, 4 * Math.round((P * r) / T / 4)));
  b.push(P);
  return Array.from({ length: T }, (_, r) => [b[r], b[r + 1]] as [number, number]);
}

interface Chunk {
  rank: number;
  c0: number;
  n: number;
}

/** The last split layer op: its output and chunks, so that the activation after it can join it. */
interface LastLayer {
  index: number;
  y: T;
  chunks: Chunk[];
}

export class ThreadedBuilder extends RunBuilder {
  /** op index -> per rank, the parts of that op (ops without an entry run on rank 0 as they are) */
  readonly split = new Map<number, Part[][]>();
  /** floats each rank's scratch needs */
  readonly need = { wFloats: 0, convFloats: 0 };
  private calls: Call[][][] = [];
  private last: LastLayer | null = null;

  constructor(core: Core, weights: (name: string) => LayerWeights, scratch: SharedScratch, net: string, readonly packed: PackedWeights, readonly T: number, pack = false) {
    super(core, weights, scratch, net, pack);
  }

  /** Per op, per rank: the calls, once each rank's scratch is placed (call once, after building). */
  materialise(scratch: RankScratch[]): Call[][][] {
    this.calls = this.ops.map((_, i) => {
      const parts = this.split.get(i);
      return Array.from({ length: this.T }, (_, r) => (parts ? parts[r].flatMap((p) => p(scratch[r])) : []));
    });
    return this.calls;
  }

  /** A split op: per rank its parts; as a one-thread op (ops[i]) it runs every rank's calls in rank order. */
  private pushSplit(parts: Part[][]): number {
    const i = this.ops.length, k = this.core.k as unknown as Record<string, (...a: number[]) => void>;
    this.split.set(i, parts);
    this.ops.push(() => {
      for (const rank of this.calls[i]) for (const [f, ...a] of rank) k[f](...a);
    });
    this.last = null;
    return i;
  }

  /** The stored layer's chunks for these output-channel pieces, laid out contiguously in wasm memory once. */
  private resident(name: string, l: StoredLayer, pieces: Chunk[]): { w: number; scale: number }[] {
    const s = l.spec, K = s.k * s.k * s.C, src = l.w;
    const Ctor = src.constructor as { new (b: ArrayBufferLike, o: number, n: number): typeof src; BYTES_PER_ELEMENT: number };
    const scale = l.scale ? this.put(l.scale, `${name}.scale`) : 0;
    return pieces.map(({ c0, n }) => {
      const ptr = this.core.arena.allocBytes(n * K * Ctor.BYTES_PER_ELEMENT, `${this.net} ${name} weights [${c0}, ${c0 + n})`);
      copyChannels(l, c0, n, new Ctor(this.core.memory.buffer, ptr, n * K));
      return { w: ptr, scale: scale && scale + c0 * 4 };
    });
  }

  /** weightedSplit on weights packed once (f32 files): each chunk's [K][n] f32 weights, staged in wasm memory (with
   * nothing after them), are packed by `pack` into `subs` buffers of `size(n)` floats (a pack
   * job, run once after building); `run` makes the chunk's calls on them. `whole`: a rank's share is one chunk,
   * one buffer of `size(share)` floats that `pack` fills from the share's staged pieces (`at`: a piece's first
   * channel within the share, a multiple of 8; `width`: the share's channels). */
  private packedSplit(name: string, OC: number, y: T, o: {
    subs?: number; whole?: boolean; size: (n: number) => number; pack: (w: number[], tmp: number, n: number, at: number, width: number) => void;
    scratchFloats: (n: number) => number; run: (wp: number[], b: number, c0: number, n: number, conv: number) => Call[];
  }): void {
    const l = this.packed.layers.get(name);
    if (!l) throw new Error(`infer: no weights for layer ${name}`);
    if (l.spec.OC !== OC) throw new Error(`infer: ${name} has ${l.spec.OC} output channels, expected ${OC}`);
    if (!(l.w instanceof Float32Array)) throw new Error(`infer: ${name}: only f32 weights are packed at load`);
    const K = l.spec.k * l.spec.k * l.spec.C, subs = o.subs ?? 1;
    const maxCh = Math.max(8, Math.floor(this.packed.chunkFloats / K / 8) * 8);
    const shares = channelShares(OC, this.T).map(([c0, c1], rank) => ({ rank, c0, c1 })).filter((r) => r.c1 > r.c0);
    // the pieces staged one at a time (at most chunkFloats floats each), per chunk that runs
    const chunks: (Chunk & { pieces: [number, number][] })[] = shares.flatMap(({ rank, c0, c1 }) => o.whole
      ? [{ rank, c0, n: c1 - c0, pieces: chunksOfShare(c0, c1, maxCh) }]
      : chunksOfShare(c0, c1, maxCh).map(([a, b]) => ({ rank, c0: a, n: b - a, pieces: [[a, b] as [number, number]] })));
    const bias = l.bias ? this.put(l.bias, `${name}.bias`) : 0;
    const parts: Part[][] = Array.from({ length: this.T }, () => []);
    for (const { rank, c0, n, pieces } of chunks) {
      const size = o.size(n);
      const w = Array.from({ length: subs }, (_, i) => this.core.arena.alloc(size, `${this.net} ${name} packed weights ${i} [${c0}, ${c0 + n})`));
      this.packedBytes += subs * size * 4;
      for (const [a, b] of pieces) {
        this.packJobs.push({ floats: K * (b - a), run: (tmp) => {
          copyChannels(l, a, b - a, this.core.f32(tmp, K * (b - a)));
          o.pack(w, tmp, b - a, a - c0, n);
        } });
      }
      this.need.convFloats = Math.max(this.need.convFloats, o.scratchFloats(n));
      parts[rank].push((s) => o.run(w, bias && bias + c0 * 4, c0, n, s.conv));
    }
    const index = this.pushSplit(parts);
    this.last = { index, y, chunks };
  }

  private put(a: Float32Array, what: string): number {
    const p = this.core.arena.alloc(a.length, `${this.net} ${what}`);
    this.core.f32(p, a.length).set(a);
    return p;
  }

  /** A weight layer split by output channels; `run` makes the kernel call of one chunk, `scratchFloats` its size. */
  /** `panelFloats` (compressed weights only): dequantise straight into the panel layout of conv2d_pack, of that
   * many floats for n channels, for a `run` of conv2d_forward_packed. */
  private weightedSplit(name: string, OC: number, y: T, scratchFloats: (n: number) => number, run: (w: number, b: number, c0: number, n: number, conv: number) => Call,
    panelFloats?: (n: number) => number): void {
    const l = this.packed.layers.get(name);
    if (!l) throw new Error(`infer: no weights for layer ${name}`);
    if (l.spec.OC !== OC) throw new Error(`infer: ${name} has ${l.spec.OC} output channels, expected ${OC}`);
    const K = l.spec.k * l.spec.k * l.spec.C;
    const maxCh = Math.max(8, Math.floor(this.packed.chunkFloats / K / 8) * 8);
    const chunks: Chunk[] = channelShares(OC, this.T).flatMap(([c0, c1], rank) => (c1 > c0 ? chunksOfShare(c0, c1, maxCh).map(([a, b]) => ({ rank, c0: a, n: b - a })) : []));
    const res = this.resident(name, l, chunks);
    const bias = l.bias ? this.put(l.bias, `${name}.bias`) : 0;
    const kind = l.w instanceof Float32Array ? 'f32' : l.w instanceof Uint16Array ? 'f16' : 'i8';
    const parts: Part[][] = Array.from({ length: this.T }, () => []);
    chunks.forEach(({ rank, c0, n }, j) => {
      const { w, scale } = res[j];
      this.need.convFloats = Math.max(this.need.convFloats, scratchFloats(n));
      if (kind !== 'f32') this.need.wFloats = Math.max(this.need.wFloats, panelFloats ? panelFloats(n) : n * K);
      parts[rank].push((s) => {
        const b = bias && bias + c0 * 4;
        if (kind === 'f32') return [run(w, b, c0, n, s.conv)];
        const deq: Call = panelFloats ? (kind === 'f16' ? ['dequant_f16_panels', s.w, w, K, n] : ['dequant_i8_panels', s.w, w, scale, K, n])
          : kind === 'f16' ? ['dequant_f16', s.w, w, n * K] : ['dequant_i8', s.w, w, scale, n * K, n];
        return [deq, run(s.w, b, c0, n, s.conv)];
      });
    });
    const index = this.pushSplit(parts);
    this.last = { index, y, chunks };
  }

  protected override layer(name: string, x: T, OC: number, o: { k: number; stride: number; pad: number }, y: T): void {
    const { k, stride, pad } = o, kk = this.core.k;
    const l = this.packed.layers.get(name);
    if (this.pack && splitAtLoad(x.N, x.H, x.W, x.C, OC, k, stride, pad) && this.packed.storage === 'f32') {
      // the split taps' matrices, a rank's share in one U: as the one-thread builder's packedSplitTaps
      const { N, H, W, C } = x, taps = splitTaps('s2', N, H, W, C, OC);
      return this.packedSplit(name, OC, y, {
        whole: true,
        size: (n) => kk[taps.size](C, n),
        pack: ([wp], tmp, n, at, width) => kk[taps.pack](wp, tmp, 0, C, n, width, at),
        scratchFloats: (n) => kk[taps.scratch](N, H, W, C, n),
        run: ([wp], b, c0, n, conv) => [[taps.run, y.ptr + c0 * 4, x.ptr, wp, b, conv, N, H, W, C, n, y.ld, x.ld]],
      });
    }
    // the one-thread builder's choice (by the stored chunk's size), so that threads keep its bits
    if (this.pack && packAtLoad(x.N, x.H, x.W, x.C, OC, k, stride, pad) && l && !(l.w instanceof Float32Array) && OC > 4 && panelsPerCall(l.w.length / l.G)) {
      // compressed weights: dequantised per run straight into each chunk's panels (chunks are > 4 channels here)
      return this.weightedSplit(name, OC, y, (n) => kk.conv2d_packed_scratch_size(x.N, x.H, x.W, x.C, n, k, k, stride, pad),
        (w, b, c0, n, conv) => ['conv2d_forward_packed', y.ptr + c0 * 4, x.ptr, w, b, conv, x.N, x.H, x.W, x.C, n, k, k, stride, pad, y.ld, x.ld],
        (n) => kk.conv2d_packed_size(k, k, x.C, n));
    }
    if (this.pack && packAtLoad(x.N, x.H, x.W, x.C, OC, k, stride, pad) && this.packed.storage === 'f32') {
      return this.packedSplit(name, OC, y, {
        size: (n) => kk.conv2d_packed_size(k, k, x.C, n),
        pack: ([wp], tmp, n) => kk.conv2d_pack(wp, tmp, k, k, x.C, n),
        scratchFloats: (n) => kk.conv2d_packed_scratch_size(x.N, x.H, x.W, x.C, n, k, k, stride, pad),
        run: ([wp], b, c0, n, conv) => [['conv2d_forward_packed', y.ptr + c0 * 4, x.ptr, wp, b, conv, x.N, x.H, x.W, x.C, n, k, k, stride, pad, y.ld, x.ld]],
      });
    }
    // the one-thread builder's kernel for the whole layer (per output channel the same sums at any share)
    const f = convKernels(x.N, x.H, x.W, x.C, OC, k, stride, pad).fwd;
    this.weightedSplit(name, OC, y, (n) => f === 'wino3' ? kk.winograd3_forward_scratch_size(x.N, x.H, x.W, x.C, n)
      : f === 'split_s2' ? kk.conv3s2_split_forward_scratch_size(x.N, x.H, x.W, x.C, n) : kk.conv2d_forward_scratch_size(x.N, x.H, x.W, x.C, n, k, k, stride, pad),
    (w, b, c0, n, conv) => f === 'direct' ? ['conv2d_forward', y.ptr + c0 * 4, x.ptr, w, b, conv, x.N, x.H, x.W, x.C, n, k, k, stride, pad, y.ld, x.ld]
      : [f === 'wino3' ? 'winograd3_forward' : 'conv3s2_split_forward', y.ptr + c0 * 4, x.ptr, w, b, conv, x.N, x.H, x.W, x.C, n, y.ld, x.ld]);
  }

  protected override upLayer(name: string, x: T, OC: number, _o: BlockTail<T>, y: T): void {
    const kk = this.core.k;
    if (OC <= 4) return this.narrowUp(name, x, OC, y);
    if (this.pack && upconvPacks1x1(x.H, x.W, OC) && this.packed.storage === 'f32') {
      // output pixel ph of each image: a 1x1 conv on its summed taps (packed.ts), the images 4 pixels apart
      return this.packedSplit(name, OC, y, {
        subs: 4,
        size: (n) => kk.conv2d_packed_size(1, 1, x.C, n),
        pack: (wp, tmp, n) => upconvPhases1x1(this.core.f32(tmp, 9 * x.C * n).slice(), x.C, n).forEach((m, ph) => {
          this.core.f32(tmp, m.length).set(m);
          kk.conv2d_pack(wp[ph], tmp, 1, 1, x.C, n);
        }),
        scratchFloats: (n) => kk.conv2d_packed_scratch_size(x.N, 1, 1, x.C, n, 1, 1, 1, 0),
        run: (wp, b, c0, n, conv) => wp.map((p, ph): Call => ['conv2d_forward_packed', y.ptr + (ph * y.ld + c0) * 4, x.ptr, p, b, conv, x.N, 1, 1, x.C, n, 1, 1, 1, 0, 4 * y.ld, x.ld]),
      });
    }
    if (this.pack && upconvPacks(x.N, x.H, x.W, x.C, OC) && this.packed.storage === 'f32') {
      // the four phases' panels per chunk, w's nine taps in panels per chunk (tiny images) or the split taps' matrices:
      // as the one-thread builder's packedUp
      const { N, H, W, C } = x, f = upconvForward(N, H, W, C, OC, true), split = f === 'split', sx = splitTaps('upconv', N, H, W, C, OC);
      if (f === 'taps') return this.packedSplit(name, OC, y, {
        size: (n) => kk.upconv_taps_packed_size(C, n),
        pack: ([wp], tmp, n) => kk.upconv_taps_pack(wp, tmp, C, n),
        scratchFloats: (n) => kk.upconv_taps_scratch_size(N, H, W, C, n),
        run: ([wp], b, c0, n, conv) => [['upconv_taps_forward_packed', y.ptr + c0 * 4, x.ptr, wp, b, conv, N, H, W, C, n, y.ld, x.ld]],
      });
      // split: a rank's share in one U (the input transforms once per rank, as the one-thread run's once per layer)
      return this.packedSplit(name, OC, y, {
        whole: split,
        size: (n) => split ? kk[sx.size](C, n) : kk.upconv_packed_size(C, n),
        pack: ([wp], tmp, n, at, width) => split ? kk[sx.pack](wp, tmp, 0, C, n, width, at) : kk.upconv_pack(wp, tmp, 0, C, n),
        scratchFloats: (n) => split ? kk[sx.scratch](N, H, W, C, n) : kk.upconv_packed_scratch_size(N, H, W, C, n),
        run: ([wp], b, c0, n, conv) => [split ? [sx.run, y.ptr + c0 * 4, x.ptr, wp, b, conv, N, H, W, C, n, y.ld, x.ld]
          : ['upconv_forward_packed', y.ptr + c0 * 4, x.ptr, 0, wp, b, conv, N, H, W, C, n, y.ld, x.ld]],
      });
    }
    // the kernel the one-thread run takes for the whole layer (per output channel the same sums at any share)
    const f = UPCONV_FORWARD[upconvForward(x.N, x.H, x.W, x.C, OC)];
    this.weightedSplit(name, OC, y, (n) => kk[f.scratch](x.N, x.H, x.W, x.C, n),
      (w, b, c0, n, conv) => [f.run, y.ptr + c0 * 4, x.ptr, w, b, conv, x.N, x.H, x.W, x.C, n, y.ld, x.ld]);
  }

  /** A fused upsample + conv with at most 4 output channels (the generator's last layer: an RGB image), which
   * has no channels to split: its bias goes in first (pixels split), then each rank runs its share of the input
   * rows (upconv_forward_part) on the whole (small) weights. */
  private narrowUp(name: string, x: T, OC: number, y: T): void {
    const l = this.packed.layers.get(name);
    if (!l) throw new Error(`infer: no weights for layer ${name}`);
    const K = l.spec.k * l.spec.k * l.spec.C;
    const [{ w, scale }] = this.resident(name, l, [{ rank: 0, c0: 0, n: OC }]);
    const bias = l.bias ? this.put(l.bias, `${name}.bias`) : 0;
    const kind = l.w instanceof Float32Array ? 'f32' : l.w instanceof Uint16Array ? 'f16' : 'i8';
    const P = y.N * y.H * y.W;
    this.pushSplit(pixelShares(P, this.T).map(([p0, p1]) => (p1 > p0 ? [() => {
      const at = y.ptr + p0 * y.ld * 4, zero: Call = ['view_zero', at, p1 - p0, OC, y.ld];
      return bias ? [zero, ['bias_add_forward', at, bias, p1 - p0, OC, y.ld]] : [zero];
    }] : [])));
    this.need.convFloats = Math.max(this.need.convFloats, this.core.k.upconv_forward_scratch_size(x.N, x.H, x.W, x.C, OC));
    if (kind !== 'f32') this.need.wFloats = Math.max(this.need.wFloats, OC * K);
    this.pushSplit(Array.from({ length: this.T }, (_, r) => [(s: RankScratch): Call[] => {
      const deq: Call[] = kind === 'f32' ? [] : kind === 'f16' ? [['dequant_f16', s.w, w, OC * K]] : [['dequant_i8', s.w, w, scale, OC * K, OC]];
      return [...deq, ['upconv_forward_part', y.ptr, x.ptr, kind === 'f32' ? w : s.w, bias, s.conv, x.N, x.H, x.W, x.C, OC, y.ld, x.ld, r, this.T]];
    }]));
  }

  protected override activate(a: Activation, x: T, y: T): void {
    const f = a === 'relu' ? 'relu_forward' : a === 'tanh' ? 'tanh_forward' : 'leaky_relu_forward';
    const pre = typeof a === 'object' ? [a.leaky] : [];
    const P = x.N * x.H * x.W, last = this.last;
    // in place on the layer just recorded, chunks of whole SIMD groups: the same rank, right after its conv
    if (last && x === y && last.y === y && last.index === this.ops.length - 1 && last.chunks.every((c) => c.n % 4 === 0)) {
      const parts = this.split.get(last.index)!;
      for (const { rank, c0, n } of last.chunks) parts[rank].push(() => [[f, y.ptr + c0 * 4, x.ptr + c0 * 4, ...pre, P, n, y.ld, x.ld]]);
      this.last = null;
      return;
    }
    this.elementwise(P, (p0, np) => [f, y.ptr + p0 * y.ld * 4, x.ptr + p0 * x.ld * 4, ...pre, np, x.C, y.ld, x.ld]);
  }

  override copy(name: string, x: T, y: T): void {
    this.mark(name);
    this.elementwise(x.N * x.H * x.W, (p0, np) => ['copy_forward', y.ptr + p0 * y.ld * 4, x.ptr + p0 * x.ld * 4, np, x.C, y.ld, x.ld]);
  }

  protected override addInto(a: T, b: T, y: T): void {
    this.elementwise(a.N * a.H * a.W, (p0, np) => ['add_forward', y.ptr + p0 * y.ld * 4, a.ptr + p0 * a.ld * 4, b.ptr + p0 * b.ld * 4, np, a.C, y.ld, a.ld, b.ld]);
  }

  /** An elementwise op split by pixels. */
  private elementwise(P: number, call: (p0: number, np: number) => Call): void {
    this.pushSplit(pixelShares(P, this.T).map(([p0, p1]) => (p1 > p0 ? [() => [call(p0, p1 - p0)]] : [])));
  }
}

/** Channels [c0, c0 + n) of a stored layer ([G][K][OCc]) as [K][n] into dst (same element type). */
function copyChannels(l: StoredLayer, c0: number, n: number, dst: Float32Array | Uint16Array | Int8Array): void {
  const K = l.spec.k * l.spec.k * l.spec.C, OCc = l.spec.OC / l.G, src = l.w;
  // runs of channels within one stored chunk
  for (let kk = 0; kk < K; kk++)
    for (let o = c0; o < c0 + n; ) {
      const g = Math.floor(o / OCc), end = Math.min(c0 + n, (g + 1) * OCc), from = (g * K + kk) * OCc + (o - g * OCc);
      dst.set(src.subarray(from, from + end - o) as never, kk * n + (o - c0));
      o = end;
    }
}
