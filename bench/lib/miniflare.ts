// Miniflare (workerd) serving a Worker bundle folder on 127.0.0.1: the runtime tests and the Worker load bench.
import { join } from 'node:path';
import type { Miniflare } from 'miniflare';

/** Miniflare running `<dir>/worker.mjs` (wasm modules compiled, .safetensors as Data) on 127.0.0.1 (port 0: any). */
export async function miniflareFor(dir: string, port = 0): Promise<Miniflare> {
  const { Miniflare } = await import('miniflare');
  return new Miniflare({
    modules: true,
    scriptPath: join(dir, 'worker.mjs'),
    modulesRoot: dir,
    modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }, { type: 'Data', include: ['**/*.safetensors'] }],
    compatibilityDate: '2026-04-01',
    cf: false,
    host: '127.0.0.1',
    port,
  });
}
