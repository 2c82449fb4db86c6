// Models shipped with the package (models/ in the repo, dist/models/ in the package), by name. Edge-safe: only
// names and URLs here; Node reads the file (src/cli/zoo-file.ts), browsers and Workers fetch zooModelUrl().
// Each file is an inference file (src/infer/weights.ts) holding G and E; `npm run train:zoo` reproduces it.

export interface ZooModel {
  /** the file under models/ */
  file: string;
  /** which half of a pix2pix pair file is the input */
  direction: 'AtoB' | 'BtoA';
  what: string;
  /** the data's terms */
  terms: string;
}

export const ZOO: Readonly<Record<string, ZooModel>> = {
  'edges2shoes-handbags': {
    file: 'edges2shoes-handbags.int8.safetensors',
    direction: 'BtoA',
    what: 'official preset, 128 px, widths 24: edge map (black lines on white) -> shoe or handbag photo',
    terms: 'trained on edges2shoes / edges2handbags pairs (UT Zappos50K, iGAN photos): academic, non-commercial use',
  },
};

/** The shipped model `name`, or an error listing the names. */
export function zooModel(name: string): ZooModel {
  const m = Object.hasOwn(ZOO, name) ? ZOO[name] : undefined;
  if (!m) throw new Error(`no shipped model named ${JSON.stringify(name)} (shipped: ${Object.keys(ZOO).join(', ')})`);
  return m;
}

/** Where the package holds the model's file (models/ two levels above this module, in the repo and in dist/),
 * for fetch() in browsers, Deno and bundlers. */
export function zooModelUrl(name: string, base: string | URL = import.meta.url): URL {
  return new URL(`../../models/${zooModel(name).file}`, base);
}
