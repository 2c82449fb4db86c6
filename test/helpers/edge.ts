// The edge runtimes the tests start, set up once: headless Chromium (Debian's, driven by playwright-core) with a
// throwaway profile, and Miniflare (workerd) serving a Worker bundle folder on 127.0.0.1 (bench/lib/miniflare.ts,
// which the Worker load bench shares).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const haveChromium = existsSync(CHROMIUM);

/** Headless Chromium with its own profile folder; close() ends it and removes the folder. */
export async function launchChromium(): Promise<{ ctx: BrowserContext; close: () => Promise<void> }> {
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'bicyclegan-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return {
    ctx,
    close: async () => {
      await ctx.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export { miniflareFor } from '../../bench/lib/miniflare.js';
