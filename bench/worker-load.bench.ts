// The example Worker under load with the full-size pytorch-gan generator (128 px; seeded weights with randomised
// BN statistics, bench/infer-model.ts) in f16 and in int8: the load of bench/lib/worker-load.ts (half good, half
// bad requests in 12 ways, on 127.0.0.1), its latency percentiles, and workerd's peak resident memory against
// the 128 MB a Cloudflare Worker isolate may use. workerd's RSS includes the runtime itself, so the first run
// (a tiny model) is the baseline, and what a model adds over it (its isolate's JS heap, wasm memory and weight
// module) is what the 128 MB applies to.
//   npx tsx bench/worker-load.bench.ts [--total 48] [--concurrency 4]
import { loadCore } from '../src/core/load-node.js';
import { convertWeights, type Storage } from '../src/infer/index.js';
import { fullWeights } from './infer-model.js';
import { workerLoad } from './lib/worker-load.js';
import { smallWeights, testPicture } from '../test/helpers/infer-model.js';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const total = arg('total', 48), concurrency = arg('concurrency', 4);
const core = await loadCore({ build: 'relaxed' });
const full = fullWeights(core, { size: 128 });
const BUDGET = 128 * 1e6;
const rows: string[] = [];
const runs: [string, Uint8Array][] = [
  ['tiny model (workerd baseline), int8', convertWeights(smallWeights(core, 5, ['G']), { storage: 'int8' })],
  ...(['f16', 'int8'] as Storage[]).map((s): [string, Uint8Array] => [`full pytorch-gan G 128 px, ${s}`, convertWeights(full, { storage: s, nets: ['G'] })]),
];
let baseline = 0;
for (const [name, weights] of runs) {
  const r = await workerLoad(weights, testPicture(256, 256, 3), { total, concurrency });
  const ok = r.answers.every((a) => (a.bad ? a.status >= 400 && a.status < 500 : a.status === 200)) && r.afterStatus === 200;
  baseline ||= r.peakBytes;
  const added = r.peakBytes - baseline;
  rows.push(`| ${name} | ${(weights.byteLength / 2 ** 20).toFixed(1)} MiB | ${r.summary.replace(/; workerd peak RSS.*/, '')} | ${(r.peakBytes / 2 ** 20).toFixed(0)} MiB | ` +
    `${baseline === r.peakBytes && added === 0 ? '(baseline)' : `${(added / 2 ** 20).toFixed(0)} MiB, ${added <= BUDGET ? 'inside' : 'OVER'} 128 MB`} | ${ok ? 'yes' : 'NO'} |`);
  console.error(`${name}: ${r.summary}`);
}
console.log('| weights | file | load | workerd peak RSS | over the baseline | every answer right |\n|---|---|---|---|---|---|\n' + rows.join('\n'));
