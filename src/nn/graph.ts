// A network = a list of layers over tensors laid out in the arena when the network is built.
// Forward runs the list; backward runs it in reverse (each layer's backward accumulates into the grads of
// its inputs and parameters). Nothing is allocated per step: activations, their gradients, saved tensors
// and scratch are placed once, in finalize(). A Placement lets the networks of a training step share what
// is never live in two of them at once (see Placement).
// Legend: N batch, H/W spatial, C channels, ld pixel stride in floats (ld > C for a channel slice).
import type { Core } from '../core/loader.js';
import { ParamStore, type SharedParams } from './params.js';

/** Memory shared by a tensor and its channel-slice views. */
interface Buffer {
  floats: number;
  ptr: number;
  grad: number;
  hasGrad: boolean;
  needsGrad: boolean;
}

/** An NHWC activation: (N, H, W, C) at channel offset `c0` of a buffer with pixel stride `ld`. */
export class Tensor {
  constructor(
    readonly buf: Buffer,
    readonly N: number,
    readonly H: number,
    readonly W: number,
    readonly C: number,
    readonly ld: number,
    readonly c0: number,
    readonly name: string,
  ) {}
  get ptr(): number {
    return this.buf.ptr + this.c0 * 4;
  }
  /** false for inputs whose gradient nobody needs (real images); layers then skip computing it.
   * A property of the memory, so every view of it agrees. */
  get needsGrad(): boolean {
    return this.buf.needsGrad;
  }
  set needsGrad(v: boolean) {
    if (v && !this.buf.hasGrad) throw new Error(`${this.name} has no gradient buffer`);
    this.buf.needsGrad = v;
  }
  get grad(): number {
    if (!this.buf.hasGrad) throw new Error(`${this.name} has no gradient buffer`);
    return this.buf.grad + this.c0 * 4;
  }
  /** pixels N*H*W */
  get P(): number {
    return this.N * this.H * this.W;
  }
  get size(): number {
    return this.N * this.H * this.W * this.C;
  }
  shape(): string {
    return `(${this.N}, ${this.H}, ${this.W}, ${this.C})`;
  }
}

/**
 * Data-parallel hooks: set on every graph of a worker that runs one shard of a batch; null on one thread,
 * where layers take their single-call path. Layers whose result depends on the whole batch (BatchNorm's
 * statistics) sum their per-shard partial sums with allReduce.
 */
export interface ShardSync {
  /** rows of the whole batch (a graph's tensors hold this shard's rows) */
  readonly batch: number;
  /** the one shard that writes shared buffers (BN running stats, num_batches_tracked); the others skip them */
  readonly leader: boolean;
  /** batch-global index of this shard's first row (0 when absent): Dropout draws the batch's mask from it */
  readonly row0?: number;
  /** Sum `values` over all shards, in shard order, in place in every shard (a barrier). */
  allReduce(values: Float64Array): void;
}

/**
 * Where a graph's memory goes when not in fresh blocks of its own (every field optional). The caller vouches
 * for the lifetimes: the memory named here must be dead whenever this graph uses it.
 */
export interface Placement {
  /** parameters, Adam state and buffers in existing blocks (a data-parallel worker); gradients stay its own */
  shared?: SharedParams;
  /** place the parameter-gradient block here when it fits (else a block of its own): another network's
   * gradients that are dead whenever this network's are live */
  grads?: { ptr: number; floats: number };
  /** one scratch area for several graphs (kernel temporaries never outlive a kernel call) */
  scratch?: Scratch;
  /** reuse the activations, saved tensors and activation gradients of an earlier graph of the same topology
   * (built by the same description with the same sizes) that never runs interleaved with this one */
  activationsOf?: Graph;
}

/**
 * One scratch area for several graphs that run one after the other (the networks of a training step):
 * each graph declares its need in finalize(); the owner places the area once every graph is built.
 */
export class Scratch {
  private floats = 0;
  private at = -1;

