// The long fuzz run: `npm run fuzz -- --cases 100000 [--seed 1] [--only checkpoint,images]`. The cases are
// split evenly over the targets of scripts/fuzz-targets.ts; prints one line per target (cases, accepts,
// rejections, crashes, slowest case, peak RSS) and exits 1 if anything crashed, printing the first crashing
// case of each target. Deterministic for a given --seed.
import { parseArgs } from 'node:util';
import { fuzz, makeTargets, type FuzzStats } from './fuzz-targets.js';

const { values } = parseArgs({ options: { cases: { type: 'string', default: '10000' }, seed: { type: 'string', default: '1' }, only: { type: 'string' } } });
const cases = Number(values.cases), seed = Number(values.seed);
if (!Number.isSafeInteger(cases) || cases < 1) throw new Error(`--cases must be a whole number >= 1, got ${values.cases}`);
if (!Number.isSafeInteger(seed)) throw new Error(`--seed must be a whole number, got ${values.seed}`);
const only = values.only?.split(',');
const targets = (await makeTargets()).filter((t) => !only || only.includes(t.name));
if (!targets.length) throw new Error(`--only: no such target (targets: safetensors, checkpoint, weights, images, config)`);

const per = Math.ceil(cases / targets.length);
const all: FuzzStats[] = [];
let peakRss = process.memoryUsage().rss;
const t0 = performance.now();
for (const [i, t] of targets.entries()) {
  // in chunks, so memory is sampled during the run
  const s: FuzzStats = { target: t.name, cases: 0, accepts: 0, rejects: 0, crashes: 0, maxMs: 0 };
  for (let done = 0, k = 0; done < per; k++) {
    const n = Math.min(2000, per - done);
    const r = fuzz(t, n, seed * 1000 + i * 100 + k);
    s.cases += r.cases, s.accepts += r.accepts, s.rejects += r.rejects, s.crashes += r.crashes, (s.maxMs = Math.max(s.maxMs, r.maxMs));
    s.firstCrash ??= r.firstCrash;
    done += n;
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }
  all.push(s);
  console.log(`${t.name.padEnd(12)} cases ${s.cases}  accepts ${s.accepts}  rejections ${s.rejects}  crashes ${s.crashes}  slowest ${s.maxMs.toFixed(0)} ms`);
  if (s.firstCrash) console.log(`  first crash: ${s.firstCrash.message}\n  case: ${s.firstCrash.counterexample}`);
}
const sum = (k: 'cases' | 'accepts' | 'rejects' | 'crashes') => all.reduce((a, s) => a + s[k], 0);
console.log(`total        cases ${sum('cases')}  accepts ${sum('accepts')}  rejections ${sum('rejects')}  crashes ${sum('crashes')}  in ${((performance.now() - t0) / 1000).toFixed(0)} s, peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB`);
process.exitCode = sum('crashes') ? 1 : 0;
