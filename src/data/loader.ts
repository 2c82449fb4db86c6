// Batches in a seeded order with prefetch. The order, flips and crops of a whole epoch are planned from the
// data RNG when the epoch starts (planEpoch), so decoding ahead cannot change them, and the loader's state is
// only (epoch, position, RNG state at the epoch's start): a resumed run replans the epoch and goes on.
// Decoding runs in sharp's thread pool while the training step runs; `depth` batches are decoded ahead.
import { Rng, type RngState } from '../core/rng.js';
import { planEpoch, sides, toModel, type Augment, type SamplePlan } from './augment.js';
import { DataError, decodePair } from './decode.js';

export interface LoaderState {
  epoch: number;
  /** index in the epoch's plan of the next sample to hand out */
  index: number;
  /** data RNG state when the epoch was planned */
  rng: RngState;
}

export interface Batch {
  /** condition and target, NHWC in [-1, 1] */
  a: Float32Array;
  b: Float32Array;
  /** epoch this batch belongs to (0-based) and its index within it */
  epoch: number;
  iter: number;
  files: string[];
}

export class BatchLoader {
  readonly stepsPerEpoch: number;
  private epoch = 0;
  private index = 0;
  private rngStart: RngState;
  private rng: Rng;
  private plan: SamplePlan[];
  private queue: { promise: Promise<Batch>; after: LoaderState }[] = [];
  private consumed: LoaderState;

  /** `heights`: each file's image height from the scan (lets decoding skip the header probe) */
  constructor(readonly files: string[], readonly aug: Augment, readonly batch: number, start: { seed: number } | LoaderState, readonly depth = 2, readonly heights?: number[]) {
    if (files.length < batch) throw new Error(`the dataset has ${files.length} usable image${files.length === 1 ? '' : 's'}, fewer than the batch size ${batch}`);
    this.stepsPerEpoch = Math.floor(files.length / batch);
    if ('seed' in start) {
      this.rng = new Rng(start.seed);
    } else {
      this.rng = Rng.fromState(start.rng);
      this.epoch = start.epoch;
      this.index = start.index;
    }
    this.rngStart = this.rng.state();
    this.plan = planEpoch(this.rng, files.length, aug);
    this.normalize();
    this.consumed = this.position();
  }

  private position(): LoaderState {
    return { epoch: this.epoch, index: this.index, rng: this.rngStart };
  }

  private normalize(): void {
    if (this.index + this.batch > this.files.length) {
      this.epoch++;
      this.index = 0;
      this.rngStart = this.rng.state();
      this.plan = planEpoch(this.rng, this.files.length, this.aug);
    }
  }

  /** State to store in a checkpoint: the position after the last batch handed out by next(). */
  state(): LoaderState {
    return { ...this.consumed, rng: { s: [...this.consumed.rng.s] as RngState['s'], spare: this.consumed.rng.spare } };
  }

  /** The next batch (decoding the following ones in the background). */
  next(): Promise<Batch> {
    while (this.queue.length < 1 + this.depth) this.schedule();
    const item = this.queue.shift()!;
    this.consumed = item.after;
    // keep later batches decoding; errors surface when they are awaited
    return item.promise;
  }

  private schedule(): void {
    const items = this.plan.slice(this.index, this.index + this.batch);
    const epoch = this.epoch, iter = this.index / this.batch;
    this.index += this.batch;
    this.normalize();
    const after = this.position();
    const promise = this.assemble(items, epoch, iter);
    promise.catch(() => {}); // handled by the awaiting caller
    this.queue.push({ promise, after });
  }

  private async assemble(items: SamplePlan[], epoch: number, iter: number): Promise<Batch> {
    const S = this.aug.imageSize, per = S * S * 3;
    const a = new Float32Array(items.length * per), b = new Float32Array(items.length * per);
    const files = items.map((p) => this.files[p.file]);
    const decoded = await Promise.all(items.map((p) => decodePair(this.files[p.file], this.aug.loadSize, this.heights?.[p.file])));
    decoded.forEach((h, i) => {
      const s = sides(h, this.aug.direction);
      toModel(s.a, h.size, S, items[i], a.subarray(i * per, (i + 1) * per));
      toModel(s.b, h.size, S, items[i], b.subarray(i * per, (i + 1) * per));
    });
    return { a, b, epoch, iter, files };
  }
}

/** Fixed pairs (no flip, centre crop) for sample grids: condition and target, n x S x S x 3 each. */
export async function loadFixedPairs(files: string[], aug: Augment): Promise<{ a: Float32Array; b: Float32Array }> {
  const S = aug.imageSize, per = S * S * 3, off = Math.floor((aug.loadSize - S) / 2);
  const a = new Float32Array(files.length * per), b = new Float32Array(files.length * per);
  const decoded = await Promise.all(files.map((f) => decodePair(f, aug.loadSize)));
  decoded.forEach((h, i) => {
    const s = sides(h, aug.direction), p = { flip: false, x: off, y: off };
    toModel(s.a, h.size, S, p, a.subarray(i * per, (i + 1) * per));
    toModel(s.b, h.size, S, p, b.subarray(i * per, (i + 1) * per));
  });
  return { a, b };
}

export { DataError };
