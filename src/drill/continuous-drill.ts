import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Repository } from '../repository/repository.js';
import { restoreToTime } from '../sources/sqlite/continuous/restore-point.js';
import { listStream } from '../sources/sqlite/continuous/stream-listing.js';
import { streamIdOf } from '../sources/sqlite/continuous/stream-objects.js';
import { formatSeconds } from '../util/format.js';
import { pointRecentDataCheck } from './point-recent-data.js';
import type { DrillCheckShape, DrillSmokeShape } from './report-shape.js';
import { runSmoke, smokeEnv } from './smoke.js';

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
  /** The source's configured checks on the restored copy (`recent data`); empty without `recent_data`. */
  checks: DrillCheckShape[];
  /** The source's smoke command against the restored file; null when none is configured. */
  smoke: DrillSmokeShape | null;
}

const DEFAULT_SMOKE_TIMEOUT_MS = 10 * 60_000;

/**
 * A drill of a continuous sqlite source: restore its stream to a random point
 * between the oldest full copy and the newest shipped transaction, into a
 * private scratch directory, check the copy, and report RPO as now minus the
 * newest shipped transaction. The source's `recent_data` and `smoke` run
 * against the restored file, as in a drill of a snapshot.
 */
export async function drillContinuous(
  repo: Repository,
  o: {
    source: string;
    rpoSeconds: number | null;
    rtoSeconds: number | null;
    /** The source's smoke command, run with `LIFEBOAT_DRILL_FILE` pointing at the restored file. */
    smoke?: string;
    recentData?: { table: string; column: string };
    smokeTimeoutMs?: number;
    signal?: AbortSignal;
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
    const checks: DrillCheckShape[] = [];
    if (o.recentData) {
      const check = pointRecentDataCheck(got.file, o.recentData, got.committedMs);
      o.log?.(`recent data: ${String(check.actual)}${check.detail ? ` (${check.detail})` : ''}`);
      checks.push(check);
      if (!check.ok)
        reasons.push(`recent data: ${check.detail ?? `${String(check.actual)}, expected ${String(check.expected)}`}`);
    }
    let smoke: DrillSmokeShape | null = null;
    // A copy that fails integrity_check is not handed to the application's command.
    if (o.smoke && got.record.integrity === 'ok') {
      o.log?.(`smoke command against ${got.file}`);
      const restored = { location: got.file, details: { file: got.file } };
      const env = smokeEnv('sqlite', restored, {
        id: `stream@${new Date(got.committedMs).toISOString()}`,
        source: o.source,
      });
      smoke = await runSmoke(o.smoke, env, {
        signal: o.signal ?? new AbortController().signal,
        timeoutMs: o.smokeTimeoutMs ?? DEFAULT_SMOKE_TIMEOUT_MS,
      });
      if (!smoke.ok)
        reasons.push(
          `smoke command failed (exit ${smoke.exitCode ?? 'none'}): ${smoke.output.trim().split('\n').at(-1) ?? ''}`,
        );
    } else if (o.smoke) {
      reasons.push('smoke command not run: the restored copy fails integrity_check');
    }
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
      checks,
      smoke,
    };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
