import { randomInt } from 'node:crypto';
import { parseDuration } from '../config/duration.js';
import type { SourceConfig } from '../config/source-schemas.js';
import type { Repository } from '../repository/repository.js';
import { sourceMetadata } from '../sources/run-source.js';
import type { VerifyCheck } from '../verify/checks.js';
import { verifyInScratch, type VerifyProgress } from '../verify/verify.js';
import { throwIfInterrupted } from '../util/interrupt.js';
import { chooseSnapshot } from './choose.js';
import { isolate } from './isolation.js';
import { newestDataTime } from './recent-data.js';
import type { Freshness, Objective } from './report.js';
import { finishReport, type DrillResult, type ReportPlaces } from './report-envelope.js';
import { sortByTime, type SnapshotEntry } from '../repository/format/index.js';
import { runSmoke, smokeEnv, type SmokeResult } from './smoke.js';
import { formatSeconds } from '../util/format.js';

/** Which source a drill restores, which snapshot, where the report goes, progress and stop signal. */
export interface DrillOptions extends ReportPlaces {
  /** The source to drill (its snapshots carry this name). */
  source: string;
  /** The configured source: rpo, rto, smoke, recent_data, and the server a database is restored to. */
  config?: SourceConfig;
  /** A snapshot id, prefix or `latest`; else a random one `within`, else the newest. */
  snapshot?: string;
  within?: string;
  /** Makes the random choice reproducible; a random seed is drawn (and reported) when absent. */
  seed?: number;
  /** age identity for sealed sources; without it only the sealed streams' hashes are verified. */
  identity?: string;
  smokeTimeoutMs?: number;
  tempBase?: string;
  /**
   * Stops the drill at the next file or step: it rejects with LifeboatError `interrupted` once its
   * scratch copy is removed, and stores no report (an interrupted drill proves nothing either way).
   */
  signal?: AbortSignal;
  /** Called as the drill's scratch restore goes on (see `VerifyOptions.onProgress`). */
  onProgress?: (progress: VerifyProgress) => void;
  /** Progress lines, as the CLI prints them. */
  log?: (line: string) => void;
}

export type { DrillResult };

const DEFAULT_SMOKE_TIMEOUT_MS = 10 * 60_000;

/**
 * A restore drill of one source: choose a snapshot, restore it into an
 * isolated place, run verify's checks, the recent-data check and the smoke
 * command on the copy, measure RTO and RPO against the source's targets,
 * remove the copy, and store the report. An interrupted drill removes what it
 * created and rethrows; any other problem is a FAIL with its reason.
 */
export async function runDrill(repo: Repository, options: DrillOptions): Promise<DrillResult> {
  const startedAt = new Date();
  const t0 = Date.now();
  const signal = options.signal ?? new AbortController().signal;
  const log = options.log ?? (() => {});
  const { snapshots } = await repo.listSnapshots();
  const choice = chooseSnapshot(snapshots, options.source, {
    snapshot: options.snapshot,
    within: options.within,
    seed: options.seed ?? randomInt(2 ** 31),
    now: startedAt,
  });
  const snapshot = choice.snapshot;
  const config = options.config;
  const meta = sourceMetadata(snapshot);
  log(`drill of ${options.source}: snapshot ${snapshot.id.slice(0, 8)} of ${snapshot.time} (${choice.selectedBy})`);

  // Called once per restored copy (each database of a server-wide snapshot): the first failing smoke run is kept.
  let failedSmoke: SmokeResult | null = null;
  const isolation =
    config && config.type === meta?.source.type
      ? await isolate(config, meta.record, { tempBase: options.tempBase, signal, log }).catch((err: unknown) => {
          throwIfInterrupted(signal, 'no drill report was stored; its throwaway server was removed');
          throw err;
        })
      : undefined;
  let stopped: string | undefined;
  const { result, during } = await verifyInScratch(
    repo,
    snapshot,
    {
      config: isolation?.config ?? config,
      identity: options.identity,
      signal,
      log,
      tempBase: options.tempBase,
      onProgress: options.onProgress,
    },
    async (copy) => {
      const restoredMs = Date.now() - t0;
      let smoke: SmokeResult | null = null;
      if (config?.smoke && copy.result.ok) {
        log(`smoke command against ${copy.restored.location}`);
        const env = smokeEnv(meta!.source.type, copy.restored, { id: snapshot.id, source: options.source });
        smoke = await runSmoke(config.smoke, env, {
          signal,
          timeoutMs: options.smokeTimeoutMs ?? DEFAULT_SMOKE_TIMEOUT_MS,
        });
        if (!smoke.ok && !failedSmoke) failedSmoke = smoke;
      }
      return { restoredMs, smoke: failedSmoke ?? smoke };
    },
  ).finally(() =>
    isolation?.stop().catch((err: Error) => {
      stopped = `the throwaway server: ${err.message}`;
    }),
  );

  throwIfInterrupted(signal, 'no drill report was stored; its scratch copy was removed');
  const now = Date.now();
  const cleanupCheck = result.checks.find((c) => c.name === 'cleanup');
  const checks: VerifyCheck[] = result.checks.filter((c) => c !== cleanupCheck);
  const rpoTarget = config?.rpo ? parseDuration(config.rpo) : null;
  const recent = newestDataTime(result.measured);
  if (recent) checks.push(recentDataCheck(recent, Date.parse(snapshot.time), rpoTarget));
  const rpo = snapshotRpo(recent, snapshot.time, rpoTarget);
  const freshness = freshnessOf(snapshots, options.source, rpoTarget, now);
  const rtoTarget = config?.rto ? parseDuration(config.rto) : null;
  const rto: Objective = during
    ? {
        measuredSeconds: during.restoredMs / 1000,
        targetSeconds: rtoTarget,
        ok: rtoTarget === null ? null : during.restoredMs / 1000 <= rtoTarget,
        basis: 'start of the drill to a verified restore',
      }
    : { measuredSeconds: (now - t0) / 1000, targetSeconds: rtoTarget, ok: null, basis: 'no verified restore' };
  const cleanup =
    cleanupCheck || stopped
      ? { ok: false, detail: [cleanupCheck?.detail, stopped].filter(Boolean).join('; ') }
      : { ok: true };
  const partial = { checks, rto, rpo, freshness, smoke: during?.smoke ?? null, cleanup };
  return finishReport(
    repo,
    {
      startedAt,
      ...partial,
      source: { name: options.source, type: meta?.source.type ?? config?.type ?? 'files' },
      snapshot: {
        id: snapshot.id,
        time: snapshot.time,
        host: snapshot.host,
        files: snapshot.summary.files,
        bytes: snapshot.summary.bytes,
        selectedBy: choice.selectedBy,
        candidates: choice.candidates,
        seed: choice.seed,
        within: choice.within ?? null,
      },
      restoredTo: result.location ?? null,
      ...(isolation ? { isolation: isolation.report } : {}),
      mode:
        result.mode === 'sealed-streams'
          ? 'sealed streams only (no identity given): every stream authenticated and its hash checked'
          : result.mode === 'paths'
            ? 'path backup: every file restored and hash-checked'
            : `restored with the ${meta?.source.type} driver, measured and compared with the record`,
    },
    options,
  );
}

