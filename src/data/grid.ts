// Image grids: tiles of S x S x 3 floats in [-1, 1] laid out in rows and columns with a gap, written as PNG.
import sharp from 'sharp';

export interface Grid {
  width: number;
  height: number;
  /** RGB u8 */
  data: Uint8Array;
}

/** [-1, 1] -> 0..255 (rounded, clamped). */
export function toU8(v: number): number {
  const x = Math.round((v + 1) * 127.5);
  return x < 0 ? 0 : x > 255 ? 255 : x;
}

/** rows[r][c] is one tile (S*S*3 floats) or null for an empty (white) cell; gap pixels of white between tiles. */
export function makeGrid(rows: (Float32Array | null)[][], S: number, gap = 2): Grid {
  const nr = rows.length, nc = Math.max(...rows.map((r) => r.length));
  const width = nc * S + (nc - 1) * gap, height = nr * S + (nr - 1) * gap;
  const data = new Uint8Array(width * height * 3).fill(255);
  rows.forEach((row, r) =>
    row.forEach((tile, c) => {
      if (!tile) return;
      const x0 = c * (S + gap), y0 = r * (S + gap);
      for (let y = 0; y < S; y++) {
        const d = ((y0 + y) * width + x0) * 3, s = y * S * 3;
        for (let i = 0; i < S * 3; i++) data[d + i] = toU8(tile[s + i]);
      }
    }),
  );
  return { width, height, data };
}

export async function writePng(path: string, g: Grid): Promise<void> {
  await sharp(g.data, { raw: { width: g.width, height: g.height, channels: 3 } }).png().toFile(path);
}

/** One tile as an image. */
export function tileGrid(tile: Float32Array, S: number): Grid {
  return makeGrid([[tile]], S, 0);
}
