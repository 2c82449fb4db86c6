// The package version for `bicyclegan --version`: read from the package.json above this file, which is two
// folders up from src/cli/ in the repo and three from dist/src/cli/ in the package.
import { readFileSync } from 'node:fs';

export function packageVersion(): string {
  for (const up of ['../../package.json', '../../../package.json']) {
    try {
      const p = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (p.name === 'bicyclegan-wasm' && p.version) return p.version;
    } catch {
      // not there: try the next level
    }
  }
  return 'unknown';
}
