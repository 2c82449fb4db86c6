// Atomic checkpoint files: write a temporary file in the same folder, fsync it, rename it over the target,
// fsync the folder. A process killed at any point leaves either the old file or the new one, never a torn one;
// what it can leave is its temporary file (.<name>.<pid>.tmp), which removeStaleTemps clears on the next start.
// The file-system calls go through `FileIO` so tests can make a write fail like a full disk does.
import * as fs from 'node:fs';
import { dirname, basename, join } from 'node:path';

/** The node:fs calls writeFileAtomic makes (tests pass one that fails on purpose). */
export type FileIO = Pick<typeof fs, 'openSync' | 'writeSync' | 'fsyncSync' | 'closeSync' | 'renameSync' | 'rmSync'>;

/** Name of the temporary file a process writes `path` through. */
export const tempPathOf = (path: string, pid = process.pid) => join(dirname(path), `.${basename(path)}.${pid}.tmp`);

export function writeFileAtomic(path: string, bytes: Uint8Array, io: FileIO = fs): void {
  const tmp = tempPathOf(path);
  let fd = -1;
  try {
    fd = io.openSync(tmp, 'w', 0o644);
    let off = 0;
    while (off < bytes.byteLength) off += io.writeSync(fd, bytes, off, bytes.byteLength - off);
    io.fsyncSync(fd);
    io.closeSync(fd);
    fd = -1;
    io.renameSync(tmp, path);
  } catch (e) {
    if (fd >= 0) {
      try {
        io.closeSync(fd);
      } catch {
        // already failing: the first error is the one to report
      }
    }
    io.rmSync(tmp, { force: true });
    const kept = fs.existsSync(path) ? `; the previous ${basename(path)} is kept unchanged` : '';
    throw new Error(`cannot write checkpoint ${path}: ${(e as Error).message}${kept}`);
  }
  try {
    const dfd = io.openSync(dirname(path), 'r');
    try {
      io.fsyncSync(dfd);
    } finally {
      io.closeSync(dfd);
    }
  } catch {
    // some file systems refuse fsync on a directory; the rename is still atomic
  }
}

export function readCheckpointFile(path: string): Uint8Array {
  try {
    return new Uint8Array(fs.readFileSync(path));
  } catch (e) {
    throw new Error(`cannot read checkpoint ${path}: ${(e as Error).message}`);
  }
}

const TEMP = /^\.(.+)\.(\d+)\.tmp$/;

/** Remove the temporary files that killed writers (any pid but a live one) left in `dir`; returns their names. */
export function removeStaleTemps(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const removed: string[] = [];
  for (const name of fs.readdirSync(dir)) {
    const m = TEMP.exec(name);
    if (!m) continue;
    const pid = Number(m[2]);
    if (pid !== process.pid && alive(pid)) continue; // another process is writing it now
    fs.rmSync(join(dir, name), { force: true });
    removed.push(name);
  }
  return removed;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
