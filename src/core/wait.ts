// Waiting for another thread's store to a slot of a shared Int32Array: spin first, then sleep in Atomics.wait.
// Measured on the 2-vCPU KVM machine of bench/RESULTS.md: a wake from Atomics.wait takes about 0.5 ms, paid by
// every rank that finished its share of a layer first. Generator 128 px on 2 threads: 39 ms a run with a
// 4000-iteration spin (a few microseconds), 28.4 ms spinning up to SPIN_MS. A layer's imbalance is far shorter
// than SPIN_MS, so within a run nobody sleeps; an idle thread sleeps once SPIN_MS is over (CPU it burns: at
// most SPIN_MS per wait). The worker script of src/infer/threads.ts is a string and carries its own copy.

/** Milliseconds a waiting thread spins before it sleeps. */
export const SPIN_MS = 2;

/**
 * Return once ctl[slot] no longer holds v, or stop() says so (checked while spinning and after each sleep).
 * `block`: whether this thread may sleep in Atomics.wait (not a page's main thread: it spins on).
 */
export function waitWhile(ctl: Int32Array, slot: number, v: number, block = true, stop: () => boolean = () => false): void {
  const end = performance.now() + SPIN_MS;
  for (let n = 1; Atomics.load(ctl, slot) === v; n++) if ((n & 255) === 0 && performance.now() > end) break;
  while (Atomics.load(ctl, slot) === v && !stop()) if (block) Atomics.wait(ctl, slot, v, 1000);
}
