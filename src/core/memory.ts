// The memory the wasm core computes in: one WebAssembly.Memory owned by TS, and a bump arena over it.
// Kernels allocate nothing; every tensor is a byte offset handed out here when networks are built.
// Views (Float32Array) are made from memory.buffer where used and never cached across a grow.

export const PAGE = 65536;
/** Alignment of every allocation: one cache line, and a multiple of the 16-byte v128 alignment. */
export const ALIGN = 64;

/** Bytes as MiB for messages: up to two decimals, not rounded to a whole MiB (a 1.5 MiB limit reads 1.5). */
export const mib = (bytes: number) => String(Number((bytes / 2 ** 20).toFixed(2)));

export class OutOfMemoryError extends Error {
  constructor(readonly requestedBytes: number, readonly maxBytes: number, what: string) {
    super(
      `core: out of wasm memory allocating ${what}: needed ${(requestedBytes / 2 ** 20).toFixed(1)} MiB ` +
        `in all, the limit is ${mib(maxBytes)} MiB (raise maxMemoryMB or use a smaller batch/model)`,
    );
    this.name = 'OutOfMemoryError';
  }
}

export class Arena {
  private top: number;
  /** High-water mark of the arena in bytes (for memory reports). */
  peak: number;
  /** Allocations may not end past this byte offset (see seal()). */
  private limit = Infinity;

  /** End of the memory that may hold non-zero bytes: what this arena handed out, and what the memory held before
   * the arena (a memory given by the caller may have been written anywhere up to its size); past it the memory is
   * the zero pages of memory.grow. */
  private dirtyTop: number;

  /** `dirtyTop`: bytes of the memory that may already hold data (default: up to `base`, a fresh memory). */
  constructor(readonly memory: WebAssembly.Memory, base: number, readonly maxBytes: number, dirtyTop = base) {
    this.top = align(base);
    this.peak = this.top;
    this.dirtyTop = dirtyTop;
  }

  /** Reserve `floats` f32 values (zeroed on first use of fresh memory, not on reuse). Returns a byte offset. */
  alloc(floats: number, what = 'tensor'): number {
    if (!Number.isInteger(floats) || floats < 0) throw new Error(`core: cannot allocate ${floats} floats for ${what}`);
    return this.allocBytes(floats * 4, what);
  }

  /** alloc() whose memory reads as zeros: only the part that may have been written (handed out before and
   * released by reset(), or written before this arena existed) is cleared; the rest is still the zero pages of
   * memory.grow and stays untouched, so a block nobody writes (the main thread's gradients in the parallel
   * engine) costs no resident memory. */
  allocZeroed(floats: number, what = 'tensor'): number {
    const dirty = Math.max(this.dirtyTop, this.peak), ptr = this.alloc(floats, what);
    const end = Math.min(ptr + floats * 4, dirty);
    if (end > ptr) new Uint8Array(this.memory.buffer, ptr, end - ptr).fill(0);
    return ptr;
  }

  allocBytes(bytes: number, what = 'buffer'): number {
    const ptr = this.top;
    const end = align(ptr + bytes);
    if (end > this.limit) throw new Error(`core: the arena is sealed at byte ${this.limit}; cannot allocate ${what} (memory past it belongs to another core)`);
    this.ensure(end, what);
    this.top = end;
    this.peak = Math.max(this.peak, end);
    return ptr;
  }

  /** Current top, to release everything allocated after it with reset(). */
  mark(): number {
    return this.top;
  }

  reset(mark: number): void {
    this.top = mark;
  }

  /** No allocation past the current top from now on: cores sharing one memory own disjoint ranges. */
  seal(): void {
    this.limit = this.top;
  }

  private ensure(end: number, what: string): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    if (end > this.maxBytes) throw new OutOfMemoryError(end, this.maxBytes, what);
    try {
      this.memory.grow(Math.ceil((end - have) / PAGE));
    } catch (e) {
      throw new OutOfMemoryError(end, this.maxBytes, `${what} (memory.grow failed: ${(e as Error).message})`);
    }
  }
}

export function align(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN;
}
