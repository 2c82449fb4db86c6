// Waiting for another thread's store to a slot of a shared Int32Array: spin first, then sleep in Atomics.wait.
// Measured on the 2-vCPU KVM machine of bench/RESULTS.md: a wake from Atomics.wait takes about 0.5 ms, paid by
// every rank that finished its share of a layer first. Generator 128 px on 2 threads: 39 ms a run with a
// 4000-iteration spin (a few microseconds), 28.4 ms spinning up to SPIN_MS. A layer's imbalance is far shorter
// than SPIN_MS, so within a run nobody sleeps; an idle thread sleeps once SPIN_MS is over (CPU it burns: at
// most SPIN_MS per wait). With more threads than cores a spinning thread would hold a core another one needs:
// spinFor() gives 0 there (a few hundred loads, then sleep, as before). The worker script of
// src/infer/threads.ts is a string and carries its own copy of the spin. Runtime-agnostic (no node: imports).

/** Milliseconds a waiting thread spins before it sleeps. */
export const SPIN_MS = 2;

/** Hardware threads of this machine: navigator.hardwareConcurrency, or Node's os.availableParallelism(), or
 * Infinity where neither says. */
export function hardwareThreads(): number {
  const g = globalThis as { navigator?: { hardwareConcurrency?: number }; process?: { getBuiltinModule?: (id: string) => unknown } };
  const n = g.navigator?.hardwareConcurrency;
  if (typeof n === 'number' && n > 0) return n;
  try {
    const os = g.process?.getBuiltinModule?.('node:os') as { availableParallelism?: () => number } | undefined;
    const m = os?.availableParallelism?.();
    if (typeof m === 'number' && m > 0) return m;
  } catch {
    // no way to ask
  }
  return Infinity;
}

/** The spin for `threads` threads waiting on each other: SPIN_MS while each can have a core, else 0. */
export function spinFor(threads: number): number {
  return threads <= hardwareThreads() ? SPIN_MS : 0;
}

/**
 * Return once ctl[slot] no longer holds v, or stop() says so (checked while spinning and after each sleep).
 * `block`: whether this thread may sleep in Atomics.wait (not a page's main thread: it spins on). `spinMs`: how
 * long to spin first (spinFor).
 */
export function waitWhile(ctl: Int32Array, slot: number, v: number, block = true, stop: () => boolean = () => false, spinMs = SPIN_MS): void {
  const end = performance.now() + spinMs;
  for (let n = 1; Atomics.load(ctl, slot) === v; n++) if ((n & 255) === 0 && performance.now() > end) break;
  while (Atomics.load(ctl, slot) === v && !stop()) if (block) Atomics.wait(ctl, slot, v, 1000);
}
