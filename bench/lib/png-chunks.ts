// Hand-made PNG chunks for the hostile-image tests and the Worker load: a chunk with its CRC, an IHDR, and a PNG
// with a second (1x1) IHDR slipped in before its own, the trick that once got past the pixel cap.
import { crc32 } from 'node:zlib';

/** length, type, data, CRC-32 of type + data */
export function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const c = new Uint8Array(12 + data.length), dv = new DataView(c.buffer);
  dv.setUint32(0, data.length);
  c.set(new TextEncoder().encode(type), 4);
  c.set(data, 8);
  dv.setUint32(8 + data.length, crc32(c.subarray(4, 8 + data.length)));
  return c;
}

/** An IHDR chunk: w x h, 8-bit RGBA. */
export function ihdr(w: number, h: number): Uint8Array {
  const d = new Uint8Array(13);
  new DataView(d.buffer).setUint32(0, w);
  new DataView(d.buffer).setUint32(4, h);
  d.set([8, 6, 0, 0, 0], 8);
  return pngChunk('IHDR', d);
}

/** `png` with a 1x1 IHDR inserted before its own, whose size becomes w x h (default: unchanged). */
export function secondIhdr(png: Uint8Array, w?: number, h?: number): Uint8Array<ArrayBuffer> {
  const dv = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const rest = png.subarray(8 + 25); // after the signature and the original IHDR
  return Uint8Array.from([...png.subarray(0, 8), ...ihdr(1, 1), ...ihdr(w ?? dv.getUint32(16), h ?? dv.getUint32(20)), ...rest]);
}
