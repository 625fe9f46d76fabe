/**
 * The point-in-time drill of a postgres source with `pitr:`: restore the
 * newest base backup plus archived WAL to a random moment between the end of
 * that base backup and the newest archived transaction, into a private
 * scratch directory, start a throwaway server of the same major version on it
 * (never the production server), check from its log that recovery reached
 * the target, run the recorded checks (pitr-checks.ts) and the smoke command
 * on the promoted copy, and report RTO (start of the drill to a recovered
 * server) and the RPO achievable now (now minus the newest archived WAL). The
 * report is stored like every drill's: in the repository and in local state.
 *
 * @module
 */

import { randomInt } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseDuration } from '../config/duration.js';
import type { SourceConfigOf } from '../config/source-schemas.js';
import { ErrorCode, LifeboatError } from '../errors/index.js';
import type { Repository } from '../repository/repository.js';
import { parsePostgresUrl, publicUrl, type PgConnection } from '../sources/postgres/connection.js';
import { loadCatalog, type WalCatalog } from '../sources/postgres/pitr/catalog.js';
import { restorePointInTime } from '../sources/postgres/pitr/restore-pitr.js';
import { serverBinDir, verifyRecovery, type RecoveryOutcome } from '../sources/postgres/pitr/verify-restore.js';
import { throwIfInterrupted } from '../util/interrupt.js';
import { seededRandom } from './choose.js';
import type { DrillOptions, DrillResult } from './drill.js';
import { bootstrapSuperuser, recoveredServerChecks } from './pitr-checks.js';
import { finishReport } from './report-envelope.js';
import type { DrillCheckShape } from './report-shape.js';
import { runSmoke, smokeEnv, type SmokeResult } from './smoke.js';

const DEFAULT_SMOKE_TIMEOUT_MS = 10 * 60_000;

/** Options of `drillPitr`: those of `runDrill` for one postgres source with `pitr:`. */
export interface PitrDrillOptions extends Omit<DrillOptions, 'config' | 'snapshot' | 'within' | 'identity'> {
  config: SourceConfigOf<'postgres'>;
  /** restore_command for the throwaway server (`lifeboat … wal-fetch --source NAME %f %p`). */
  restoreCommand: string;
  /** The clock (milliseconds since the epoch) the RPO is measured with; tests pass their own. */
  now?: () => number;
}

/** The window a point is drawn from: end of the newest base backup to the newest archived transaction. */
function windowOf(catalog: WalCatalog, source: string) {
  const base = catalog.bases[catalog.bases.length - 1];
  if (!base)
    throw new LifeboatError(ErrorCode.NotFound, `source "${source}" has no base backup in this repository`, {
      hint: 'take one with `lifeboat base-backup --source NAME` or set `pitr.base_backup` for `lifeboat serve`',
    });
  let newestXact: number | undefined;
  let newestArchived: number | undefined;
  let newestWal: string | undefined;
  for (const f of catalog.files.values()) {
    const archived = Date.parse(f.archivedAt);
    if (newestArchived === undefined || archived > newestArchived) {
      newestArchived = archived;
      newestWal = f.snapshot;
    }
    if (f.lastXactEnd) {
      const t = Date.parse(f.lastXactEnd);
      if (newestXact === undefined || t > newestXact) newestXact = t;
    }
  }
  const from = Date.parse(base.stopTime);
  if (newestXact === undefined || newestXact <= from)
    throw new LifeboatError(
      ErrorCode.NotFound,
      `no transaction archived after the newest base backup of "${source}" (${base.stopTime}): there is no moment to recover to`,
      {
        hint: 'archived segments are summarised with pg_waldump of `bin_dir`; check that it is set and WAL is archived',
      },
    );
  return { base, from, newestXact, newestArchived: newestArchived ?? from, newestWal: newestWal ?? base.snapshot.id };
}

/**
 * A point-in-time drill: restore the newest base backup plus WAL to a random
 * moment of the window into a throwaway server of the same major version
 * (never the production server), check that recovery reached it, run the
 * recorded checks and the smoke command, and store the report like every drill.
 */
