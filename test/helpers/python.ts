// Finds a Python interpreter with PyTorch (Debian's python3-torch), for the tests that talk to PyTorch.
// `python3` on PATH may be a pyenv shim without torch, so /usr/bin/python3 is tried as well.
import { spawnSync } from 'node:child_process';

let cached: string | null | undefined;
export function torchPython(): string | null {
  if (cached !== undefined) return cached;
  cached = null;
  for (const py of ['python3', '/usr/bin/python3']) {
    const r = spawnSync(py, ['-c', 'import torch'], { encoding: 'utf8' });
    if (r.status === 0) {
      cached = py;
      break;
    }
  }
  if (!cached) console.warn('skipping PyTorch interop tests: no python3 with torch (apt-get install python3-torch)');
  return cached;
}

export function runPython(args: string[], timeoutMs = 120_000): string {
  const py = torchPython();
  if (!py) throw new Error('no python3 with torch');
  const r = spawnSync(py, args, { encoding: 'utf8', timeout: timeoutMs });
  if (r.status !== 0) throw new Error(`${py} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}
