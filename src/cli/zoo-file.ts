// The shipped models (src/infer/zoo.ts) as files on disk, for the CLI and the Node API: a model file argument
// that is not a file but a shipped model's name reads that model.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ZOO, zooModelUrl } from '../infer/zoo.js';

/** The path of a shipped model's file. */
export function zooModelPath(name: string): string {
  return fileURLToPath(zooModelUrl(name));
}

/** The bytes of a shipped model (an inference file with G and E). */
export function zooModelBytes(name: string): Uint8Array {
  return new Uint8Array(readFileSync(zooModelPath(name)));
}

/** `arg` itself, or the shipped model's file when `arg` names one and no file `arg` exists. */
export function modelPathOf(arg: string): string {
  return !existsSync(arg) && Object.hasOwn(ZOO, arg) ? zooModelPath(arg) : arg;
}
