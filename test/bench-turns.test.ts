// The benchmark's turn taking (bench/lib/turns.ts with the child side bench/lib/timing.ts timeTurns): the runtimes
// of a configuration, each in its own process, timed run by run in rotating order under the run policy. No timing
// is asserted: the children below report the run times they are told to.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { timeTurns, TURN, type RunPolicy } from '../bench/lib/timing.js';
import { turns } from '../bench/lib/turns.js';

async function* linesOf(a: string[]): AsyncIterable<string> {
  for (const l of a) yield l;
}

describe('timeTurns (the child side)', () => {
  const p: RunPolicy = { warmup: 2, minRuns: 1, maxRuns: 9, budgetMs: 1e9, slowRunMs: 1e9 };
  it('warms up, says @@READY, then times one run per `run` line until `end`', async () => {
    const said: string[] = [];
    let calls = 0;
    const t = await timeTurns(() => { calls++; said.push(`call ${calls}`); }, p, linesOf(['warm', 'run', 'run', 'run', 'end', 'run']), (s) => said.push(s.trim()));
    expect(said.slice(0, 3)).toEqual(['call 1', 'call 2', TURN.ready]);
    expect(said.filter((s) => s.startsWith(TURN.ran))).toHaveLength(4); // the `warm` line is answered too
    expect(calls).toBe(6); // 2 warm-ups + 1 more on `warm` + 3 runs; nothing after `end`
    expect(t.runsMs).toHaveLength(3);
    expect(t.warmupMs).toHaveLength(3);
    expect(t.medianMs).toBeGreaterThanOrEqual(0);
  });
  it('rejects an unknown line and an end before any run', async () => {
    await expect(timeTurns(() => undefined, p, linesOf(['go']), () => {})).rejects.toThrow(/unexpected line "go"/);
    await expect(timeTurns(() => undefined, p, linesOf(['end']), () => {})).rejects.toThrow(/before any timed run/);
  });
});

describe('turns (the parent side)', () => {
  const dir = mkdtempSync(join(os.tmpdir(), 'bench-turns-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // a child that claims each run took `ms` and logs its turns to `log`; `die`: exits at its n-th run
  const script = join(dir, 'child.mjs');
  writeFileSync(script, `
import { appendFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
const [name, ms, log, die] = process.argv.slice(2);
process.stdout.write('noise before the protocol\\n@@READY\\n');
let n = 0;
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'end') { process.stdout.write('@@RESULT ' + JSON.stringify({ name, runs: n }) + '\\n'); break; }
  if (line === 'warm') { appendFileSync(log, name + ' warm\\n'); process.stdout.write('@@RUN ' + ms + '\\n'); continue; }
  n++;
  if (String(n) === die) { process.stderr.write(name + ' died at run ' + n + '\\n'); process.exit(3); }
  appendFileSync(log, name + '\\n');
  process.stdout.write('@@RUN ' + ms + '\\n');
}
`);
  const member = (name: string, ms: number, log: string, die = '') =>
    ({ key: name, cmd: process.execPath, args: [script, name, String(ms), log, die], env: process.env });

  it('warms every member up once in turn, then interleaves the runs in rotating order and stops each member by its own runs and budget', async () => {
    const log = join(dir, 'a.log');
    writeFileSync(log, '');
    const out = await turns([member('a', 10, log), member('b', 30, log)], { warmup: 1, minRuns: 2, maxRuns: 4, budgetMs: 50, slowRunMs: 1e9 }, { timeoutMs: 20_000, gapMs: 1 });
    // b: 2 runs (60 ms >= the budget after its minimum); a: 4 (its maximum, 40 ms < 50)
    expect(readFileSync(log, 'utf8').trim().split('\n')).toEqual(['a warm', 'b warm', 'a', 'b', 'b', 'a', 'a', 'a']);
    expect(out.get('a')).toMatchObject({ ok: true, res: { name: 'a', runs: 4 }, seq: 1 });
    expect(out.get('b')).toMatchObject({ ok: true, res: { name: 'b', runs: 2 }, seq: 2 });
  }, 30_000);

  it('a child that dies mid-way fails with its exit and stderr; the others go on', async () => {
    const log = join(dir, 'b.log');
    writeFileSync(log, '');
    const out = await turns([member('a', 1, log), member('x', 1, log, '2'), member('c', 1, log)], { warmup: 1, minRuns: 3, maxRuns: 3, budgetMs: 0, slowRunMs: 1e9 }, { timeoutMs: 20_000, gapMs: 1, seq0: 7 });
    expect(out.get('x')).toMatchObject({ ok: false, seq: 8 });
    expect(out.get('x')!.error).toMatch(/exit 3: x died at run 2/);
    expect(out.get('a')).toMatchObject({ ok: true, res: { runs: 3 }, seq: 7 });
    expect(out.get('c')).toMatchObject({ ok: true, res: { runs: 3 }, seq: 9 });
    expect(readFileSync(log, 'utf8').trim().split('\n').filter((l) => l === 'x')).toHaveLength(1);
  }, 30_000);

  it('a child that never says @@READY fails without being timed', async () => {
    const out = await turns([{ key: 'z', cmd: process.execPath, args: ['-e', 'process.stderr.write("no model file\\n"); process.exit(2)'], env: process.env }], { warmup: 1, minRuns: 1, maxRuns: 1, budgetMs: 0, slowRunMs: 1e9 }, { timeoutMs: 20_000, gapMs: 1 });
    expect(out.get('z')).toMatchObject({ ok: false });
    expect(out.get('z')!.error).toMatch(/exit 2: no model file/);
  }, 30_000);
});
