// Fault tests: the atomic write's fsync order (file, rename, folder), a full disk during a checkpoint write
// (through an injectable writer: the previous checkpoint survives and the error says so), SIGKILL at many
// points of a run that checkpoints every step (no torn file, resume works, temp files removed on the next
// start), an unwritable --out, and a data-parallel worker that hangs or exits inside train() (the run fails
// naming it within the step timeout and keeps the last checkpoint).
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { parseSafetensors } from '../src/core/safetensors.js';
import { createParallelEngine, ParallelWorkerError } from '../src/parallel/engine.js';
import { checkpointTrainState } from '../src/train/checkpoint.js';
import { readCheckpointFile, removeStaleTemps, tempPathOf, writeFileAtomic, type FileIO } from '../src/train/checkpoint-file.js';
import { listCheckpoints, saveCheckpoint } from '../src/train/run-files.js';
import { train } from '../src/train/trainer.js';
import { bin, cli, makeDataset, root, tmp, TINY } from './helpers/cli.js';

const dir = tmp('faults');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** node:fs with a log of the calls and, optionally, one call made to fail. */
function recordingIO(failOn?: { call: keyof FileIO; after?: number; err: NodeJS.ErrnoException }) {
  const log: string[] = [];
  let writes = 0;
  const io: FileIO = {
    openSync: (p, f, m) => {
      const fd = fs.openSync(p, f, m);
      log.push(`open ${String(p).endsWith('.tmp') ? 'tmp' : fs.statSync(p).isDirectory() ? 'dir' : 'file'}`);
      return fd;
    },
    writeSync: ((fd: number, b: Uint8Array, off: number, len: number) => {
      if (failOn?.call === 'writeSync') {
        const room = (failOn.after ?? 0) - writes;
        if (room <= 0) throw failOn.err;
        len = Math.min(len, room);
      }
      const n = fs.writeSync(fd, b, off, len);
      writes += n;
      log.push('write');
      return n;
    }) as FileIO['writeSync'],
    fsyncSync: (fd) => {
      fs.fsyncSync(fd);
      log.push('fsync');
    },
    closeSync: (fd) => {
      fs.closeSync(fd);
      log.push('close');
    },
    renameSync: (a, b) => {
      if (failOn?.call === 'renameSync') throw failOn.err;
      fs.renameSync(a, b);
      log.push('rename');
    },
    rmSync: (p, o) => {
      fs.rmSync(p, o);
      log.push('rm');
    },
  };
  return { io, log };
}
const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });

