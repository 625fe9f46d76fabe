/**
 * What a VictoriaMetrics data directory holds, measured the same way for a
 * snapshot (on a hard-linked copy) and for a restored copy:
 * - `series`: `/api/v1/series/count` of a throwaway victoria-metrics started
 *   on the directory (the index's count: series deleted but not yet purged
 *   and series of the previous index generation included);
 * - `timeRange`: the first and last sample timestamp, exact and without
 *   reading samples: every data part records the min and max timestamp of its
 *   rows (in its directory name in the format of 1.79, in its metadata.json in
 *   later releases).
 *
 * @module
 */

import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, LifeboatError } from '../../errors/index.js';
import { tsdbJson } from '../tsdb-http.js';
import { timeRange, type TimeRange } from '../tsdb-snapshot.js';
import { withThrowawayServer } from '../throwaway-server.js';

export type VmMeasure = {
  series: number;
  timeRange: TimeRange;
};

export interface MeasureOptions {
  binary?: string;
  signal?: AbortSignal;
}

// rows_blocks_min_max_suffix, times as 20060102150405.000 in UTC
const PART_NAME = /^\d+_\d+_(\d{14}\.\d{3})_(\d{14}\.\d{3})_[0-9A-F]+$/;

function partTime(text: string): number {
  const m = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)\.(\d{3})$/.exec(text)!;
  const [y, mo, d, h, mi, s, ms] = m.slice(1).map(Number) as [number, number, number, number, number, number, number];
  return Date.UTC(y, mo - 1, d, h, mi, s, ms);
}

async function partBounds(partDir: string, name: string): Promise<[number, number] | undefined> {
  const named = PART_NAME.exec(name);
  if (named) return [partTime(named[1]!), partTime(named[2]!)];
  const meta = await readFile(path.join(partDir, 'metadata.json'), 'utf8').catch(() => undefined);
  if (meta === undefined) return undefined; // not a part (txn, tmp, snapshots)
  const parsed = JSON.parse(meta) as { RowsCount?: number; MinTimestamp?: number; MaxTimestamp?: number };
  if (!parsed.RowsCount || typeof parsed.MinTimestamp !== 'number' || typeof parsed.MaxTimestamp !== 'number')
    return undefined;
  return [parsed.MinTimestamp, parsed.MaxTimestamp];
}

async function dirNames(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory()).map((e) => e.name);
}

/** Min and max timestamp over every data part of `data/small` and `data/big`. */
export async function partsTimeRange(dataDir: string): Promise<TimeRange> {
  let min = Infinity;
  let max = -Infinity;
  for (const size of ['small', 'big']) {
    const sizeDir = path.join(dataDir, 'data', size);
    for (const partition of await dirNames(sizeDir)) {
      if (!/^\d{4}_\d\d$/.test(partition)) continue;
      for (const part of await dirNames(path.join(sizeDir, partition))) {
        const bounds = await partBounds(path.join(sizeDir, partition, part), part);
        if (!bounds) continue;
        min = Math.min(min, bounds[0]);
        max = Math.max(max, bounds[1]);
      }
    }
  }
  return timeRange(min, max);
}

/** The victoria-metrics program, with flags that keep a measured copy whole (no retention cut, no caches). */
export function victoriaMetricsSpec(dataDir: string, options: MeasureOptions) {
  return {
    label: 'victoria-metrics',
    command: options.binary ?? 'victoria-metrics',
    args: (port: number) => [
      `-storageDataPath=${dataDir}`,
      `-httpListenAddr=127.0.0.1:${port}`,
      '-retentionPeriod=100y',
      '-search.disableCache',
      '-loggerLevel=ERROR',
    ],
    readyPath: '/health',
    signal: options.signal,
    installHint: 'install victoria-metrics (Debian: apt install victoria-metrics), or set `binary:` on the source',
  };
}

export async function measureVictoriaMetrics(dataDir: string, options: MeasureOptions): Promise<VmMeasure> {
  const range = await partsTimeRange(dataDir);
  const series = await withThrowawayServer(victoriaMetricsSpec(dataDir, options), async (url) => {
    const answer = await tsdbJson<{ data?: unknown[] }>(url, '/api/v1/series/count', {
      purpose: 'counting series',
      signal: options.signal,
      timeoutMs: 600_000,
    });
    const n = answer.data?.[0];
    if (typeof n !== 'number')
      throw new LifeboatError(
        ErrorCode.SourceFailed,
        `victoria-metrics answered the series count with ${JSON.stringify(answer).slice(0, 200)}`,
      );
    return n;
  });
  return { series, timeRange: range };
}
