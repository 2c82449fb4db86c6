// Decoding one pix2pix "aligned" file (A|B side by side, width = 2 x height) into two RGB halves with sharp.
// Grayscale, grayscale+alpha, RGBA and palette images become RGB (alpha is dropped, as PIL's convert('RGB')).
// Each half is resized to `loadSize` x `loadSize` with sharp's `cubic` kernel: libvips' Catmull-Rom cubic
// (a = -0.5, the same kernel as PIL's BICUBIC), widened when downscaling so it antialiases as PIL does.
// Results match PIL to within a few levels, not bit for bit (different rounding and edge handling).
import { lstat, readFile } from 'node:fs/promises';
import sharp from 'sharp';

/** Largest image accepted from a dataset or a sampling input (pixels of the whole file): the header is checked
 * before decoding, and sharp refuses to decode past it (limitInputPixels), so a file swapped on disk after the
 * scan cannot make it decode a huge image either. 2^25 = e.g. 8192x4096: about 100 MB of RGB per decode. */
export const MAX_INPUT_PIXELS = 2 ** 25;

/** A bad input file: the message always names the file. */
export class DataError extends Error {
  constructor(readonly file: string, reason: string) {
    super(`${file}: ${reason}`);
    this.name = 'DataError';
  }
}

export interface Halves {
  /** left and right halves, RGB u8, loadSize x loadSize x 3 each */
  left: Uint8Array;
  right: Uint8Array;
  size: number;
}

function reason(e: unknown): string {
  const m = (e as Error)?.message ?? String(e);
  if (/unsupported image format/i.test(m)) return 'not an image (unsupported or unrecognised format)';
  if (/exceeds pixel limit/i.test(m)) return `image is larger than ${MAX_INPUT_PIXELS} pixels`;
  return `cannot decode image (${m.trim().split('\n')[0]})`;
}

/** The file's bytes; a missing, unreadable or empty file is a DataError naming it. */
async function readNonEmpty(file: string): Promise<Buffer> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const link = code === 'ENOENT' || code === 'ELOOP' ? await lstat(file).then((s) => s.isSymbolicLink(), () => false) : false;
    const what = link ? (code === 'ELOOP' ? 'a symbolic link loop' : 'a dangling symbolic link (its target does not exist)') : 'cannot read file';
    throw new DataError(file, `${what} (${code ?? (e as Error).message})`);
  }
  if (bytes.length === 0) throw new DataError(file, 'empty file');
  return bytes;
}

/** Read the file and check that it is an image sharp can read with width = 2 x height (header only). */
export async function probePair(file: string): Promise<{ width: number; height: number; bytes: Buffer }> {
  const bytes = await readNonEmpty(file);
  let meta: Awaited<ReturnType<ReturnType<typeof sharp>["metadata"]>>;
  try {
    meta = await sharp(bytes, { limitInputPixels: MAX_INPUT_PIXELS }).metadata();
  } catch (e) {
    throw new DataError(file, reason(e));
  }
  const { width = 0, height = 0 } = meta;
  checkPixels(file, width, height);
  if (width !== 2 * height)
    throw new DataError(file, `is ${width}x${height}; an aligned pair must be twice as wide as high (A and B side by side)`);
  return { width, height, bytes };
}

function checkPixels(file: string, width: number, height: number): void {
  if (width * height > MAX_INPUT_PIXELS) throw new DataError(file, `is ${width}x${height}; at most ${MAX_INPUT_PIXELS} pixels are accepted`);
}

/** Raw pixels with 1..4 channels -> RGB (the first channel repeated for grayscale; alpha dropped). */
function rgb(data: Buffer, channels: number, px: number): Uint8Array {
  if (channels === 3) return new Uint8Array(data.buffer, data.byteOffset, data.length);
  const out = new Uint8Array(px * 3);
  for (let i = 0; i < px; i++) {
    const s = i * channels;
    if (channels >= 3) {
      out[3 * i] = data[s];
      out[3 * i + 1] = data[s + 1];
      out[3 * i + 2] = data[s + 2];
    } else out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = data[s];
  }
  return out;
}

async function half(bytes: Buffer | string, file: string, left: number, h: number, size: number): Promise<Uint8Array> {
  try {
    const { data, info } = await sharp(bytes, { failOn: 'warning', limitInputPixels: MAX_INPUT_PIXELS })
      .extract({ left, top: 0, width: h, height: h })
      .resize(size, size, { kernel: 'cubic', fit: 'fill' })
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    return rgb(data, info.channels, size * size);
  } catch (e) {
    throw new DataError(file, reason(e));
  }
}

/**
 * Decode a pair file fully (a truncated or corrupt file fails here) and resize both halves. With the image
 * height already known (from the scan), each half is one sharp job reading the file itself: no main-thread
 * round trips between stages, so a prefetched batch completes while the training step blocks this thread.
 */
export async function decodePair(file: string, loadSize: number, knownHeight?: number): Promise<Halves> {
  if (knownHeight !== undefined) {
    const [left, right] = await Promise.all([half(file, file, 0, knownHeight, loadSize), half(file, file, knownHeight, knownHeight, loadSize)]);
    return { left, right, size: loadSize };
  }
  const { height, bytes } = await probePair(file);
  const [left, right] = await Promise.all([half(bytes, file, 0, height, loadSize), half(bytes, file, height, height, loadSize)]);
  return { left, right, size: loadSize };
}

/**
 * Decode any input image for sampling: a pair file (width = 2 x height) gives both halves; any other image is
 * one picture (`left` only, `right` null), resized to size x size.
 */
export async function decodeAny(file: string, size: number): Promise<{ left: Uint8Array; right: Uint8Array | null; size: number }> {
  const bytes = await readNonEmpty(file);
  let width = 0, height = 0;
  try {
    ({ width = 0, height = 0 } = await sharp(bytes, { limitInputPixels: MAX_INPUT_PIXELS }).metadata());
  } catch (e) {
    throw new DataError(file, reason(e));
  }
  checkPixels(file, width, height);
  if (width === 2 * height) {
    const [l, r] = await Promise.all([half(bytes, file, 0, height, size), half(bytes, file, height, height, size)]);
    return { left: l, right: r, size };
  }
  return { left: await whole(bytes, file, size), right: null, size };
}

async function whole(bytes: Buffer, file: string, size: number): Promise<Uint8Array> {
  try {
    const { data, info } = await sharp(bytes, { failOn: 'warning', limitInputPixels: MAX_INPUT_PIXELS }).resize(size, size, { kernel: 'cubic', fit: 'fill' }).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    return rgb(data, info.channels, size * size);
  } catch (e) {
    throw new DataError(file, reason(e));
  }
}
