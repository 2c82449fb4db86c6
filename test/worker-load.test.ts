// The example Worker under load on 127.0.0.1 (workerd via Miniflare, the small test model in int8): 96
// requests, 8 at a time, half good, half bad in 12 ways (wrong method, path, type, query; garbage, truncated,
// oversized, a PNG with a hidden second IHDR, unread bodies). Every good request answers 200 with a PNG, every
// bad one a 4xx with a JSON error, and the Worker still serves afterwards. Bounded in count and time (each
// request 60 s at most). Prints latency percentiles and workerd's peak resident memory.
import { expect, test } from 'vitest';
import { loadCore } from '../src/core/load-node.js';
import { convertWeights } from '../src/infer/index.js';
import { workerLoad } from '../bench/lib/worker-load.js';
import { smallWeights, testPicture } from './helpers/infer-model.js';

const TOTAL = 96, CONCURRENCY = 8;

test('example Worker: concurrent good and bad requests on 127.0.0.1', { timeout: 300_000 }, async () => {
  const core = await loadCore({ build: 'simd' });
  const weights = convertWeights(smallWeights(core, 5, ['G']), { storage: 'int8', chunkFloats: 2048 });
  const r = await workerLoad(weights, testPicture(96, 64, 3), { total: TOTAL, concurrency: CONCURRENCY });
  for (const a of r.answers) {
    if (a.bad) {
      expect({ what: a.what, client: a.status >= 400 && a.status < 500 }).toEqual({ what: a.what, client: true });
      expect(a.type).toMatch(/^application\/json/);
      expect(typeof a.error).toBe('string');
    } else {
      expect({ what: a.what, status: a.status, type: a.type }).toEqual({ what: 'good', status: 200, type: 'image/png' });
    }
  }
  expect(r.answers).toHaveLength(TOTAL);
  expect(r.answers.filter((a) => a.bad).length).toBe(TOTAL / 2);
  expect(r.afterStatus).toBe(200); // still serving
  console.log(`worker load: ${r.summary}`);
});
