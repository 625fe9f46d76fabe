import { ErrorCode, LifeboatError } from '../errors/index.js';

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
};

/** "1MiB", "512k", "4096" → bytes. */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined)
    throw new LifeboatError(ErrorCode.Usage, `"${text}" is not a size`, { hint: 'use e.g. 512KiB, 1MiB, 4096' });
  return Math.round(Number(m[1]) * unit);
}

/** "--read-data" alone means 100%; "--read-data=10%" or "=10" a share of packs. */
export function parsePercent(value: string | boolean | undefined): number | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return 100;
  const m = /^\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(value);
  const n = m ? Number(m[1]) : NaN;
  if (!(n > 0 && n <= 100))
    throw new LifeboatError(ErrorCode.Usage, `--read-data takes a percentage from 1 to 100, got "${value}"`);
  return n;
}