/**
 * The RPO of the snapshot drilled: how much data a restore of it loses
 * compared with the moment it was taken, i.e. the snapshot time minus the
 * newest data in it. It does not depend on when the drill runs, so a drill of
 * an older snapshot judges that snapshot fairly. Without `recent_data` there
 * is nothing to measure it by, and it is said so.
 */
export function snapshotRpo(
  recent: ReturnType<typeof newestDataTime>,
  snapshotTime: string,
  targetSeconds: number | null,
): Objective {
  if (!recent?.time) {
    const why = !recent
      ? 'not measured: the source has no recent_data'
      : `not measured: ${recent.column} ${recent.newest === null ? 'has no rows' : 'is not a timestamp'}`;
    return { measuredSeconds: null, targetSeconds, ok: null, basis: why };
  }
  const measuredSeconds = Math.max(0, (Date.parse(snapshotTime) - recent.time.getTime()) / 1000);
  return {
    measuredSeconds,
    targetSeconds,
    ok: targetSeconds === null ? null : measuredSeconds <= targetSeconds,
    basis: `snapshot time minus the newest ${recent.column} in the restored copy`,
  };
}

/** Age of the newest snapshot of the source when the drill ran (a separate question from the drilled snapshot's RPO). */
export function freshnessOf(
  snapshots: SnapshotEntry[],
  source: string,
  targetSeconds: number | null,
  now: number,
): Freshness {
  const newest = sortByTime(snapshots.filter((s) => s.source === source)).at(-1);
  if (!newest)
    return { newestSnapshot: null, ageSeconds: null, targetSeconds, ok: targetSeconds === null ? null : false };
  const ageSeconds = Math.max(0, (now - Date.parse(newest.time)) / 1000);
  return {
    newestSnapshot: { id: newest.id, time: newest.time },
    ageSeconds,
    targetSeconds,
    ok: targetSeconds === null ? null : ageSeconds <= targetSeconds,
  };
}

/** The newest timestamp in the restored copy is within the RPO of the snapshot time (any data at all, without an RPO). */
function recentDataCheck(
  recent: NonNullable<ReturnType<typeof newestDataTime>>,
  snapshotMs: number,
  rpoSeconds: number | null,
): VerifyCheck {
  const expected =
    rpoSeconds === null
      ? `rows in ${recent.column}`
      : `newest ${recent.column} at most ${formatSeconds(rpoSeconds)} before the snapshot`;
  if (!recent.time)
    return {
      name: 'recent data',
      ok: false,
      expected,
      actual: recent.newest,
      detail: recent.newest === null ? 'the table is empty' : 'not a timestamp',
    };
  const lagSeconds = Math.max(0, (snapshotMs - recent.time.getTime()) / 1000);
  return {
    name: 'recent data',
    ok: rpoSeconds === null || lagSeconds <= rpoSeconds,
    expected,
    actual: `${recent.newest} (${formatSeconds(lagSeconds)} before the snapshot)`,
  };
}
