// Build the example Worker with an inference weight file and serve it locally in workerd (Miniflare) on
// 127.0.0.1, until Ctrl-C:  npm run example:worker -- <weights.safetensors> [--port 8787]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildWorker, formatBundle } from '../../scripts/build-worker.js';
import { miniflareFor } from '../../bench/lib/miniflare.js';

const args = process.argv.slice(2);
const pi = args.indexOf('--port');
const port = pi >= 0 ? Number(args.splice(pi, 2)[1]) : 8787;
if (args.length !== 1 || !Number.isInteger(port) || port < 0 || port > 65535) {
  console.error('usage: npm run example:worker -- <inference-weights.safetensors> [--port 8787]');
  process.exit(2);
}
const dir = mkdtempSync(join(tmpdir(), 'bicyclegan-worker-'));
const b = await buildWorker({ outDir: dir, weights: args[0] });
console.log(`worker bundle:\n${formatBundle(b)}`);
const mf = await miniflareFor(dir, port);
const url = await mf.ready;
console.log(`serving on ${url} (POST a PNG or JPEG to ${new URL('/?n=4&seed=1', url)}); Ctrl-C stops`);
const stop = async () => {
  await mf.dispose();
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
