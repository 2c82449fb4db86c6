// CLI flags <-> config fields: every field of the train schema has a kebab-case flag; values from a JSON
// config file (--config) are overridden by flags given on the command line; the schema checks the result.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';

export const kebab = (k: string) => k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());

/** A plain decimal number (no hex, octal, binary, Infinity or surrounding junk): what a numeric flag takes. */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** A flag value as the schema should see it: a number when it reads as a decimal, else the string (the schema names it). */
export function num(v: string): number | string {
  const n = Number(v);
  return DECIMAL.test(v.trim()) && Number.isFinite(n) ? n : v;
}

export type FlagKind = 'string' | 'number' | 'bool' | 'negate';
export type FlagTable = [field: string, kind: FlagKind, help: string][];

export function addFlags(cmd: Command, table: FlagTable): Command {
  for (const [field, kind, help] of table) {
    const f = kebab(field);
    if (kind === 'bool') cmd.option(`--${f}`, help);
    else if (kind === 'negate') cmd.option(`--no-${f}`, help);
    else if (kind === 'number') cmd.option(`--${f} <n>`, help, num);
    else cmd.option(`--${f} <value>`, help);
  }
  return cmd;
}

/** Read a JSON config file: an object with the schema's field names. */
export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`--config ${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Error(`--config ${path}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`--config ${path}: must hold a JSON object of options`);
  return v as Record<string, unknown>;
}

/** The config from --config plus every flag given on the command line (defaults are left to the schema). */
export function mergedConfig(cmd: Command, table: FlagTable): Record<string, unknown> {
  const opts = cmd.opts();
  const base = typeof opts.config === 'string' ? readConfigFile(opts.config) : {};
  const out: Record<string, unknown> = { ...base };
  for (const [field] of table) {
    if (cmd.getOptionValueSource(field) === 'cli') out[field] = opts[field];
  }
  return out;
}

export const flagName = (field: string) => (field ? `--${kebab(field)}` : 'config');
