// Stop signals of a training run. The first SIGINT/SIGTERM asks the trainer to stop after the step in flight
// (it writes a checkpoint; exit 130/143). From then on the listeners are gone, so a second signal takes the
// default action and ends the process at once, even while a step or the checkpoint write blocks the main
// thread (a JS listener would run only after it). Two signals that land within the same blocking step both
// reach the listener when it ends: the second then exits at once without the checkpoint.
export interface StopSignals {
  /** aborted on the first signal */
  readonly signal: AbortSignal;
  /** the first signal received, if any */
  readonly received: NodeJS.Signals | null;
  /** remove the listeners (idempotent) */
  dispose(): void;
}

export function stopOnSignals(say: (line: string) => void, exit: (code: number) => never = process.exit): StopSignals {
  const ac = new AbortController();
  let received: NodeJS.Signals | null = null;
  const onSignal = (s: NodeJS.Signals) => {
    if (received) {
      say(`\n${s} again: quitting without a checkpoint`);
      exit(s === 'SIGINT' ? 130 : 143);
    }
    received = s;
    say(`\n${s}: stopping after this step and writing a checkpoint (press Ctrl-C again to quit at once)`);
    // removed after this dispatch round (a second signal already queued behind this one still reaches
    // onSignal above); from then on the default action applies
    setImmediate(dispose);
    ac.abort();
  };
  const dispose = () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: ac.signal,
    get received() {
      return received;
    },
    dispose,
  };
}
