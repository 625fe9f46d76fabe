import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Repository } from '../repository/repository.js';
import { restoreToTime } from '../sources/sqlite/continuous/restore-point.js';
import { listStream } from '../sources/sqlite/continuous/stream-listing.js';
import { streamIdOf } from '../sources/sqlite/continuous/stream-objects.js';
import { formatSeconds } from '../util/format.js';

export interface ContinuousDrillResult {
  source: string;
  verdict: 'PASS' | 'FAIL';
  reasons: string[];
  /** The random point restored to, and the commit the restored file holds. */
  pointAt: string;
  committedAt: string;
  /** Now minus the newest shipped transaction, against the source's RPO. */
  rpo: { measuredSeconds: number; targetSeconds: number | null; ok: boolean | null };
  /** Start of the drill to a checked file, against the source's RTO. */
  rto: { measuredSeconds: number; targetSeconds: number | null; ok: boolean | null };
  integrity: string;
  tables: Record<string, number>;
}

/**
 * A drill of a continuous sqlite source: restore its stream to a random point
 * between the oldest full copy and the newest shipped transaction, into a
 * private scratch directory, check the copy, and report RPO as now minus the
 * newest shipped transaction.
 */
export async function drillContinuous(
  repo: Repository,
  o: {
    source: string;
    rpoSeconds: number | null;
    rtoSeconds: number | null;
    random?: () => number;
    now?: () => number;
    tempBase?: string;
    log?: (l: string) => void;
  },
): Promise<ContinuousDrillResult> {
  const now = o.now ?? Date.now;
  const random = o.random ?? Math.random;
  const started = now();
  const { generations } = await listStream(repo, streamIdOf(repo, o.source));
  const oldest = generations.flatMap((g) => g.bases.map((b) => b.ms)).sort((a, b) => a - b)[0];
  const newest = Math.max(
    ...generations.flatMap((g) => [...g.bases.map((b) => b.ms), ...g.segments.map((s) => s.lastMs)]),
  );
  if (oldest === undefined) throw new Error(`no continuous stream of source "${o.source}" in this repository`);
  const point = Math.round(oldest + random() * Math.max(0, newest - oldest));
  const scratch = await mkdtemp(path.join(o.tempBase ?? os.tmpdir(), 'lifeboat-drill-wal-'));
  try {
    o.log?.(`drill of ${o.source}: restoring the stream as of ${new Date(point).toISOString()}`);
    const got = await restoreToTime(repo, {
      source: o.source,
      toFile: path.join(scratch, 'drill.db'),
      atMs: point,
      log: o.log,
    });
    const done = now();
    const reasons: string[] = [];
    if (got.record.integrity !== 'ok') reasons.push(`integrity_check: ${got.record.integrity.slice(0, 200)}`);
    const rpoSeconds = Math.max(0, (done - newest) / 1000);
    const rpoOk = o.rpoSeconds === null ? null : rpoSeconds <= o.rpoSeconds;
    if (rpoOk === false)
      reasons.push(
        `newest shipped transaction is ${formatSeconds(rpoSeconds)} old, past the RPO of ${formatSeconds(o.rpoSeconds!)}`,
      );
    const rtoSeconds = (done - started) / 1000;
    const rtoOk = o.rtoSeconds === null ? null : rtoSeconds <= o.rtoSeconds;
    if (rtoOk === false)
      reasons.push(`restore took ${formatSeconds(rtoSeconds)}, past the RTO of ${formatSeconds(o.rtoSeconds!)}`);
    return {
      source: o.source,
      verdict: reasons.length ? 'FAIL' : 'PASS',
      reasons,
      pointAt: new Date(point).toISOString(),
      committedAt: new Date(got.committedMs).toISOString(),
      rpo: { measuredSeconds: rpoSeconds, targetSeconds: o.rpoSeconds, ok: rpoOk },
      rto: { measuredSeconds: rtoSeconds, targetSeconds: o.rtoSeconds, ok: rtoOk },
      integrity: got.record.integrity,
      tables: got.record.tables,
    };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