describe('atomic writes', () => {
  test('the file is fsynced before the rename, and its folder after it', () => {
    const { io, log } = recordingIO();
    const p = join(dir, 'order.safetensors');
    writeFileAtomic(p, new Uint8Array(100), io);
    const merged = log.filter((x, i) => !(x === 'write' && log[i - 1] === 'write'));
    expect(merged).toEqual(['open tmp', 'write', 'fsync', 'close', 'rename', 'open dir', 'fsync', 'close']);
  });

  test('a full disk mid-write: the error says so, the previous checkpoint is kept whole, nothing is deleted, no temp file', () => {
    const out = join(dir, 'full');
    const old1 = saveCheckpoint(out, 1, new Uint8Array(64).fill(1), 2);
    const old2 = saveCheckpoint(out, 2, new Uint8Array(64).fill(2), 2);
    const { io } = recordingIO({ call: 'writeSync', after: 1000, err: enospc });
    expect(() => saveCheckpoint(out, 3, new Uint8Array(5000).fill(3), 2, io)).toThrow(/cannot write checkpoint .*step-00000003\.safetensors: ENOSPC: no space left on device/);
    expect(listCheckpoints(out).map((c) => c.step)).toEqual([1, 2]); // --keep 2 did not delete step 1 for a failed step 3
    expect([...readFileSync(old1)]).toEqual(new Array(64).fill(1));
    expect([...readFileSync(old2)]).toEqual(new Array(64).fill(2));
    expect(readdirSync(join(out, 'checkpoints')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    // a failed rename over an existing file names the kept one
    const { io: io2 } = recordingIO({ call: 'renameSync', err: Object.assign(new Error('EIO: i/o error, rename'), { code: 'EIO' }) });
    expect(() => writeFileAtomic(old2, new Uint8Array(8), io2)).toThrow(/EIO.*the previous step-00000002\.safetensors is kept unchanged/);
    expect([...readFileSync(old2)]).toEqual(new Array(64).fill(2));
  });

  test('temp files of dead writers are removed; a live writer\'s is left alone', () => {
    const d = join(dir, 'temps');
    fs.mkdirSync(d);
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    writeFileSync(tempPathOf(join(d, 'step-00000007.safetensors'), Number(dead)), 'torn');
    writeFileSync(tempPathOf(join(d, 'step-00000008.safetensors'), process.ppid), 'in progress');
    expect(removeStaleTemps(d)).toEqual([`.step-00000007.safetensors.${dead}.tmp`]);
    expect(readdirSync(d)).toEqual([`.step-00000008.safetensors.${process.ppid}.tmp`]);
  });
});

describe('SIGKILL during a run that checkpoints every step', () => {
  test('no torn checkpoint after any kill; the next start removes temp files; resume finishes the run', { timeout: 180_000 }, async () => {
    const data = await makeDataset(join(dir, 'kill-data'), 3);
    const out = join(dir, 'kill-run');
    const args = ['train', '--data', data, '--batch', '1', '--steps', '60', '--checkpoint-every', '1', '--keep', '2', '--sample-every', '0', '--log-every', '1', '--out', out, ...TINY];
    // kill at several delays after a checkpoint line: inside the next step, its checkpoint write or the folder fsync
    const delays = [0, 3, 9, 17, 26];
    for (const [i, ms] of delays.entries()) {
      const resume = i === 0 ? [] : ['--resume'];
      const r = await new Promise<{ stderr: string; signal: NodeJS.Signals | null }>((res) => {
        const p = spawn(process.execPath, [bin, ...args, ...resume], { cwd: root });
        let stderr = '', sent = false;
        p.stderr.on('data', (d) => {
          stderr += d;
          if (!sent && /checkpoint \(every\) step \d+/.test(stderr)) {
            sent = true;
            setTimeout(() => p.kill('SIGKILL'), ms);
          }
        });
        p.on('close', (_c, signal) => res({ stderr, signal }));
      });
      expect(r.signal, r.stderr).toBe('SIGKILL');
      for (const c of listCheckpoints(out)) {
        const bytes = readCheckpointFile(c.path);
        expect(() => parseSafetensors(bytes), c.path).not.toThrow();
        expect(checkpointTrainState(bytes, c.path)!.steps).toBe(c.step);
      }
    }
    const leftover = readdirSync(join(out, 'checkpoints')).filter((f) => f.endsWith('.tmp'));
    const done = cli([...args, '--resume']);
    expect(done.code, done.stderr).toBe(0);
    expect(done.stderr).toMatch(/done: 60 steps/);
    if (leftover.length) expect(done.stderr).toMatch(new RegExp(`removed ${leftover.length} temporary file`));
    expect(readdirSync(join(out, 'checkpoints')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

describe('unwritable --out', () => {
  test('a path under /proc is an error naming it, not a spin in mkdir', async () => {
    const data = await makeDataset(join(dir, 'proc-data'), 1);
    const r = cli(['train', '--data', data, '--batch', '1', '--steps', '1', '--out', '/proc/bicyclegan-x/run', ...TINY]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/--out \/proc\/bicyclegan-x\/run: cannot (create|write into) \/proc/);
  });
});

describe('a data-parallel worker that hangs or exits inside train()', () => {
  for (const kind of ['hang', 'exit'] as const) {
    test(`${kind}: train() fails naming the worker (the trainer sets the step timeout); the last checkpoint stays`, { timeout: 120_000 }, async () => {
      const data = await makeDataset(join(dir, `w-${kind}`), 2);
      const out = join(dir, `w-${kind}-run`);
      const cfg = { data, out, batch: 2, steps: 6, checkpointEvery: 1, sampleEvery: 0, gBase: 2, eBase: 2, dBase: 2, build: 'simd' as const, workers: 2, stepTimeout: 3 };
      const err = await train(cfg, { createEngine: (o) => createParallelEngine({ ...o, workers: 2, fault: { worker: 1, step: 3, kind } }) }).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(ParallelWorkerError);
      expect((err as Error).message).toMatch(kind === 'hang' ? /worker \d failed during step 3: no answer within 3 s/ : /worker \d failed during step 3: .*(exit|code)/i);
      expect(listCheckpoints(out).map((c) => c.step)).toEqual([1, 2].slice(-3));
      expect(existsSync(listCheckpoints(out).at(-1)!.path)).toBe(true);
    });
  }
});
