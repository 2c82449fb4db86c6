// Turns (bench/run.ts): the runtimes of one configuration alive together, each in its own process, timed run by
// run. Each process is started and warmed up alone (bench/lib/timing.ts timeTurns, or torch_child.py time_turns,
// answer `@@READY`), then all of them warm up once more in turn (`warm`: each process's first timed run otherwise
// came after the others' start-up, 10 s and more idle, and read slow: ours 53-60 ms against 35-41 at 128 px,
// onnxruntime-web 299 against 186-244, 2026-12-01), then each round asks every process still under the policy for one
// timed run (`run`, answered `@@RUN <ms>`), in an order rotating per round, a short pause apart; `end` asks for the
// child's `@@RESULT <json>`.
// So a slow spell of a shared host falls on all the runtimes of a configuration alike, instead of on whichever
// process happened to be timing its runs then.
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { TURN, type RunPolicy } from './timing.js';

export interface TurnMember<K> { key: K; cmd: string; args: string[]; env: NodeJS.ProcessEnv; cwd?: string }
/** ok: the child's @@RESULT; else why not. `seq`: the order in which the children were started (1, 2, ...). */
export interface TurnOutcome { ok: boolean; res?: unknown; error?: string; seq: number }
export interface TurnOptions {
  /** longest wait for any one answer (set-up and warm-up included) before the child is killed */
  timeoutMs: number;
  /** pause before each turn: a runtime's idle threads spin a little after a run before they block (ours spinMs,
   * OpenMP's spin count, onnxruntime's thread pool); the next runtime's turn should not share the cores with them */
  gapMs: number;
  /** the seq of the first child started here (the caller's running count of child processes) */
  seq0?: number;
}

/** A child process spoken to line by line; `next()` gives its next `@@` line, null once it has exited (then `error`
 * says why) or when no line came within the timeout (it is then killed). */
class TurnChild {
  error = '';
  private readonly p: ChildProcess;
  private readonly lines: string[] = [];
  private waiter: ((l: string | null) => void) | null = null;
  private out = '';
  private err = '';
  private closed = false;
  constructor(m: TurnMember<unknown>) {
    this.p = spawn(m.cmd, m.args, { cwd: m.cwd, env: m.env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.p.stdout!.on('data', (d: Buffer) => {
      this.out += d.toString();
      for (let i = this.out.indexOf('\n'); i >= 0; i = this.out.indexOf('\n')) {
        const l = this.out.slice(0, i);
        this.out = this.out.slice(i + 1);
        if (l.startsWith('@@')) this.push(l);
      }
    });
    this.p.stderr!.on('data', (d: Buffer) => (this.err += d.toString()));
    this.p.stdin!.on('error', () => {}); // writing to a child that died: its exit says why
    this.p.on('error', (e) => { this.error ||= e.message; });
    this.p.on('close', (code, signal) => {
      this.closed = true;
      if (code !== 0) this.error ||= `exit ${code ?? signal}: ${this.err.trim().split('\n').slice(-3).join(' | ').slice(0, 400)}`;
      this.push(null);
    });
  }
  private push(l: string | null): void {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w(l);
    } else if (l !== null) this.lines.push(l);
  }
  next(timeoutMs: number): Promise<string | null> {
    if (this.lines.length) return Promise.resolve(this.lines.shift()!);
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.error ||= `killed after ${timeoutMs / 1000} s without an answer`;
        this.p.kill('SIGKILL');
      }, timeoutMs);
      this.waiter = (l) => {
        clearTimeout(timer);
        resolve(l);
      };
    });
  }
  send(line: string): void {
    if (!this.closed) this.p.stdin!.write(`${line}\n`);
  }
  kill(): void {
    if (!this.closed) this.p.kill('SIGKILL');
  }
}

/** a, its first k entries moved to the end (each round's order of turns; bench/run.ts's order of configurations) */
export const rotate = <T>(a: T[], k: number) => a.map((_, i) => a[(i + k) % a.length]);

/** Runs the members' turns under the policy: each round one run of every member with fewer than minRuns runs, or
 * fewer than maxRuns within budgetMs of its own run time. Returns each member's outcome by key. */
export async function turns<K>(members: TurnMember<K>[], p: RunPolicy, o: TurnOptions): Promise<Map<K, TurnOutcome>> {
  const res = new Map<K, TurnOutcome>();
  const live: { key: K; c: TurnChild; seq: number; runs: number; spent: number }[] = [];
  const fail = (key: K, c: TurnChild, seq: number, why: string) => {
    c.kill();
    res.set(key, { ok: false, error: c.error || why, seq });
  };
  let seq = o.seq0 ?? 1;
  for (const m of members) {
    const c = new TurnChild(m), s = seq++;
    const l = await c.next(o.timeoutMs);
    if (l === TURN.ready) live.push({ key: m.key, c, seq: s, runs: 0, spent: 0 });
    else fail(m.key, c, s, `no ${TURN.ready}: ${l ?? 'exited'}`);
  }
  for (const x of live) {
    await sleep(o.gapMs);
    x.c.send(TURN.warm);
    const l = await x.c.next(o.timeoutMs);
    if (!l?.startsWith(TURN.ran)) fail(x.key, x.c, x.seq, `no ${TURN.ran.trim()} answer to ${TURN.warm}: ${l ?? 'exited'}`);
  }
  const wants = (x: (typeof live)[number]) => !res.has(x.key) && (x.runs < p.minRuns || (x.runs < p.maxRuns && x.spent < p.budgetMs));
  for (let round = 0; live.some(wants); round++) {
    for (const x of rotate(live, round % live.length)) {
      if (!wants(x)) continue;
      await sleep(o.gapMs);
      x.c.send(TURN.run);
      const l = await x.c.next(o.timeoutMs);
      if (l?.startsWith(TURN.ran)) {
        x.runs++;
        x.spent += Number(l.slice(TURN.ran.length));
      } else fail(x.key, x.c, x.seq, `no ${TURN.ran.trim()} answer: ${l ?? 'exited'}`);
    }
  }
  for (const x of live) {
    if (res.has(x.key)) continue;
    x.c.send(TURN.end);
    const l = await x.c.next(o.timeoutMs);
    if (l?.startsWith('@@RESULT ')) res.set(x.key, { ok: true, res: JSON.parse(l.slice(9)) as unknown, seq: x.seq });
    else fail(x.key, x.c, x.seq, `no @@RESULT: ${l ?? 'exited'}`);
  }
  return res;
}
