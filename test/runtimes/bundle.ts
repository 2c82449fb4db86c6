// esbuild bundles of the runtime probe: one ESM file for Deno/Bun (node:fs allowed) and one for the browser.
import { join } from 'node:path';
import { build } from 'esbuild';

const here = new URL('.', import.meta.url).pathname;

export async function bundleProbes(outDir: string): Promise<{ cli: string; browser: string }> {
  const cli = join(outDir, 'cli-entry.mjs'), browser = join(outDir, 'browser-entry.mjs');
  await build({ entryPoints: [join(here, 'cli-entry.ts')], outfile: cli, bundle: true, format: 'esm', platform: 'node', target: 'es2022', logLevel: 'error' });
  await build({ entryPoints: [join(here, 'browser-entry.ts')], outfile: browser, bundle: true, format: 'esm', platform: 'browser', target: 'es2022', logLevel: 'error' });
  return { cli, browser };
}
