// The files of a training run under <out>: checkpoints/step-XXXXXXXX.safetensors (the newest K kept),
// losses.jsonl (one line per step), samples/. Resuming cuts losses.jsonl back to the checkpoint's step.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './checkpoint-file.js';

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

/** Write a checkpoint atomically and delete all but the newest `keep`. */
export function saveCheckpoint(out: string, step: number, bytes: Uint8Array, keep: number): string {
  mkdirSync(checkpointDir(out), { recursive: true });
  const path = checkpointPath(out, step);
  writeFileAtomic(path, bytes);
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