  constructor(readonly core: Core, readonly name: string) {}

  need(floats: number, by: string): void {
    if (this.at >= 0 && floats > this.floats) throw new Error(`${by}: needs ${floats} floats of scratch, ${this.name}'s is placed with ${this.floats}`);
    this.floats = Math.max(this.floats, floats);
  }

  /** Allocate the area (once), sized by the largest need declared so far. */
  place(): void {
    if (this.at < 0) this.at = this.core.arena.alloc(this.floats, `${this.name} scratch`);
  }

  get ptr(): number {
    if (this.at < 0) throw new Error(`${this.name} scratch is not placed yet: place() it after the last graph is built`);
    return this.at;
  }
}

export interface Layer {
  readonly name: string;
  forward(train: boolean): void;
  /** accumulate into input (where needsGrad) and, when `params`, parameter gradients */
  backward(params: boolean): void;
}

export class Graph {
  readonly store: ParamStore;
  readonly layers: Layer[] = [];
  private buffers: Buffer[] = [];
  private scratchFloats = 0;
  private ownScratch = 0;
  private gradBlock = { ptr: 0, floats: 0 };
  /** every tensor() and alloc() in order, for a graph that reuses this one's memory (Placement.activationsOf) */
  private readonly placed: { floats: number; ptr: number; kind: string }[] = [];
  private built = false;
  /** data-parallel hooks (see ShardSync); null on one thread */
  sync: ShardSync | null = null;
  /** Seed (u32) of the Dropout masks of the next train-mode forward (nn/dropout.ts: each Dropout layer derives
   * its own from it). The training step sets it before each forward; the same seed gives the same masks. */
  dropoutSeed = 0;
  private rowOffset: number | null = null;

  /** Batch-global index of this graph's first row, for Dropout's masks: by default the shard's (sync.row0, 0 on
   * one thread); a step that runs a graph on another part of the batch (e.g. one branch's half) sets its own. */
  get row0(): number {
    return this.rowOffset ?? this.sync?.row0 ?? 0;
  }
  set row0(v: number) {
    if (!(Number.isInteger(v) && v >= 0)) throw new Error(`${this.name}: row0 must be a non-negative integer, got ${v}`);
    this.rowOffset = v;
  }

  constructor(readonly core: Core, readonly name: string, readonly place: Placement = {}) {
    this.store = new ParamStore(core, name);
    const src = place.activationsOf;
    if (src && !src.built) throw new Error(`${name}: ${src.name}, whose memory it reuses, is not built yet`);
  }

  /** Byte offset of the kernels' scratch (shared with other graphs under Placement.scratch). */
  get scratch(): number {
    return this.place.scratch ? this.place.scratch.ptr : this.ownScratch;
  }

  /** `floats` of activation memory (`kind`: a tensor with or without gradient, or plain storage): fresh, or the
   * same allocation of the graph whose memory this one reuses. */
  private take(floats: number, what: string, kind: string): number {
    const src = this.place.activationsOf;
    let ptr: number;
    if (src) {
      const i = this.placed.length, p = src.placed[i];
      if (!p || p.floats !== floats || p.kind !== kind)
        throw new Error(`${this.name}.${what}: cannot reuse ${src.name}'s memory, the graphs differ (allocation ${i}: ${kind} of ${floats} floats, ${src.name}'s is ${p ? `${p.kind} of ${p.floats}` : 'missing'})`);
      ptr = p.ptr;
    } else ptr = this.core.arena.alloc(floats, `${this.name}.${what}`);
    this.placed.push({ floats, ptr, kind });
    return ptr;
  }

