// The pix2pix aligned dataset: <root>/<split>/*.jpg|jpeg|png, one A|B file per pair. Listing, validation
// (every file decoded once, so a truncated JPEG is found before training starts), and `--skip-bad`.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DataError, decodePair, probePair } from './decode.js';

export const IMAGE_EXT = /\.(jpe?g|png)$/i;

/** The folder of a split: `<root>/<split>` when it exists, else `root` itself when it holds images directly. */
export async function splitDir(root: string, split: string): Promise<string> {
  const sub = join(root, split);
  const st = await stat(sub).catch(() => null);
  if (st?.isDirectory()) return sub;
  const rootSt = await stat(root).catch(() => null);
  if (!rootSt) throw new DataError(root, 'no such directory');
  if (!rootSt.isDirectory()) throw new DataError(root, 'not a directory');
  return root;
}

/** Image files of a folder, sorted by name with numbers in natural order; other files are returned apart. */
export async function listImages(dir: string): Promise<{ images: string[]; others: string[] }> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DataError(dir, code === 'ENOENT' ? 'no such directory' : code === 'ENOTDIR' ? 'not a directory' : `cannot list (${code})`);
  }
  const collator = new Intl.Collator('en', { numeric: true });
  names.sort(collator.compare);
  const images: string[] = [], others: string[] = [];
  for (const n of names) {
    if (n.startsWith('.')) continue;
    const p = join(dir, n);
    // a dangling or looping symlink with an image name stays in the list: decoding it reports it by name
    // (an error, or with --skip-bad a notice), like any other unreadable image file
    const st = await stat(p).catch(() => null);
    if (st ? !st.isFile() : !IMAGE_EXT.test(n)) continue;
    (IMAGE_EXT.test(n) ? images : others).push(p);
  }
  return { images, others };
}

export interface ScanResult {
  files: string[];
  /** image height of each usable file (its width is twice that) */
  heights: number[];
  /** bad files skipped (only with skipBad), with the reason */
  skipped: DataError[];
}

/**
 * Every usable pair file of `dir`. A file that is not a .jpg/.jpeg/.png is ignored with a report; a file
 * with one of those names that does not decode, or is not twice as wide as high, throws a DataError naming
 * it, or with `skipBad` is reported (through `report`) and left out. No usable file at all is an error.
 */
export async function scanPairs(dir: string, o: { skipBad?: boolean; loadSize?: number; report?: (msg: string) => void; concurrency?: number } = {}): Promise<ScanResult> {
  const { images, others } = await listImages(dir);
  const report = o.report ?? (() => {});
  if (others.length) report(`${dir}: ignoring ${others.length} file${others.length > 1 ? 's' : ''} without a .jpg/.jpeg/.png name (${others.slice(0, 3).map((f) => f.slice(dir.length + 1)).join(', ')}${others.length > 3 ? ', ...' : ''})`);
  if (images.length === 0) throw new DataError(dir, `no .jpg/.jpeg/.png images in this directory${others.length ? ` (it holds ${others.length} other file${others.length > 1 ? 's' : ''})` : ''}`);
  const heights = new Array<number>(images.length).fill(0);
  const errors: (DataError | null)[] = new Array(images.length).fill(null);
  let next = 0;
  const worker = async () => {
    while (next < images.length) {
      const i = next++;
      try {
        const { height } = await probePair(images[i]);
        await decodePair(images[i], o.loadSize ?? 8, height);
        heights[i] = height;
      } catch (e) {
        if (!(e instanceof DataError)) throw e;
        errors[i] = e;
      }
    }
  };
  await Promise.all(Array.from({ length: o.concurrency ?? 8 }, worker));
  const bad = errors.filter((e): e is DataError => e !== null);
  if (bad.length && !o.skipBad) {
    const others = bad.slice(1).map((e) => e.file.slice(dir.length + 1));
    const more = others.length
      ? ` (and ${others.length} more bad file${others.length > 1 ? 's' : ''}: ${others.slice(0, 8).join(', ')}${others.length > 8 ? ', ...' : ''}; --skip-bad reports and leaves them out)`
      : ' (--skip-bad reports and leaves it out)';
    throw new DataError(bad[0].file, bad[0].message.slice(bad[0].file.length + 2) + more);
  }
  for (const e of bad) report(`skipping ${e.message}`);
  const files = images.filter((_, i) => heights[i] > 0);
  if (files.length === 0) throw new DataError(dir, `none of the ${images.length} image files is usable`);
  return { files, heights: heights.filter((h) => h > 0), skipped: bad };
}
