// Machine and version facts for the report: CPU, cores, memory, Node/V8, versions of the npm anchors.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import type { Machine } from './report.js';

export function machine(): Machine {
  let cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const field = (k: string) => info.match(new RegExp(`^${k}\\s*:\\s*(.*)$`, 'm'))?.[1]?.trim();
    const flags = field('flags') ?? '';
    const simd = flags.includes('avx512f') ? 'AVX-512' : flags.includes('avx2') ? 'AVX2' : 'no AVX2';
    cpu = `${field('model name') ?? cpu} (family ${field('cpu family')}, model ${field('model')}, ${simd}${flags.includes('hypervisor') ? ', virtualised' : ''})`;
  } catch {
    // not Linux: os.cpus() only
  }
  return {
    cpu,
    cores: typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length,
    memoryGB: os.totalmem() / 2 ** 30,
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    v8: process.versions.v8,
  };
}

/** Installed version of an npm package, or null when it is not installed. */
export function npmVersion(pkg: string): string | null {
  try {
    const require = createRequire(import.meta.url);
    const path = require.resolve(`${pkg}/package.json`);
    return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
  } catch {
    return null;
  }
}
