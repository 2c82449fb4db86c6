// Training progress: a cli-progress bar (step, img/s, ETA, current losses) on a TTY; plain log lines every
// `logEvery` steps otherwise (CI logs, pipes). Messages, checkpoints and samples are printed as lines.
import cliProgress from 'cli-progress';
import type { TrainEvent } from '../train/trainer.js';

export function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return '?';
  s = Math.round(s);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return h ? `${h}h${String(m).padStart(2, '0')}m` : m ? `${m}m${String(r).padStart(2, '0')}s` : `${r}s`;
}

const lossText = (l: Record<string, number>) => `ge ${l.ge.toFixed(3)} pix ${l.pixel.toFixed(3)} kl ${l.kl.toFixed(3)} lat ${l.latent.toFixed(3)} d_vae ${l.d_vae.toFixed(3)} d_lr ${l.d_lr.toFixed(3)}`;

export function progressReporter(o: { tty: boolean; logEvery: number; out?: NodeJS.WriteStream | { write(s: string): unknown } }): { onEvent: (e: TrainEvent) => void; stop: () => void } {
  const out = o.out ?? process.stderr;
  let bar: cliProgress.SingleBar | null = null;
  const line = (s: string) => {
    if (bar) bar.stop(), (bar = null), pendingRestart = true;
    out.write(s + '\n');
  };
  let pendingRestart = false, last: Extract<TrainEvent, { type: 'step' }> | null = null;
  const startBar = (value: number, total: number) => {
    bar = new cliProgress.SingleBar(
      { format: 'step {value}/{total} [{bar}] {imgs} img/s ETA {etaText} | {losses}', barsize: 20, hideCursor: true, stream: out as NodeJS.WriteStream },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, value, { imgs: '-', etaText: '?', losses: '' });
  };
  return {
    onEvent(e) {
      switch (e.type) {
        case 'start':
          line(`training: ${e.files} pairs, ${e.stepsPerEpoch} steps per epoch, steps ${e.step} -> ${e.total}, engine ${e.engine}${e.resumedFrom ? `, resumed from ${e.resumedFrom}` : ''}`);
          if (o.tty) startBar(e.step, e.total), (pendingRestart = false);
          break;
        case 'step':
          last = e;
          if (o.tty) {
            if (pendingRestart) startBar(e.step, e.total), (pendingRestart = false);
            bar?.update(e.step, { imgs: e.imgPerSec.toFixed(2), etaText: fmtTime(e.etaSec), losses: lossText(e.losses as unknown as Record<string, number>) });
          } else if (e.step % o.logEvery === 0 || e.step === e.total) {
            out.write(`step ${e.step}/${e.total} epoch ${e.epoch} lr ${e.lr.toExponential(2)} ${e.imgPerSec.toFixed(2)} img/s ETA ${fmtTime(e.etaSec)} data-wait ${e.dataWaitMs.toFixed(0)} ms | ${lossText(e.losses as unknown as Record<string, number>)}\n`);
          }
          break;
        case 'checkpoint':
          line(`checkpoint (${e.reason}) step ${e.step}: ${e.path}`);
          break;
        case 'sample':
          line(`samples step ${e.step}: ${e.path}`);
          break;
        case 'recalibrate':
          line(`BatchNorm statistics recalibrated at step ${e.step} over ${e.batches} batches (${e.seconds.toFixed(1)} s)`);
          break;
        case 'message':
          line(e.text);
          break;
      }
      void last;
    },
    stop() {
      if (bar) bar.stop();
      bar = null;
    },
  };
}
