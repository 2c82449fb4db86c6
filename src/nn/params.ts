// The parameter store of one network: a layout table of (PyTorch state_dict name, PyTorch shape, our layout).
// Parameters, their gradients, Adam m and Adam v are four contiguous blocks with the same layout, so Adam is
// one loop, zeroing gradients is one fill and a gradient all-reduce is one loop. Buffers (BN running stats,
// num_batches_tracked) live in a fifth block that Adam never touches.
// Our layouts: conv HWIO [KH][KW][C][OC]; conv-transpose HWIO of its dual conv [KH][KW][OC_t][IC_t];
// linear [IN][OUT]; 1-D tensors as they are. PyTorch layouts exist only in toTorch/fromTorch.
import type { Core } from '../core/loader.js';
import type { TensorEntry } from '../core/safetensors.js';

export type Layout = 'conv' | 'convT' | 'linear' | 'linearNCHW' | 'flat';

export interface ParamEntry {
  /** PyTorch state_dict name, e.g. `down2.model.1.running_mean` */
  name: string;
  /** shape in PyTorch's layout */
  shape: number[];
  layout: Layout;
  kind: 'param' | 'buffer';
  /** PyTorch dtype at import/export (num_batches_tracked is int64; we keep it in an f32 slot, exact to 2^24) */
  dtype: 'F32' | 'I64';
  /** offset in floats inside its block */
  offset: number;
  size: number;
  /** linearNCHW only: the (C, h*w) factors of IN. PyTorch flattens its (C, h, w) input channel-major, we flatten
   * NHWC pixel-major, so the weight's IN index is c*hw + p in PyTorch and p*C + c here. */
  chw?: [number, number];
}

export interface Param {
  readonly entry: ParamEntry;
  /** byte offset of the value */
  readonly ptr: number;
  /** byte offset of the gradient (params only) */
  readonly grad: number;
}

/** Blocks of a store that live elsewhere: a data-parallel worker points value, Adam m/v and the buffers at
 * the one shared copy (byte offsets in a shared memory); its gradient block stays its own. */
export interface SharedParams {
  value: number;
  m: number;
  v: number;
  buffer: number;
  paramFloats: number;
  bufferFloats: number;
}

export class ParamStore {
  readonly entries: ParamEntry[] = [];
  paramFloats = 0;
  bufferFloats = 0;
  /** block base pointers (bytes), set by finalize() */
  base = { value: 0, grad: 0, m: 0, v: 0, buffer: 0 };
  private finalized = false;

  constructor(readonly core: Core, readonly net: string) {}

  add(name: string, shape: number[], layout: Layout, kind: 'param' | 'buffer' = 'param', dtype: 'F32' | 'I64' = 'F32', chw?: [number, number]): Param {
    if (this.finalized) throw new Error(`${this.net}: cannot add parameter ${name} after the network is built`);
    if (this.entries.some((e) => e.name === name)) throw new Error(`${this.net}: duplicate parameter name ${name}`);
    const size = shape.reduce((a, b) => a * b, 1);
    // keep every tensor 16-byte aligned so SIMD kernels may use aligned access
    const offset = kind === 'param' ? this.paramFloats : this.bufferFloats;
    const padded = Math.ceil(size / 4) * 4;
    if (kind === 'param') this.paramFloats += padded;
    else this.bufferFloats += padded;
    const entry: ParamEntry = { name, shape, layout, kind, dtype, offset, size, chw };
    this.entries.push(entry);
    const store = this;
    return {
      entry,
      get ptr() {
        return (kind === 'param' ? store.base.value : store.base.buffer) + offset * 4;
      },
      get grad() {
        if (kind !== 'param') throw new Error(`${store.net}: ${name} is a buffer and has no gradient`);
        return store.base.grad + offset * 4;
      },
    };
  }

  /** Lay the blocks out in the arena, zeroed; with `shared`, only the gradient block is allocated here. With
   * `grads`, the gradient block goes there when it fits (memory another network's dead gradients hold: the
   * caller vouches for the lifetimes); its content is then undefined until zeroGrads(). */
  finalize(shared?: SharedParams, grads?: { ptr: number; floats: number }): void {
    if (this.finalized) return;
    const a = this.core.arena;
    const grad = () => (grads && grads.floats >= this.paramFloats ? grads.ptr : a.allocZeroed(this.paramFloats, `${this.net} gradients`));
    if (shared) {
      if (shared.paramFloats !== this.paramFloats || shared.bufferFloats !== this.bufferFloats)
        throw new Error(`${this.net}: shared parameter blocks hold ${shared.paramFloats} + ${shared.bufferFloats} floats, this network needs ${this.paramFloats} + ${this.bufferFloats}`);
      this.base = { value: shared.value, grad: grad(), m: shared.m, v: shared.v, buffer: shared.buffer };
      this.finalized = true;
      return;
    }
    // zeroed blocks: a block that is never written (the parallel engine's main thread never computes gradients)
    // stays untouched memory and costs no RSS
    const what = `${this.net} parameters`;
    this.base.value = a.allocZeroed(this.paramFloats, what);
    this.base.grad = grad();
    this.base.m = a.allocZeroed(this.paramFloats, `${this.net} Adam m`);
    this.base.v = a.allocZeroed(this.paramFloats, `${this.net} Adam v`);
    this.base.buffer = a.allocZeroed(this.bufferFloats, `${this.net} buffers`);
    this.finalized = true;
  }

