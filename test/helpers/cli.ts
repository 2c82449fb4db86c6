// Running the bicyclegan CLI as a child process (scripts/cli-dev.mjs: the sources under tsx), and making small
// pix2pix-style pair images with sharp in a temporary folder.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import sharp from 'sharp';

export const root = resolve(dirname(new URL(import.meta.url).pathname), '../..');
export const bin = join(root, 'scripts/cli-dev.mjs'); // the sources under tsx (bin/ runs dist/)

export function tmp(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `bicyclegan-${prefix}-`));
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function cli(args: string[], cwd = root): CliResult {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', timeout: 60_000, env: { ...process.env, FORCE_COLOR: '0' } });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** Run the CLI and send `sig` (or run `sig()`) once stderr matches `when`. */
export function cliInterrupted(args: string[], when: RegExp, sig: NodeJS.Signals | (() => void) = 'SIGINT'): Promise<CliResult & { sent: boolean }> {
  return new Promise((res, rej) => {
    const p = spawn(process.execPath, [bin, ...args], { cwd: root, env: { ...process.env, FORCE_COLOR: '0' } });
    let stdout = '', stderr = '', sent = false;
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => {
      stderr += d;
      if (!sent && when.test(stderr)) {
        sent = true;
        if (typeof sig === 'function') sig();
        else p.kill(sig);
      }
    });
    const timer = setTimeout(() => p.kill('SIGKILL'), 60_000);
    p.on('error', rej);
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      res({ code, signal, stdout, stderr, sent });
    });
  });
}

/** A pair image W=2H: a smooth pattern on the left (the "photo"), its coarse version on the right. */
export function pairPixels(h: number, seed: number, channels = 3): Buffer {
  const w = 2 * h, buf = Buffer.alloc(w * h * channels);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const u = x % h, side = x < h ? 0 : 1;
      for (let c = 0; c < channels; c++) {
        const v = side === 0 ? 128 + 100 * Math.sin((u + seed * 7) / (9 + c * 3)) * Math.cos((y + seed) / 11) : ((u >> 4) + (y >> 4) + seed + c) % 2 ? 220 : 30;
        buf[(y * w + x) * channels + c] = Math.max(0, Math.min(255, Math.round(v)));
      }
    }
  return buf;
}

export async function writePair(file: string, h: number, seed: number, opts: { channels?: number; format?: 'jpeg' | 'png'; palette?: boolean } = {}): Promise<void> {
  mkdirSync(dirname(file), { recursive: true });
  const channels = opts.channels ?? 3;
  const img = sharp(pairPixels(h, seed, channels), { raw: { width: 2 * h, height: h, channels: channels as 1 | 2 | 3 | 4 } });
  if ((opts.format ?? (file.endsWith('.png') ? 'png' : 'jpeg')) === 'png') await img.png({ palette: opts.palette ?? false }).toFile(file);
  else await img.jpeg({ quality: 90 }).toFile(file);
}

/** A small dataset: <dir>/train with n pairs (h x 2h JPEGs) and <dir>/test with 2. */
export async function makeDataset(dir: string, n: number, h = 128): Promise<string> {
  await Promise.all(Array.from({ length: n }, (_, i) => writePair(join(dir, 'train', `${i + 1}.jpg`), h, i)));
  await Promise.all([0, 1].map((i) => writePair(join(dir, 'test', `${i + 1}.jpg`), h, 100 + i)));
  return dir;
}

export const TINY = ['--g-base', '2', '--e-base', '2', '--d-base', '2', '--workers', '1', '--build', 'simd'];
