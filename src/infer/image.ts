// Images in and out of the inference API: RGBA pixel arrays (like the DOM's ImageData), PNG encode/decode
// with fast-png and JPEG decode with jpeg-js (pure JS: Workers, Deno, Bun and browsers alike), resampling
// to the model size (separable Catmull-Rom cubic widened by the scale factor when downscaling, i.e. PIL's
// antialiased BICUBIC and the kernel of sharp's `cubic`, which training resizes with) and conversion to and
// from the model's [-1, 1] NHWC.
import { decode as decodePngRaw, encode as encodePngRaw } from 'fast-png';
import jpeg from 'jpeg-js';
import { Unzlib } from 'fflate';

export interface RGBAImage {
  width: number;
  height: number;
  /** width * height * 4 bytes, row-major RGBA */
  data: Uint8ClampedArray;
}

/** Raised for input the caller got wrong (undecodable or oversized images): a 4xx, not a 500. */
export class ImageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImageError';
  }
}

/** Largest decoded image accepted by default (pixels), to bound memory on hostile input. */
export const MAX_PIXELS = 4096 * 4096;

export interface DecodeOptions {
  /** refuse images over this many pixels before decoding them (default MAX_PIXELS) */
  maxPixels?: number;
  /** what the image is, for messages (a file name, a form field); default "image" */
  name?: string;
}

/** The message of a too-large image (callers map it to 413). */
export const tooLarge = (what: string, w: number, h: number, max: number) => new ImageError(`${what} is ${w}x${h}; at most ${max} pixels are accepted`);

export function checkImage(img: RGBAImage, what = 'image'): void {
  const { width: w, height: h } = img;
  if (!Number.isInteger(w) || !Number.isInteger(h) || w <= 0 || h <= 0) throw new ImageError(`${what}: bad size ${w}x${h}`);
  if (!img.data || img.data.length !== w * h * 4) throw new ImageError(`${what}: data has ${img.data?.length} bytes, expected ${w * h * 4} (RGBA ${w}x${h})`);
}

export type ImageType = 'png' | 'jpeg';

export function sniff(bytes: Uint8Array): ImageType | null {
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return null;
}

const chunkType = (b: Uint8Array, i: number) => String.fromCharCode(b[i], b[i + 1], b[i + 2], b[i + 3]);

/**
 * The size a PNG declares, from a walk over its chunk list (no decoding): the first chunk must be a 13-byte
 * IHDR and no other IHDR may follow (the decoder would take the last one, so a small first header could
 * hide a huge image), every chunk must fit in the file, and IDAT data must be there. Throws an ImageError
 * naming what is wrong.
 */
export function pngHeader(b: Uint8Array, name = 'image'): { width: number; height: number; idat: [number, number][]; rawBytes: number } {
  const bad = (why: string) => new ImageError(`${name}: not a valid PNG (${why})`);
  if (sniff(b) !== 'png' || b[4] !== 0x0d || b[5] !== 0x0a || b[6] !== 0x1a || b[7] !== 0x0a) throw bad('no PNG signature');
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b.length < 33 || chunkType(b, 12) !== 'IHDR' || dv.getUint32(8) !== 13) throw bad('the first chunk must be a 13-byte IHDR');
  const width = dv.getUint32(16), height = dv.getUint32(20);
  let i = 8;
  const idat: [number, number][] = [];
  for (;;) {
    if (i + 12 > b.length) throw bad(`truncated: the chunk list ends at byte ${b.length} without an IEND chunk`);
    const len = dv.getUint32(i), type = chunkType(b, i + 4);
    if (len > 0x7fffffff || i + 12 + len > b.length) throw bad(`truncated: chunk ${JSON.stringify(type)} at byte ${i} says ${len} bytes, past the end of the file`);
    if (type === 'IHDR' && i !== 8) throw bad(`a second IHDR chunk at byte ${i}`);
    if (type === 'IDAT') idat.push([i + 8, i + 8 + len]);
    i += 12 + len;
    if (type === 'IEND') break;
  }
  if (!idat.length) throw bad('no IDAT (image data) chunk');
  if (width === 0 || height === 0 || width > 0x7fffffff || height > 0x7fffffff) throw new ImageError(`${name}: PNG has a bad size ${width}x${height}`);
  // the most the image data may inflate to: a filter byte per row plus the packed samples (Adam7 adds at most
  // a filter byte and a partial byte per row of each of its 7 passes)
  const depth = b[24], channels = ({ 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as Record<number, number>)[b[25]] ?? 4;
  const rawBytes = height * (1 + Math.ceil((width * channels * Math.min(depth, 16)) / 8)) + (b[28] === 1 ? 14 * height + 64 : 0);
  return { width, height, idat, rawBytes };
}