  /** This store's blocks, to share them with another store of the same network (see SharedParams). */
  shared(): SharedParams {
    if (!this.finalized) throw new Error(`${this.net}: parameters are not laid out yet`);
    const { value, m, v, buffer } = this.base;
    return { value, m, v, buffer, paramFloats: this.paramFloats, bufferFloats: this.bufferFloats };
  }

  /** Number of trainable scalars (PyTorch's sum of p.numel()). */
  get parameterCount(): number {
    return this.entries.filter((e) => e.kind === 'param').reduce((s, e) => s + e.size, 0);
  }

  block(which: 'value' | 'grad' | 'm' | 'v'): Float32Array {
    return this.core.f32(this.base[which], this.paramFloats);
  }

  /** Our storage of one entry (a view: do not keep it across allocations). */
  view(e: ParamEntry, which: 'value' | 'grad' | 'm' | 'v' = 'value'): Float32Array {
    const base = e.kind === 'param' ? this.base[which] : this.base.buffer;
    return this.core.f32(base + e.offset * 4, e.size);
  }

  zeroGrads(): void {
    this.block('grad').fill(0);
  }

  /** A copy of the entry in PyTorch's layout. */
  toTorch(e: ParamEntry, which: 'value' | 'grad' | 'm' | 'v' = 'value'): Float32Array {
    return toTorchLayout(this.view(e, which), e);
  }

  /** Set the entry from data in PyTorch's layout. */
  fromTorch(e: ParamEntry, data: ArrayLike<number>, which: 'value' | 'm' | 'v' = 'value'): void {
    if (data.length !== e.size) throw new Error(`${this.net}: ${e.name} has ${e.size} values, got ${data.length}`);
    this.view(e, which).set(fromTorchLayout(data, e));
  }

  /** Every parameter and buffer as safetensors entries under `prefix` + PyTorch name, in PyTorch's layout
   * (num_batches_tracked as I64): what a PyTorch state_dict of this network holds. */
  tensorEntries(prefix = ''): TensorEntry[] {
    return this.entries.map((e) =>
      e.dtype === 'I64'
        ? { name: prefix + e.name, dtype: 'I64', shape: e.shape, data: BigInt64Array.from(this.view(e), (v) => BigInt(Math.round(v))) }
        : { name: prefix + e.name, dtype: 'F32', shape: e.shape, data: this.toTorch(e) },
    );
  }

  find(name: string): ParamEntry | undefined {
    return this.entries.find((e) => e.name === name);
  }
}

/** Index permutation between PyTorch's layout and ours: ours[i] = torch[perm(i)]. */
function permute(e: ParamEntry, src: ArrayLike<number>, toOurs: boolean): Float32Array {
  const out = new Float32Array(e.size);
  if (e.layout === 'flat') {
    for (let i = 0; i < e.size; i++) out[i] = src[i];
    return out;
  }
  if (e.layout === 'linear' || e.layout === 'linearNCHW') {
    const [O, I] = e.shape; // torch [OUT][IN], ours [IN][OUT]
    const [C, HW] = e.layout === 'linearNCHW' ? e.chw! : [I, 1];
    for (let o = 0; o < O; o++)
      for (let i = 0; i < I; i++) {
        // torch input index i = c*HW + p; ours = p*C + c
        const c = Math.floor(i / HW), p = i % HW;
        const t = o * I + i, u = (p * C + c) * O + o;
        if (toOurs) out[u] = src[t];
        else out[t] = src[u];
      }
    return out;
  }
  // torch [A][B][KH][KW] -> ours [KH][KW][B][A], which is both
  //   conv:  [OC][C][KH][KW] -> HWIO [KH][KW][C][OC], and
  //   convT: [IC_t][OC_t][KH][KW] -> [KH][KW][OC_t][IC_t], the HWIO of its dual conv (C = OC_t, OC = IC_t)
  const [A, B, KH, KW] = e.shape;
  for (let a = 0; a < A; a++)
    for (let b = 0; b < B; b++)
      for (let kh = 0; kh < KH; kh++)
        for (let kw = 0; kw < KW; kw++) {
          const t = ((a * B + b) * KH + kh) * KW + kw;
          const u = ((kh * KW + kw) * B + b) * A + a;
          if (toOurs) out[u] = src[t];
          else out[t] = src[u];
        }
  return out;
}

export function toTorchLayout(ours: ArrayLike<number>, e: ParamEntry): Float32Array {
  return permute(e, ours, false);
}

export function fromTorchLayout(torch: ArrayLike<number>, e: ParamEntry): Float32Array {
  return permute(e, torch, true);
}
