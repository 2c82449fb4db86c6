// Machine facts for the report: CPU (model, family, SIMD level), cores, memory, Node/V8.
import { readFileSync } from 'node:fs';
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
