// Per-sample augmentation of the aligned pairs, and the conversion of u8 RGB to the model's [-1, 1] floats.
// pix2pix/BicycleGAN style: both halves get the same flip and the same crop; with loadSize = imageSize there
// is no crop (PyTorch-GAN: resize to the model size, random flip).
import type { Rng } from '../core/rng.js';
import type { Halves } from './decode.js';

export type Direction = 'AtoB' | 'BtoA';

export interface Augment {
  /** the model's image side */
  imageSize: number;
  /** each half is resized to this side first, then randomly cropped to imageSize (>= imageSize) */
  loadSize: number;
  /** random horizontal flip of both halves */
  flip: boolean;
  /** AtoB: the left half is the condition; BtoA: the right half is */
  direction: Direction;
}

/** Where one sample of an epoch comes from and how it is transformed. */
export interface SamplePlan {
  file: number;
  flip: boolean;
  x: number;
  y: number;
}

/** One epoch: a Fisher-Yates permutation, then each sample's flip and crop, all from `rng`, in that order. */
export function planEpoch(rng: Rng, n: number, aug: Augment): SamplePlan[] {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  const room = aug.loadSize - aug.imageSize;
  return order.map((file) => {
    const flip = aug.flip ? rng.uniform() < 0.5 : false;
    const x = room > 0 ? rng.int(room + 1) : 0;
    const y = room > 0 ? rng.int(room + 1) : 0;
    return { file, flip, x, y };
  });
}

/** Crop, flip and scale one half into `dst` (S x S x 3 floats in [-1, 1]). */
export function toModel(src: Uint8Array, loadSize: number, S: number, p: { flip: boolean; x: number; y: number }, dst: Float32Array): void {
  for (let r = 0; r < S; r++) {
    const srow = ((r + p.y) * loadSize + p.x) * 3, drow = r * S * 3;
    for (let c = 0; c < S; c++) {
      const s = srow + (p.flip ? S - 1 - c : c) * 3, d = drow + c * 3;
      dst[d] = src[s] / 127.5 - 1;
      dst[d + 1] = src[s + 1] / 127.5 - 1;
      dst[d + 2] = src[s + 2] / 127.5 - 1;
    }
  }
}

/** RGB model images (NHWC, [-1, 1]) -> one luma channel, 0.299 R + 0.587 G + 0.114 B: the official loader's
 * input_nc 1 (aligned_dataset.py), on the same [-1, 1] values. */
export function lumaOf(rgb: Float32Array): Float32Array {
  const out = new Float32Array(rgb.length / 3);
  for (let p = 0; p < out.length; p++) out[p] = 0.299 * rgb[3 * p] + 0.587 * rgb[3 * p + 1] + 0.114 * rgb[3 * p + 2];
  return out;
}

/** The condition (A) and target (B) halves of a decoded pair for a direction. */
export function sides(h: Halves, direction: Direction): { a: Uint8Array; b: Uint8Array } {
  return direction === 'AtoB' ? { a: h.left, b: h.right } : { a: h.right, b: h.left };
}
