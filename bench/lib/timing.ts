// Shared timing helpers of the benchmarks: medians, warm-up, and a repetition policy bounded by a time budget.
// Every benchmark child process times with timeRuns(); its figures are medians of the timed runs.

export const median = (a: readonly number[]): number => {
  if (a.length === 0) return NaN;
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

export interface RunPolicy {
  /** warm-up runs before timing (one only when a single run already takes longer than slowRunMs) */
  warmup: number;
  /** timed runs: at least minRuns, at most maxRuns, and no new run once budgetMs of timed runs have passed */
  minRuns: number;
  maxRuns: number;
  budgetMs: number;
  slowRunMs: number;
}

export const FULL_POLICY: RunPolicy = { warmup: 2, minRuns: 3, maxRuns: 7, budgetMs: 20_000, slowRunMs: 3_000 };
export const QUICK_POLICY: RunPolicy = { warmup: 1, minRuns: 3, maxRuns: 3, budgetMs: 5_000, slowRunMs: 3_000 };

export interface Timing {
  /** median milliseconds per run */
  medianMs: number;
  minMs: number;
  maxMs: number;
  /** every timed run, in order */
  runsMs: number[];
  warmupMs: number[];
  /** CPU time (user + system, all threads of the process) over the timed runs, ms: cpuMs / sum(runsMs) is the
   *  number of cores the process really had busy (below the thread count: it waited for a core, or idled) */
  cpuMs: number;
}

/** The policy's warm-up runs of fn (one only when a run already takes longer than slowRunMs: a slow run is warm
 * after one pass; the time goes to timed runs); returns their times. */
async function warmUp(fn: () => unknown, p: RunPolicy): Promise<number[]> {
  const warmupMs: number[] = [];
  for (let i = 0; i < Math.max(1, p.warmup); i++) {
    const t0 = performance.now();
    await fn();
    warmupMs.push(performance.now() - t0);
    if (warmupMs[i] > p.slowRunMs) break;
  }
  return warmupMs;
}

/** The Timing of these runs. */
function timingOf(runsMs: number[], warmupMs: number[], cpuMs: number): Timing {
  return { medianMs: median(runsMs), minMs: Math.min(...runsMs), maxMs: Math.max(...runsMs), runsMs, warmupMs, cpuMs };
}

/** Time fn (sync or async) under the policy: warm-up, then timed runs; returns the median and every run. */
export async function timeRuns(fn: () => unknown, p: RunPolicy): Promise<Timing> {
  const warmupMs = await warmUp(fn, p);
  const runsMs: number[] = [];
  let spent = 0;
  const c0 = process.cpuUsage();
  while (runsMs.length < p.maxRuns && (runsMs.length < p.minRuns || spent < p.budgetMs)) {
    const t0 = performance.now();
    await fn();
    const dt = performance.now() - t0;
    runsMs.push(dt);
    spent += dt;
  }
  const c = process.cpuUsage(c0);
  return timingOf(runsMs, warmupMs, (c.user + c.system) / 1000);
}

/** Deterministic pseudo-random floats in [-1, 1) (LCG), for inputs whose values do not matter to the timing. */
export function lcgFill(out: Float32Array, seed: number): Float32Array {
  let a = seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    a = (a * 1664525 + 1013904223) >>> 0;
    out[i] = (a / 2 ** 32) * 2 - 1;
  }
  return out;
}

/** The lines a turn-taking child exchanges with bench/run.ts on stdin / stdout. */
export const TURN = { ready: '@@READY', warm: 'warm', run: 'run', ran: '@@RUN ', end: 'end' } as const;

/**
 * Turns: the warm-up as in timeRuns, then `@@READY`; from there one timed run per `run` line read from `lines`,
 * each answered with `@@RUN <ms>`, until `end`; a `warm` line is one more warm-up run, answered alike. bench/run.ts
 * keeps every runtime of a configuration alive in its own process and has them take turns run by run (order
 * rotating per round), so a slow spell of a shared host falls on all of them alike instead of on whichever process
 * happened to be timing (one such spell took our batch-4 step from 2.21 to 2.75 s halfway through its runs,
 * 2026-12-01). cpuMs sums the runs only, not the waits between turns.
 */
export async function timeTurns(fn: () => unknown, p: RunPolicy, lines: AsyncIterable<string>, write: (s: string) => void): Promise<Timing> {
  const warmupMs = await warmUp(fn, p);
  write(`${TURN.ready}\n`);
  const runsMs: number[] = [];
  let cpuMs = 0;
  for await (const line of lines) {
    const cmd = line.trim();
    if (cmd === TURN.end) break;
    if (cmd !== TURN.run && cmd !== TURN.warm) throw new Error(`turns: unexpected line ${JSON.stringify(line)}`);
    const c0 = process.cpuUsage(), t0 = performance.now();
    await fn();
    const dt = performance.now() - t0, c = process.cpuUsage(c0);
    if (cmd === TURN.warm) warmupMs.push(dt);
    else {
      runsMs.push(dt);
      cpuMs += (c.user + c.system) / 1000;
    }
    write(`${TURN.ran}${dt}\n`);
  }
  if (runsMs.length === 0) throw new Error('turns: ended before any timed run');
  return timingOf(runsMs, warmupMs, cpuMs);
}