/** What a decoder library said, when it said something meant for people: its own Errors keep their message;
 * a TypeError or RangeError from deep inside it (an index past its data) says nothing about the image. */
function decoderReason(e: unknown): string {
  if (e instanceof TypeError || e instanceof RangeError) return 'the data ends or breaks off inside the compressed image';
  return String((e as Error)?.message ?? e).slice(0, 200);
}

export function decodePng(bytes: Uint8Array, o: DecodeOptions = {}): RGBAImage {
  const max = o.maxPixels ?? MAX_PIXELS, name = o.name ?? 'image';
  if (sniff(bytes) !== 'png') throw new ImageError(`${name}: not a PNG file`);
  const { width: w, height: h, idat, rawBytes } = pngHeader(bytes, name);
  if (w * h > max) throw tooLarge(`${name}: PNG`, w, h, max);
  inflatedWithin(bytes, idat, rawBytes, name);
  let png;
  try {
    png = decodePngRaw(bytes);
  } catch (e) {
    throw new ImageError(`${name}: corrupt PNG image data (${decoderReason(e)})`);
  }
  const { width, height, channels, depth } = png;
  // the decoder's own header must be the one checked above (pngHeader refuses a second IHDR)
  if (width !== w || height !== h) throw new ImageError(`${name}: PNG decoded as ${width}x${height}, but its header says ${w}x${h}`);
  const n = width * height;
  const need = png.palette ? Math.ceil((width * depth) / 8) * height : n * channels;
  if (png.data.length < need) throw new ImageError(`${name}: corrupt PNG image data (${png.data.length} samples for a ${width}x${height} image)`);
  const out = new Uint8ClampedArray(width * height * 4);
  if (png.palette) {
    const pal = png.palette, idx = png.data, trns = png.transparency;
    if (depth !== 8) {
      // unpack 1/2/4-bit indices
      const per = 8 / depth, rowBytes = Math.ceil(width / per), mask = (1 << depth) - 1;
      for (let y = 0; y < height; y++)
        for (let x = 0; x < width; x++) {
          const byte = idx[y * rowBytes + Math.floor(x / per)];
          const i = (byte >> ((per - 1 - (x % per)) * depth)) & mask;
          const c = pal[i] ?? [0, 0, 0];
          const o = (y * width + x) * 4;
          out[o] = c[0]; out[o + 1] = c[1]; out[o + 2] = c[2]; out[o + 3] = c[3] ?? (trns && i < trns.length ? trns[i] : 255);
        }
    } else {
      for (let p = 0; p < n; p++) {
        const i = idx[p], c = pal[i] ?? [0, 0, 0];
        out[4 * p] = c[0]; out[4 * p + 1] = c[1]; out[4 * p + 2] = c[2]; out[4 * p + 3] = c[3] ?? (trns && i < trns.length ? trns[i] : 255);
      }
    }
    return { width, height, data: out };
  }
  if (depth !== 8 && depth !== 16) throw new ImageError(`${name}: PNG bit depth ${depth} without a palette is not supported`);
  const d = png.data, sh = depth === 16 ? 257 : 1;
  for (let p = 0; p < n; p++) {
    const s = p * channels;
    if (channels >= 3) {
      out[4 * p] = d[s] / sh; out[4 * p + 1] = d[s + 1] / sh; out[4 * p + 2] = d[s + 2] / sh;
      out[4 * p + 3] = channels === 4 ? d[s + 3] / sh : 255;
    } else {
      const v = d[s] / sh;
      out[4 * p] = out[4 * p + 1] = out[4 * p + 2] = v;
      out[4 * p + 3] = channels === 2 ? d[s + 1] / sh : 255;
    }
  }
  return { width, height, data: out };
}

/**
 * Inflates the IDAT stream, counting, and refuses it as soon as it grows past what the header allows: a small
 * image whose data inflates to gigabytes (a deflate bomb: 4 MB of compressed zeros are 4 GB) would otherwise
 * be inflated whole by the decoder before anything checks it. Costs one extra inflate pass.
 */
function inflatedWithin(b: Uint8Array, idat: [number, number][], limit: number, name: string): void {
  let total = 0;
  const over = new ImageError(`${name}: corrupt PNG image data (it inflates to more than the ${limit} bytes its header allows)`);
  const z = new Unzlib((chunk) => {
    total += chunk.length;
    if (total > limit) throw over;
  });
  try {
    idat.forEach(([s, e], k) => z.push(b.subarray(s, e), k === idat.length - 1));
  } catch (e) {
    if (e === over) throw over;
    throw new ImageError(`${name}: corrupt PNG image data (${decoderReason(e)})`);
  }
}

