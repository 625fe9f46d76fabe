/**
 * What a Prometheus TSDB directory holds, measured the same way for a
 * snapshot (on a hard-linked copy) and for a restored copy:
 * - `timeRange`: the span of its blocks as their meta.json records it (first
 *   millisecond of the oldest block, last millisecond of the newest; blocks
 *   written by a snapshot or by promtool end at their last sample);
 * - `series`: the number of distinct series in all blocks, from
 *   `/api/v1/series?match[]={__name__=~".+"}` over that span on a throwaway
 *   prometheus started on the directory (the head-only `/api/v1/status/tsdb`
 *   would miss the blocks).
 *
 * @module
 */

import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, LifeboatError } from '../../errors/index.js';
import { tsdbJson } from '../tsdb-http.js';
import { timeRange, type TimeRange } from '../tsdb-snapshot.js';
import { withThrowawayServer } from '../throwaway-server.js';

export type PromMeasure = {
  series: number;
  blocks: number;
  timeRange: TimeRange;
};

export interface MeasureOptions {
  binary?: string;
  signal?: AbortSignal;
}

/** Min and max (exclusive) time over the blocks (`<ULID>/meta.json`) of a TSDB directory. */
export async function blocksSpan(tsdbDir: string): Promise<{ blocks: number; minMs: number; maxMs: number }> {
  let blocks = 0;
  let minMs = Infinity;
  let maxMs = -Infinity;
  for (const entry of await readdir(tsdbDir, { withFileTypes: true })) {
    if (!entry.isDirectory() || !/^[0-9A-HJKMNP-TV-Z]{26}$/.test(entry.name)) continue;
    const text = await readFile(path.join(tsdbDir, entry.name, 'meta.json'), 'utf8').catch(() => undefined);
    if (text === undefined) continue; // a block still being written has no meta.json yet
    const meta = JSON.parse(text) as { minTime?: number; maxTime?: number };
    if (typeof meta.minTime !== 'number' || typeof meta.maxTime !== 'number') {
      throw new LifeboatError(ErrorCode.SourceFailed, `block ${entry.name} has a meta.json without minTime/maxTime`);
    }
    blocks++;
    minMs = Math.min(minMs, meta.minTime);
    maxMs = Math.max(maxMs, meta.maxTime);
  }
  return { blocks, minMs, maxMs };
}

/** The prometheus program on a copy: no scraping, no retention cut, loopback only. */
export function prometheusSpec(tsdbDir: string, configFile: string, options: MeasureOptions) {
  return {
    label: 'prometheus',
    command: options.binary ?? 'prometheus',
    args: (port: number) => [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${tsdbDir}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=100y',
      '--log.level=error',
    ],
    readyPath: '/-/ready',
    signal: options.signal,
    installHint: 'install prometheus (Debian: apt install prometheus), or set `binary:` on the source',
  };
}

const seconds = (ms: number) => (ms / 1000).toFixed(3);

/** Measure `tsdbDir`; `scratch` is a private directory for the throwaway server's config. */
export async function measurePrometheus(
  tsdbDir: string,
  scratch: string,
  options: MeasureOptions,
): Promise<PromMeasure> {
  const span = await blocksSpan(tsdbDir);
  if (span.blocks === 0) return { series: 0, blocks: 0, timeRange: null };
  const configFile = path.join(scratch, 'prometheus.yml');
  await writeFile(configFile, 'scrape_configs: []\n', { mode: 0o600 });
  const series = await withThrowawayServer(prometheusSpec(tsdbDir, configFile, options), async (url) => {
    const query = `/api/v1/series?match[]=${encodeURIComponent('{__name__=~".+"}')}&start=${seconds(span.minMs)}&end=${seconds(span.maxMs)}`;
    const answer = await tsdbJson<{ status?: string; data?: unknown[] }>(url, query, {
      purpose: 'listing series',
      signal: options.signal,
      timeoutMs: 600_000,
    });
    if (answer.status !== 'success' || !Array.isArray(answer.data)) {
      throw new LifeboatError(
        ErrorCode.SourceFailed,
        `prometheus answered the series list with ${JSON.stringify(answer).slice(0, 200)}`,
      );
    }
    return answer.data.length;
  });
  return { series, blocks: span.blocks, timeRange: timeRange(span.minMs, span.maxMs - 1) };
}
