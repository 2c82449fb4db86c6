// The example page: draw or upload an edge map (or label map), get N outputs for random codes z, and walk z
// between two codes with a slider. The model runs in a module Web Worker (src/worker.ts).
const $ = <E extends HTMLElement>(id: string) => document.getElementById(id) as E;
const pad = $<HTMLCanvasElement>('pad');
const ctx = pad.getContext('2d', { willReadFrequently: true })!;
const status = $<HTMLSpanElement>('status');
const outputs = $<HTMLDivElement>('outputs');
const walkOut = $<HTMLCanvasElement>('walk-out');
const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
type RGBA = { width: number; height: number; data: Uint8ClampedArray };
let nextId = 0;
const pending = new Map<number, (images: RGBA[]) => void>();

function ask(msg: Record<string, unknown>): Promise<RGBA[]> {
  const id = ++nextId;
  return new Promise((resolve) => {
    pending.set(id, resolve);
    worker.postMessage({ ...msg, id });
  });
}
worker.onmessage = (e: MessageEvent) => {
  const m = e.data;
  if (m.type === 'ready') {
    status.textContent = `model ready: ${m.size}x${m.size}, ${m.build} build${m.encoder ? ', with encoder' : ''}, ${m.threads} thread${m.threads === 1 ? '' : 's'}`;
    document.body.dataset.ready = '1';
  } else if (m.type === 'images') pending.get(m.id)?.(m.images), pending.delete(m.id);
  else if (m.type === 'error') {
    status.textContent = `error: ${m.message}`;
    document.body.dataset.error = m.message;
    pending.delete(m.id);
  }
};

function clearPad(): void {
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, pad.width, pad.height);
}
clearPad();
let drawing = false;
pad.addEventListener('pointerdown', (e) => {
  drawing = true;
  ctx.beginPath();
  ctx.moveTo(e.offsetX, e.offsetY);
});
pad.addEventListener('pointermove', (e) => {
  if (!drawing) return;
  ctx.lineWidth = 3;
  ctx.lineCap = 'round';
  ctx.strokeStyle = '#000';
  ctx.lineTo(e.offsetX, e.offsetY);
  ctx.stroke();
});
addEventListener('pointerup', () => (drawing = false));
$('clear').addEventListener('click', clearPad);
$<HTMLInputElement>('upload').addEventListener('change', async (e) => {
  const file = (e.target as HTMLInputElement).files?.[0];
  if (!file) return;
  const bmp = await createImageBitmap(file);
  clearPad();
  // centre-crop to a square, as the model is square
  const s = Math.min(bmp.width, bmp.height);
  ctx.drawImage(bmp, (bmp.width - s) / 2, (bmp.height - s) / 2, s, s, 0, 0, pad.width, pad.height);
  void generate();
});

function input(): RGBA {
  const d = ctx.getImageData(0, 0, pad.width, pad.height);
  return { width: d.width, height: d.height, data: d.data };
}
function show(canvas: HTMLCanvasElement, img: RGBA): void {
  canvas.width = img.width;
  canvas.height = img.height;
  canvas.getContext('2d')!.putImageData(new ImageData(new Uint8ClampedArray(img.data), img.width, img.height), 0, 0);
}

async function generate(): Promise<void> {
  const n = Number($<HTMLInputElement>('n').value), seed = Number($<HTMLInputElement>('seed').value);
  status.textContent = 'sampling...';
  const t0 = performance.now();
  const images = await ask({ type: 'sample', image: input(), n, seed });
  outputs.replaceChildren(...images.map((img) => {
    const c = document.createElement('canvas');
    c.className = 'out';
    show(c, img);
    return c;
  }));
  status.textContent = `${images.length} samples in ${Math.round(performance.now() - t0)} ms`;
  document.body.dataset.samples = String(Number(document.body.dataset.samples ?? 0) + 1);
  await walk();
}
async function walk(): Promise<void> {
  const t = Number($<HTMLInputElement>('t').value) / 100, seed = Number($<HTMLInputElement>('seed').value);
  const [img] = await ask({ type: 'walk', image: input(), seed, t });
  if (img) show(walkOut, img);
  document.body.dataset.walks = String(Number(document.body.dataset.walks ?? 0) + 1);
}
$('generate').addEventListener('click', () => void generate());
$('t').addEventListener('input', () => void walk());

const weights = await (await fetch('weights.safetensors')).arrayBuffer();
worker.postMessage({ type: 'init', weights, wasmPaths: new URL('./', location.href).href }, [weights]);

// ---- the training tab ----
const params = new URLSearchParams(location.search);
const trainSection = $('train'), sampleSection = $('sample');
$('tab-train').addEventListener('click', () => ((trainSection.hidden = false), (sampleSection.hidden = true)));
$('tab-sample').addEventListener('click', () => ((trainSection.hidden = true), (sampleSection.hidden = false)));
const trainStatus = $<HTMLSpanElement>('train-status');
let trainer: Worker | null = null;
$('train-start').addEventListener('click', async () => {
  if (trainer) return;
  trainStatus.textContent = 'loading the demo pairs...';
  const index = (await (await fetch('data/index.json')).json()) as { train: string[]; test: string[] };
  const get = async (f: string) => (await fetch(`data/${f}`)).arrayBuffer();
  const pairs = await Promise.all(index.train.map(get)), tests = await Promise.all(index.test.map(get));
  trainer = new Worker(new URL('./train-worker.js', import.meta.url), { type: 'module' });
  const grid = $<HTMLDivElement>('train-grid');
  trainer.onmessage = (e: MessageEvent) => {
    const m = e.data;
    if (m.type === 'step') {
      const l = m.losses as Record<string, number>;
      trainStatus.textContent = `step ${m.step}, ${m.imgPerS.toFixed(1)} img/s, G ${l.ge?.toFixed(3)} pixel ${l.pixel?.toFixed(3)}`;
      document.body.dataset.trainSteps = String(m.step);
    } else if (m.type === 'grid') {
      grid.style.gridTemplateColumns = `repeat(${m.cols}, 132px)`;
      grid.replaceChildren(...(m.images as RGBA[]).map((img) => {
        const c = document.createElement('canvas');
        show(c, img);
        return c;
      }));
      document.body.dataset.trainGrids = String(Number(document.body.dataset.trainGrids ?? 0) + 1);
    } else if (m.type === 'error') {
      trainStatus.textContent = `error: ${m.message}`;
      document.body.dataset.error = m.message;
    }
  };
  // ?widths=&batch=&refresh= for quick runs (the test uses tiny widths)
  const num = (k: string, d: number) => Number(params.get(k) ?? d);
  trainer.postMessage({ type: 'start', pairs, tests, widths: num('widths', 16), batch: num('batch', 4), refresh: num('refresh', 10), seed: 1, wasmPaths: new URL('./', location.href).href }, [...pairs, ...tests]);
  trainStatus.textContent = 'training...';
});
$('train-stop').addEventListener('click', () => {
  trainer?.postMessage({ type: 'stop' });
  trainer = null;
});