const isSof = (m: number) => m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;

/**
 * Every start-of-frame (SOF) size of a JPEG, from a walk over its marker segments and the entropy-coded data
 * between them (the decoder takes the last frame header it meets, so each one is checked). Throws an
 * ImageError for a structure that cannot be walked.
 */
export function jpegFrames(b: Uint8Array, name = 'image'): [number, number][] {
  const bad = (why: string) => new ImageError(`${name}: not a valid JPEG (${why})`);
  const frames: [number, number][] = [];
  let i = 2;
  while (i < b.length) {
    if (b[i] !== 0xff) {
      i++; // entropy-coded data (or padding) between segments
      continue;
    }
    const m = b[i + 1];
    if (m === undefined) break;
    if (m === 0xff || m === 0x00 || (m >= 0xd0 && m <= 0xd7) || m === 0x01 || m === 0xd8) {
      i += m === 0xff ? 1 : 2; // fill byte, stuffed 0xff00, restart markers, TEM, SOI: no length
      continue;
    }
    if (m === 0xd9) break; // EOI
    if (i + 4 > b.length) throw bad(`truncated marker segment at byte ${i}`);
    const len = (b[i + 2] << 8) | b[i + 3];
    if (len < 2 || i + 2 + len > b.length) throw bad(`marker 0x${m.toString(16)} at byte ${i} says ${len} bytes, past the end of the file`);
    if (isSof(m)) {
      if (len < 8) throw bad(`start-of-frame segment at byte ${i} is too short`);
      frames.push([(b[i + 7] << 8) | b[i + 8], (b[i + 5] << 8) | b[i + 6]]);
    }
    i += 2 + len;
  }
  if (!frames.length) throw bad('no start-of-frame marker');
  return frames;
}

export function decodeJpeg(bytes: Uint8Array, o: DecodeOptions = {}): RGBAImage {
  const max = o.maxPixels ?? MAX_PIXELS, name = o.name ?? 'image';
  if (sniff(bytes) !== 'jpeg') throw new ImageError(`${name}: not a JPEG file`);
  for (const [w, h] of jpegFrames(bytes, name)) {
    if (w === 0 || h === 0) throw new ImageError(`${name}: JPEG frame has a zero size ${w}x${h} (DNL-sized frames are not supported)`);
    if (w * h > max) throw tooLarge(`${name}: JPEG`, w, h, max);
  }
  let r;
  try {
    r = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: max / 1e6, maxMemoryUsageInMB: Math.ceil((max * 8) / 2 ** 20) + 16 });
  } catch (e) {
    throw new ImageError(`${name}: corrupt JPEG image data (${decoderReason(e)})`);
  }
  if (!(r.width * r.height <= max) || r.data.length !== r.width * r.height * 4) throw new ImageError(`${name}: JPEG decoded as ${r.width}x${r.height}, outside the checked frame sizes`);
  return { width: r.width, height: r.height, data: new Uint8ClampedArray(r.data.buffer, r.data.byteOffset, r.data.byteLength) };
}

/** PNG or JPEG, told apart by their signatures. */
export function decodeImage(bytes: Uint8Array, o: DecodeOptions = {}): RGBAImage {
  const t = sniff(bytes);
  if (t === 'png') return decodePng(bytes, o);
  if (t === 'jpeg') return decodeJpeg(bytes, o);
  throw new ImageError(`${o.name ?? 'image'}: not a PNG or JPEG image`);
}

/** 8-bit RGBA PNG. */
export function encodePng(img: RGBAImage): Uint8Array {
  checkImage(img);
  return encodePngRaw({ width: img.width, height: img.height, data: new Uint8Array(img.data.buffer, img.data.byteOffset, img.data.byteLength), channels: 4, depth: 8 });
}

/** Catmull-Rom cubic (a = -0.5), the kernel of PIL's BICUBIC and of sharp's `cubic` that training resizes with. */
function cubic(x: number): number {
  x = Math.abs(x);
  if (x < 1) return (1.5 * x - 2.5) * x * x + 1;
  if (x < 2) return ((-0.5 * x + 2.5) * x - 4) * x + 2;
  return 0;
}

/** One axis of the cubic filter, widened by the scale factor when downscaling (antialiased, as PIL and libvips
 * do): for each output index, the first input index and the normalised weights. */
