// The files of a training run under <out>: checkpoints/step-XXXXXXXX.safetensors (the newest K kept),
// losses.jsonl (one line per step), samples/. Resuming cuts losses.jsonl back to the checkpoint's step.
import { accessSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { writeFileAtomic, type FileIO } from './checkpoint-file.js';

const CKPT = /^step-(\d+)\.safetensors$/;

export function checkpointDir(out: string): string {
  return join(out, 'checkpoints');
}

export function checkpointPath(out: string, step: number): string {
  return join(checkpointDir(out), `step-${String(step).padStart(8, '0')}.safetensors`);
}

/** Checkpoints of a run, oldest first. */
export function listCheckpoints(out: string): { step: number; path: string }[] {
  const dir = checkpointDir(out);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((n) => CKPT.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ step: Number(m[1]), path: join(dir, m[0]) }))
    .sort((a, b) => a.step - b.step);
}

/**
 * mkdir -p, one level at a time. Node 20's recursive mkdirSync spins for ever on some special paths (under
 * /proc it loops at 100% CPU and does not see signals); created level by level, such a path is an error naming
 * it and the reason. `what` names the option the path came from.
 */
export function makeDir(path: string, what = '--out'): void {
  const abs = resolve(path);
  const missing: string[] = [];
  for (let p = abs; ; p = dirname(p)) {
    const st = statSync(p, { throwIfNoEntry: false });
    if (st) {
      if (!st.isDirectory()) throw new Error(`${what} ${path}: ${p} is not a directory`);
      break;
    }
    missing.unshift(p);
    if (dirname(p) === p) break;
  }
  for (const p of missing) {
    try {
      mkdirSync(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' && statSync(p, { throwIfNoEntry: false })?.isDirectory()) continue;
      throw new Error(`${what} ${path}: cannot create ${p} (${code ?? (e as Error).message})`);
    }
  }
}

/** Checks, without creating anything, that `path` is a folder or could be made one: its nearest existing
 * ancestor is a folder this process may write into. */
export function checkDirPath(path: string, what = '--out'): void {
  for (let p = resolve(path); ; p = dirname(p)) {
    const st = statSync(p, { throwIfNoEntry: false });
    if (st) {
      if (!st.isDirectory()) throw new Error(`${what} ${path}: ${p} is not a directory`);
      try {
        accessSync(p, constants.W_OK | constants.X_OK);
      } catch (e) {
        throw new Error(`${what} ${path}: cannot write into ${p} (${(e as NodeJS.ErrnoException).code})`);
      }
      return;
    }
    if (dirname(p) === p) return;
  }
}

/** Write a checkpoint atomically and delete all but the newest `keep`. */
export function saveCheckpoint(out: string, step: number, bytes: Uint8Array, keep: number, io?: FileIO): string {
  makeDir(checkpointDir(out));
  const path = checkpointPath(out, step);
  writeFileAtomic(path, bytes, io); // throws before anything is deleted: the older checkpoints stay
  const all = listCheckpoints(out);
  for (const c of all.slice(0, Math.max(0, all.length - keep))) rmSync(c.path, { force: true });
  return path;
}

export interface LossRecord {
  step: number;
  epoch: number;
  lr: number;
  [loss: string]: number;
}

export function readLosses(path: string): LossRecord[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as LossRecord];
      } catch {
        return []; // a line torn by a kill mid-write
      }
    });
}

/** Keep only the records up to `step` (after a resume from that step); returns them. */
export function truncateLosses(path: string, step: number): LossRecord[] {
  const kept = readLosses(path).filter((r) => r.step <= step);
  writeFileAtomic(path, new TextEncoder().encode(kept.map((r) => JSON.stringify(r) + '\n').join('')));
  return kept;
}
