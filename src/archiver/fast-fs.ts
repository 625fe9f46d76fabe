import { lstat, type BigIntStats } from 'node:fs';

/** lstat with nanosecond times, on the lighter callback API (called once per entry). */
export function lstatBig(path: string): Promise<BigIntStats> {
  return new Promise((resolve, reject) => lstat(path, { bigint: true }, (err, st) => (err ? reject(err) : resolve(st))));
}