function axis(inSize: number, outSize: number): { start: Int32Array; len: Int32Array; w: Float32Array; K: number } {
  const scale = inSize / outSize;
  const stretch = Math.max(1, scale);
  const support = 2 * stretch;
  const K = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize), len = new Int32Array(outSize), w = new Float32Array(outSize * K);
  for (let o = 0; o < outSize; o++) {
    const center = (o + 0.5) * scale;
    const lo = Math.max(0, Math.floor(center - support)), hi = Math.min(inSize, Math.ceil(center + support));
    let sum = 0;
    const ws: number[] = [];
    for (let i = lo; i < hi; i++) {
      const t = cubic((i + 0.5 - center) / stretch);
      ws.push(t);
      sum += t;
    }
    start[o] = lo;
    len[o] = ws.length;
    for (let j = 0; j < ws.length; j++) w[o * K + j] = ws[j] / sum;
  }
  return { start, len, w, K };
}

/** Resample RGBA to w x h (antialiased cubic; identity when the size already matches). */
export function resize(img: RGBAImage, w: number, h: number): RGBAImage {
  checkImage(img);
  if (img.width === w && img.height === h) return img;
  const ax = axis(img.width, w), ay = axis(img.height, h);
  const tmp = new Float32Array(img.height * w * 4);
  const src = img.data;
  for (let y = 0; y < img.height; y++)
    for (let x = 0; x < w; x++) {
      let r = 0, g = 0, b = 0, a = 0;
      for (let j = 0; j < ax.len[x]; j++) {
        const wt = ax.w[x * ax.K + j], s = (y * img.width + ax.start[x] + j) * 4;
        r += wt * src[s]; g += wt * src[s + 1]; b += wt * src[s + 2]; a += wt * src[s + 3];
      }
      const o = (y * w + x) * 4;
      tmp[o] = r; tmp[o + 1] = g; tmp[o + 2] = b; tmp[o + 3] = a;
    }
  const out = new Uint8ClampedArray(w * h * 4);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < 4; c++) {
        let v = 0;
        for (let j = 0; j < ay.len[y]; j++) v += ay.w[y * ay.K + j] * tmp[((ay.start[y] + j) * w + x) * 4 + c];
        out[(y * w + x) * 4 + c] = Math.round(v);
      }
  return { width: w, height: h, data: out };
}

/** The model input: resize to S x S, RGB (alpha composited over white) -> NHWC floats in [-1, 1]. */
export function toModelInput(img: RGBAImage, S: number, channels = 3, out = new Float32Array(S * S * channels)): Float32Array {
  const r = resize(img, S, S).data;
  for (let p = 0; p < S * S; p++) {
    const a = r[4 * p + 3] / 255;
    for (let c = 0; c < channels; c++) {
      const v = channels === 1 ? 0.299 * r[4 * p] + 0.587 * r[4 * p + 1] + 0.114 * r[4 * p + 2] : r[4 * p + c]; // luma, as the official loader's input_nc 1
      out[p * channels + c] = (v * a + 255 * (1 - a)) / 127.5 - 1;
    }
  }
  return out;
}

/** Model output NHWC [-1, 1] (one image) -> RGBA bytes, opaque. */
export function fromModelOutput(x: Float32Array, S: number, channels = 3): RGBAImage {
  const data = new Uint8ClampedArray(S * S * 4);
  for (let p = 0; p < S * S; p++) {
    for (let c = 0; c < 3; c++) data[4 * p + c] = Math.round((x[p * channels + (channels === 1 ? 0 : c)] + 1) * 127.5);
    data[4 * p + 3] = 255;
  }
  return { width: S, height: S, data };
}

/** Tile equally sized images row-major, `cols` per row (default: ceil(sqrt(n))), with `gap` white pixels. */
export function grid(images: RGBAImage[], cols = Math.ceil(Math.sqrt(images.length)), gap = 0): RGBAImage {
  if (!images.length) throw new Error('grid: no images');
  const { width: w, height: h } = images[0];
  const rows = Math.ceil(images.length / cols);
  const W = cols * w + (cols - 1) * gap, H = rows * h + (rows - 1) * gap;
  const data = new Uint8ClampedArray(W * H * 4).fill(255);
  images.forEach((img, i) => {
    if (img.width !== w || img.height !== h) throw new Error('grid: images differ in size');
    const x0 = (i % cols) * (w + gap), y0 = Math.floor(i / cols) * (h + gap);
    for (let y = 0; y < h; y++) data.set(img.data.subarray(y * w * 4, (y + 1) * w * 4), ((y0 + y) * W + x0) * 4);
  });
  return { width: W, height: H, data };
}

/** A crop (e.g. one half of a paired dataset image). */
export function crop(img: RGBAImage, x0: number, y0: number, w: number, h: number): RGBAImage {
  const data = new Uint8ClampedArray(w * h * 4);
  for (let y = 0; y < h; y++) data.set(img.data.subarray(((y0 + y) * img.width + x0) * 4, ((y0 + y) * img.width + x0 + w) * 4), y * w * 4);
  return { width: w, height: h, data };
}
