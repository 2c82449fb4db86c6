// Example Cloudflare Worker: POST a PNG or JPEG (Content-Type image/png or image/jpeg) to /?n=4&seed=1 and get
// back a PNG grid of n BicycleGAN samples of it (model size each; a non-square image is centre-cropped, said in
// the x-note header). Every bad request is a 4xx with a JSON body
// {"error": "..."}; nothing a client sends makes it answer 500 or crash.
//   405 wrong method, 415 wrong or missing content type, 413 body or image too large, 400 undecodable image,
//   bad n / seed (n in 1..MAX_N, seed an integer in 0..2^32-1), 404 other paths.
// The core is imported as a precompiled WebAssembly.Module (Workers cannot compile wasm from bytes) and the
// weights (an inference file from `bicyclegan convert`, f16 or int8 to fit 128 MB) as a Data module.
// A module Worker may export only handlers, so the limits below are plain constants.
import coreModule from './core.wasm';
import weightsData from './weights.safetensors';
import { BicycleGANInference, crop, decodeImage, encodePng, grid, ImageError, type RGBAImage } from '../../../src/infer/index.js';

const MAX_BODY_BYTES = 4 * 2 ** 20;
const MAX_N = 16;
/** decoded images up to 2048x2048 (16 MiB of RGBA): the decode must fit beside the weights in 128 MB */
const MAX_PIXELS = 2048 * 2048;
/** wasm memory budget (MiB), asserted by the core; the weights live outside it, in the Data module */
const WASM_BUDGET_MB = 48;
const TYPES = ['image/png', 'image/jpeg'];

let model: Promise<BicycleGANInference> | null = null;
function getModel(): Promise<BicycleGANInference> {
  model ??= BicycleGANInference.create({ module: coreModule, build: 'relaxed', weights: new Uint8Array(weightsData), maxMemoryMB: WASM_BUDGET_MB });
  model.catch(() => (model = null));
  return model;
}

class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers } });

function intParam(url: URL, name: string, def: number, lo: number, hi: number): number {
  const s = url.searchParams.get(name);
  if (s === null || s === '') return def;
  if (!/^\d{1,10}$/.test(s)) throw new HttpError(400, `${name} must be an integer in ${lo}..${hi}, got ${JSON.stringify(s.slice(0, 40))}`);
  const v = Number(s);
  if (v < lo || v > hi) throw new HttpError(400, `${name} must be an integer in ${lo}..${hi}, got ${v}`);
  return v;
}

/** Read and drop up to DRAIN_BYTES more of a refused body, so the client gets to read the 413 instead of a
 * connection reset mid-upload; past that the connection is dropped. */
const DRAIN_BYTES = 16 * 2 ** 20;
async function drain(reader: ReadableStreamDefaultReader<Uint8Array>, seen: number): Promise<void> {
  try {
    while (seen <= DRAIN_BYTES) {
      const { done, value } = await reader.read();
      if (done) return;
      seen += value.byteLength;
    }
    await reader.cancel();
  } catch {
    // the client went away: nothing to answer
  }
}

/** The body, refusing more than `limit` bytes whether or not Content-Length is sent (or honest). */
async function readBody(req: Request, limit: number): Promise<Uint8Array> {
  const declared = req.headers.get('content-length');
  if (!req.body) throw new HttpError(400, 'empty body: send the image bytes');
  const reader = req.body.getReader();
  if (declared !== null && Number(declared) > limit) {
    await drain(reader, 0);
    throw new HttpError(413, `body is ${declared} bytes; the limit is ${limit}`);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    let r: ReadableStreamReadResult<Uint8Array>;
    try {
      r = await reader.read();
    } catch (e) {
      // a malformed body (bad chunked encoding, a client that hung up): the client's fault, not ours
      throw new HttpError(400, `cannot read the request body: ${(e as Error)?.message ?? String(e)}`);
    }
    const { done, value } = r;
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await drain(reader, total);
      throw new HttpError(413, `body is over the ${limit}-byte limit`);
    }
    chunks.push(value);
  }
  if (total === 0) throw new HttpError(400, 'empty body: send the image bytes');
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.byteLength;
  }
  return out;
}

async function handle(req: Request): Promise<Response> {
  const url = new URL(req.url);
  if (url.pathname !== '/') throw new HttpError(404, `no route ${url.pathname}; POST an image to /?n=4&seed=1`);
  if (req.method !== 'POST') throw new HttpError(405, `method ${req.method} not allowed; POST a PNG or JPEG to /?n=4&seed=1`, { allow: 'POST' });
  const type = (req.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
  if (!TYPES.includes(type)) throw new HttpError(415, `content type ${JSON.stringify(type || '(none)')} not supported; send ${TYPES.join(' or ')}`);
  const n = intParam(url, 'n', 4, 1, MAX_N);
  const seed = intParam(url, 'seed', 0, 0, 0xffffffff);
  const body = await readBody(req, MAX_BODY_BYTES);
  let img;
  try {
    img = decodeImage(body, { maxPixels: MAX_PIXELS, name: 'the uploaded image' });
  } catch (e) {
    if (e instanceof ImageError) throw new HttpError(/at most/.test(e.message) ? 413 : 400, e.message);
    throw new HttpError(400, `cannot decode the image: ${(e as Error).message}`);
  }
  const m = await getModel();
  const { square, note } = centreSquare(img);
  const { images } = m.sample(square, { n, seed });
  const headers: Record<string, string> = { 'content-type': 'image/png', 'x-samples': String(n), 'x-seed': String(seed), 'x-model-size': String(m.size), 'x-weights': m.storage };
  if (note) headers['x-note'] = note;
  return new Response(encodePng(grid(images)) as Uint8Array<ArrayBuffer>, { headers });
}

/** The model takes square inputs: a non-square upload is centre-cropped to its shorter side (said in x-note)
 * rather than squashed. */
function centreSquare(img: RGBAImage): { square: RGBAImage; note: string | null } {
  if (img.width === img.height) return { square: img, note: null };
  const s = Math.min(img.width, img.height);
  const x0 = (img.width - s) >> 1, y0 = (img.height - s) >> 1;
  return { square: crop(img, x0, y0, s, s), note: `centre-cropped ${img.width}x${img.height} to ${s}x${s} at (${x0}, ${y0}): the model takes square images` };
}

export default {
  async fetch(req: Request): Promise<Response> {
    try {
      return await handle(req);
    } catch (e) {
      // a body nobody read (refused by path, method, type or query before reading it) is drained, bounded:
      // left unread, the runtime may answer the client with a 503 of its own instead of this 4xx
      if (req.body && !req.bodyUsed && !req.body.locked) await drain(req.body.getReader(), 0);
      if (e instanceof HttpError) return json(e.status, { error: e.message }, e.headers);
      // not the client's fault: report it without crashing the isolate
      return json(503, { error: `inference unavailable: ${(e as Error).message}` });
    }
  },
};