  /** A new activation tensor (with a gradient buffer unless `grad` is false). */
  tensor(N: number, H: number, W: number, C: number, name: string, grad = true): Tensor {
    for (const [k, v] of Object.entries({ N, H, W, C }))
      if (!Number.isInteger(v) || v <= 0) throw new Error(`${this.name}.${name}: ${k} must be a positive integer, got ${v}`);
    const floats = N * H * W * C;
    const buf: Buffer = { floats, ptr: this.take(floats, name, grad ? 'tensor with gradient' : 'tensor'), grad: 0, hasGrad: grad, needsGrad: grad };
    this.buffers.push(buf);
    return new Tensor(buf, N, H, W, C, C, 0, `${this.name}.${name}`);
  }

  /** Channels [c0, c0 + C) of t, sharing its memory: a layer writing here fills part of a concatenation. */
  slice(t: Tensor, c0: number, C: number, name: string): Tensor {
    if (c0 < 0 || c0 + C > t.C) throw new Error(`${this.name}.${name}: channels [${c0}, ${c0 + C}) outside ${t.name} ${t.shape()}`);
    return new Tensor(t.buf, t.N, t.H, t.W, C, t.ld, t.c0 + c0, `${this.name}.${name}`);
  }

  /** The same contiguous memory seen with another NHWC shape. */
  reshape(t: Tensor, N: number, H: number, W: number, C: number, name: string): Tensor {
    if (t.ld !== t.C || t.c0 !== 0 || N * H * W * C !== t.size) throw new Error(`${this.name}.${name}: cannot reshape ${t.name} ${t.shape()}`);
    return new Tensor(t.buf, N, H, W, C, C, 0, `${this.name}.${name}`);
  }

  /** Floats of plain (gradient-free) storage: saved statistics, masks, indices. */
  alloc(floats: number, what: string): number {
    return this.take(floats, what, 'storage');
  }

  needScratch(floats: number): void {
    this.scratchFloats = Math.max(this.scratchFloats, floats);
  }

  add<L extends Layer>(layer: L): L {
    if (this.built) throw new Error(`${this.name}: cannot add layer ${layer.name} after finalize()`);
    this.layers.push(layer);
    return layer;
  }

  /** Lay out gradients, scratch and parameters. Called once, after the last layer is added. */
  finalize(): void {
    if (this.built) return;
    const { scratch, activationsOf: src } = this.place;
    const withGrad = this.buffers.filter((b) => b.hasGrad);
    const floats = withGrad.reduce((s, b) => s + Math.ceil(b.floats / 16) * 16, 0);
    if (src && (src.placed.length < this.placed.length || src.gradBlock.floats !== floats))
      throw new Error(`${this.name}: cannot reuse ${src.name}'s memory, the graphs differ (${floats} floats of activation gradients, ${src.name} has ${src.gradBlock.floats})`);
    this.gradBlock = { ptr: src ? src.gradBlock.ptr : this.core.arena.alloc(floats, `${this.name} activation gradients`), floats };
    let p = this.gradBlock.ptr;
    for (const b of withGrad) {
      b.grad = p;
      p += Math.ceil(b.floats / 16) * 16 * 4;
    }
    if (scratch) scratch.need(this.scratchFloats, this.name);
    else if (src && src.scratchFloats >= this.scratchFloats && !src.place.scratch) this.ownScratch = src.ownScratch;
    else this.ownScratch = this.core.arena.alloc(this.scratchFloats, `${this.name} scratch`);
    this.store.finalize(this.place.shared, this.place.grads);
    this.built = true;
  }

  forward(train: boolean): void {
    for (const l of this.layers) l.forward(train);
  }

  /** Zero the activation gradients (the caller then seeds the output gradient), walk the layers in reverse. */
  zeroActivationGrads(): void {
    this.core.f32(this.gradBlock.ptr, this.gradBlock.floats).fill(0);
  }

  backward(params = true): void {
    for (let i = this.layers.length - 1; i >= 0; i--) this.layers[i].backward(params);
  }

  /** Zero the activation gradients, let `seed` accumulate the output gradients, walk the layers in reverse. */
  backwardFrom(seed: () => void, params = true): void {
    this.zeroActivationGrads();
    seed();
    this.backward(params);
  }
}