export async function drillPitr(repo: Repository, o: PitrDrillOptions): Promise<DrillResult> {
  const now = o.now ?? Date.now;
  const startedAt = new Date(now());
  const started = startedAt.getTime();
  const signal = o.signal ?? new AbortController().signal;
  const log = o.log ?? (() => {});
  await repo.prepareRead();
  const catalog = await loadCatalog(repo, o.source);
  const { base, from, newestXact, newestArchived, newestWal } = windowOf(catalog, o.source);
  const seed = o.seed ?? randomInt(2 ** 31);
  // Strictly before the newest transaction end: replay stops at the first one past the target, which must be archived.
  const point = new Date(Math.floor(from + seededRandom(seed)() * (newestXact - 1 - from)));
  const source = parsePostgresUrl(o.config.url);
  const checks: DrillCheckShape[] = [];
  let smoke: SmokeResult | null = null;
  let outcome: RecoveryOutcome | undefined;
  let restoredAt: number | undefined;
  let location: string | null = null;
  let binaries = '';
  const scratch = await mkdtemp(path.join(o.tempBase ?? os.tmpdir(), 'lifeboat-drill-pitr-'));
  let cleanup: { ok: boolean; detail?: string } = { ok: true };
  try {
    log(`drill of ${o.source}: base backup ${base.snapshot.id.slice(0, 8)} to ${point.toISOString()}`);
    const restored = await restorePointInTime(repo, {
      source: o.source,
      base: base.snapshot.id,
      target: { kind: 'time', time: point },
      dataDir: path.join(scratch, 'data'),
      restoreCommand: o.restoreCommand,
      signal,
      log,
    });
    binaries = serverBinDir(restored.plan, o.config.bin_dir) ?? 'postgres on PATH';
    outcome = await verifyRecovery(restored.dataDir, restored.plan, {
      binDir: o.config.bin_dir,
      signal,
      log,
      whileRunning: async (running) => {
        restoredAt = now();
        const server: PgConnection = {
          host: running.socketDir,
          port: running.port,
          user: source.user,
          database: source.database || 'postgres',
        };
        server.user = await bootstrapSuperuser(server).catch(() => source.user);
        location = publicUrl(server);
        checks.push(
          ...(await recoveredServerChecks(server, {
            base,
            timeline: restored.plan.timeline,
            pointMs: point.getTime(),
            recentData: o.config.recent_data,
          })),
        );
        if (o.config.smoke) {
          log(`smoke command against ${location}`);
          const env = smokeEnv(
            'postgres',
            { location, details: { ...server, dataDir: restored.dataDir } },
            { id: base.snapshot.id, source: o.source },
          );
          smoke = await runSmoke(o.config.smoke, env, {
            signal,
            timeoutMs: o.smokeTimeoutMs ?? DEFAULT_SMOKE_TIMEOUT_MS,
          });
        }
      },
    });
  } catch (err) {
    if (signal.aborted) throw err;
    checks.unshift({
      name: 'restore',
      ok: false,
      expected: `a recovered server at ${point.toISOString()}`,
      actual: 'failed',
      detail: (err as Error).message,
    });
  } finally {
    await rm(scratch, { recursive: true, force: true }).catch((err: Error) => {
      cleanup = { ok: false, detail: `${scratch}: ${err.message}` };
    });
  }
  throwIfInterrupted(signal, 'no drill report was stored; its scratch copy was removed');
  if (outcome)
    checks.unshift({
      name: 'recovery target',
      ok: outcome.reached,
      expected: `recovery stops at ${point.toISOString()}`,
      actual: outcome.stoppedAt ?? (outcome.reached ? 'reached' : 'not reached'),
      ...(outcome.lastTransaction ? { detail: `last completed transaction at ${outcome.lastTransaction}` } : {}),
    });
  const done = restoredAt ?? now();
  const rpoTarget = o.config.rpo ? parseDuration(o.config.rpo) : null;
  const rtoTarget = o.config.rto ? parseDuration(o.config.rto) : null;
  const rpoSeconds = Math.max(0, (done - newestArchived) / 1000);
  const rtoSeconds = (done - started) / 1000;
  return finishReport(
    repo,
    {
      startedAt,
      source: { name: o.source, type: 'postgres' },
      snapshot: {
        id: base.snapshot.id,
        time: base.snapshot.time,
        host: base.snapshot.host,
        files: base.snapshot.summary.files,
        bytes: base.snapshot.summary.bytes,
        selectedBy: 'random',
        candidates: catalog.bases.length,
        seed,
        within: null,
      },
      restoredTo: location,
      mode: `point in time: base backup plus archived WAL replayed into a throwaway PostgreSQL ${base.serverVersion} server (${binaries || 'not started'}); recorded base backup facts and recent data checked at the point`,
      isolation: {
        server: 'throwaway',
        detail: `socket-only server in a private directory, ${binaries || 'not started'}`,
      },
      pointInTime: {
        base: base.snapshot.id,
        pointAt: point.toISOString(),
        stoppedAt: outcome?.stoppedAt ?? null,
        lastTransaction: outcome?.lastTransaction ?? null,
        reached: outcome?.reached ?? false,
      },
      checks,
      rto: {
        measuredSeconds: rtoSeconds,
        targetSeconds: rtoTarget,
        ok: !outcome ? null : rtoTarget === null ? null : rtoSeconds <= rtoTarget,
        basis: outcome ? 'start of the drill to a recovered, promoted server' : 'no recovered server',
      },
      rpo: {
        measuredSeconds: rpoSeconds,
        targetSeconds: rpoTarget,
        ok: rpoTarget === null ? null : rpoSeconds <= rpoTarget,
        basis: 'now minus the newest archived WAL',
      },
      freshness: {
        newestSnapshot: { id: newestWal, time: new Date(newestArchived).toISOString() },
        ageSeconds: rpoSeconds,
        targetSeconds: rpoTarget,
        ok: rpoTarget === null ? null : rpoSeconds <= rpoTarget,
      },
      smoke,
      cleanup,
    },
    o,
  );
}
