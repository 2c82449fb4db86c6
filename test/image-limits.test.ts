// Pixel caps that a crafted file cannot get around: a PNG whose first chunk is not IHDR, or with a second
// IHDR after a small first one (the decoder takes the last), a JPEG whose later start-of-frame is the large
// one, and dataset files over the loader's pixel limit (checked from the header, and sharp's
// limitInputPixels for the decode). Decoder failures say which image and what is wrong.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import jpeg from 'jpeg-js';
import { afterAll, describe, expect, test } from 'vitest';
import { decodeImage, decodeJpeg, decodePng, encodePng, ImageError } from '../src/infer/image.js';
import { MAX_INPUT_PIXELS, probePair } from '../src/data/decode.js';
import { scanPairs } from '../src/data/dataset.js';
import { testPicture } from './helpers/infer-model.js';
import { writePair } from './helpers/cli.js';
import { ihdr, pngChunk } from '../bench/lib/png-chunks.js';

const cat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) out.set(p, o), (o += p.length);
  return out;
};

const real = encodePng(testPicture(64, 64)); // 4096 pixels
const SIG = real.subarray(0, 8), REST = real.subarray(8);

describe('PNG: the pixel cap holds against the chunk order', () => {
  test('a fake 1x1 "header" in a chunk before the real IHDR is refused (the first chunk must be IHDR)', () => {
    const fake = new Uint8Array(13);
    new DataView(fake.buffer).setUint32(0, 1);
    new DataView(fake.buffer).setUint32(4, 1);
    const b = cat(SIG, pngChunk('tEXt', fake), REST);
    expect(new DataView(b.buffer).getUint32(16)).toBe(1); // the bytes the old check read say 1x1
    expect(() => decodePng(b, { maxPixels: 100, name: 'upload.png' })).toThrow(/upload\.png: not a valid PNG \(the first chunk must be a 13-byte IHDR\)/);
  });
  test('a second IHDR after a small first one is refused', () => {
    const b = cat(SIG, ihdr(1, 1), REST); // REST starts with the real 64x64 IHDR
    expect(() => decodeImage(b, { maxPixels: 100 })).toThrow(/a second IHDR chunk/);
  });
  test('the same picture with one IHDR decodes; over the cap it is refused before decoding', () => {
    expect(decodePng(real).width).toBe(64);
    expect(() => decodePng(real, { maxPixels: 4095 })).toThrow(/PNG is 64x64; at most 4095 pixels/);
  });
  test('a deflate bomb (a 2x2 image whose data inflates to 64 MB) is refused while inflating', () => {
    const d = new Uint8Array(13);
    new DataView(d.buffer).setUint32(0, 2);
    new DataView(d.buffer).setUint32(4, 2);
    d.set([8, 6, 0, 0, 0], 8);
    const bomb = deflateSync(new Uint8Array(64 * 2 ** 20));
    expect(bomb.length).toBeLessThan(100_000);
    const b = cat(SIG, pngChunk('IHDR', d), pngChunk('IDAT', bomb), pngChunk('IEND', new Uint8Array(0)));
    expect(() => decodePng(b, { name: 'bomb.png' })).toThrow(/bomb\.png: corrupt PNG image data \(it inflates to more than the 18 bytes its header allows\)/);
    // the same image with its real 18 bytes of data decodes
    const ok = cat(SIG, pngChunk('IHDR', d), pngChunk('IDAT', deflateSync(new Uint8Array(18))), pngChunk('IEND', new Uint8Array(0)));
    expect(decodePng(ok).data.length).toBe(16);
  });
  test('truncated and chunk-less files say what is wrong', () => {
    expect(() => decodePng(real.subarray(0, real.length - 20))).toThrow(/truncated/);
    expect(() => decodePng(cat(SIG, ihdr(2, 2), pngChunk('IEND', new Uint8Array(0))))).toThrow(/no IDAT/);
  });
});

describe('JPEG: every start-of-frame is checked', () => {
  const img = testPicture(64, 48);
  const j = new Uint8Array(jpeg.encode({ width: 64, height: 48, data: Buffer.from(img.data.buffer) }, 90).data);
  test('a small SOF before the real one does not hide the real size', () => {
    const sof = new Uint8Array([0xff, 0xc0, 0, 11, 8, 0, 1, 0, 1, 1, 1, 0x11, 0]); // 1x1, one component
    const b = cat(j.subarray(0, 2), sof, j.subarray(2));
    expect(() => decodeJpeg(b, { maxPixels: 100, name: 'a.jpg' })).toThrow(/a\.jpg: JPEG is 64x48; at most 100 pixels/);
  });
  test('decoder failures name the image and say the data is corrupt', () => {
    let msg = '';
    try {
      decodeJpeg(j.subarray(0, 300), { name: 'b.jpg' }); // cut inside the entropy-coded data
    } catch (e) {
      expect(e).toBeInstanceOf(ImageError);
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/^b\.jpg: /);
  });
});

describe('data loader: the pixel limit and unreadable links', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bicyclegan-limits-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  test('a file whose header is over MAX_INPUT_PIXELS is refused by name before it is decoded', () => {
    // a valid 8-bit RGB PNG header of 8192 x 4097 (> 2^25 pixels) and one tiny IDAT: sharp reads the header
    const d = new Uint8Array(13);
    new DataView(d.buffer).setUint32(0, 8192);
    new DataView(d.buffer).setUint32(4, 4097);
    d.set([8, 2, 0, 0, 0], 8);
    const f = join(dir, 'huge.png');
    writeFileSync(f, cat(SIG, pngChunk('IHDR', d), pngChunk('IDAT', new Uint8Array([0x78, 0x9c, 3, 0, 0, 0, 0, 1])), pngChunk('IEND', new Uint8Array(0))));
    expect(8192 * 4097).toBeGreaterThan(MAX_INPUT_PIXELS);
    return expect(probePair(f)).rejects.toThrow(new RegExp(`huge\\.png: (is 8192x4097; at most|image is larger than) ${MAX_INPUT_PIXELS} pixels`));
  });
  test('dangling and looping symlinks named *.jpg are reported by name and skipped with --skip-bad', async () => {
    const d = join(dir, 'links');
    mkdirSync(d);
    await writePair(join(d, '1.jpg'), 32, 1);
    symlinkSync(join(d, 'nowhere.jpg'), join(d, '2.jpg'));
    symlinkSync(join(d, '3.jpg'), join(d, '3.jpg'));
    await expect(scanPairs(d)).rejects.toThrow(/2\.jpg: a dangling symbolic link .*ENOENT.*1 more bad file: 3\.jpg/);
    const notes: string[] = [];
    const r = await scanPairs(d, { skipBad: true, report: (s) => notes.push(s) });
    expect(r.files.map((f) => f.slice(d.length + 1))).toEqual(['1.jpg']);
    expect(notes.join('\n')).toMatch(/skipping .*3\.jpg: a symbolic link loop \(ELOOP\)/);
  });
});
