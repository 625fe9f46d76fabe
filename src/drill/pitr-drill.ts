/**
 * The point-in-time drill of a postgres source with `pitr:`: restore the
 * newest base backup plus archived WAL to a random moment between the end of
 * that base backup and the newest archived transaction, into a private
 * scratch directory, start a throwaway server of the same major version on it
 * (never the production server), check from its log that recovery reached
 * the target, and report RTO (start of the drill to a recovered server) and
 * the RPO achievable now (now minus the newest archived WAL).
 *
 * @module
 */

import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ErrorCode, LifeboatError } from '../errors/index.js';
import type { Repository } from '../repository/repository.js';
import { loadCatalog } from '../sources/postgres/pitr/catalog.js';
import { restorePointInTime } from '../sources/postgres/pitr/restore-pitr.js';
import { verifyRecovery } from '../sources/postgres/pitr/verify-restore.js';

export interface PitrDrillResult {
  source: string;
  verdict: 'PASS' | 'FAIL';
  reasons: string[];
  base: string;
  /** The random moment restored to, and what recovery said about where it stopped. */
  pointAt: string;
  stoppedAt: string | null;
  lastTransaction: string | null;
  reached: boolean;
  /** Now minus the newest archived WAL, against the source's RPO. */
  rpo: { measuredSeconds: number; targetSeconds: number | null; ok: boolean | null };
  /** Start of the drill to a recovered, promoted server, against the source's RTO. */
  rto: { measuredSeconds: number; targetSeconds: number | null; ok: boolean | null };
}

export async function drillPitr(
  repo: Repository,
  o: {
    source: string;
    /** restore_command for the throwaway server (`lifeboat … wal-fetch --source NAME %f %p`). */
    restoreCommand: string;
    binDir?: string;
    rpoSeconds: number | null;
    rtoSeconds: number | null;
    random?: () => number;
    now?: () => number;
    tempBase?: string;
    signal?: AbortSignal;
    log?: (l: string) => void;
  },
): Promise<PitrDrillResult> {
  const now = o.now ?? Date.now;
  const random = o.random ?? Math.random;
  const started = now();
  await repo.prepareRead();
  const catalog = await loadCatalog(repo, o.source);
  const base = catalog.bases[catalog.bases.length - 1];
  if (!base)
    throw new LifeboatError(ErrorCode.NotFound, `source "${o.source}" has no base backup in this repository`, {
      hint: 'take one with `lifeboat base-backup --source NAME` or set `pitr.base_backup` for `lifeboat serve`',
    });
  let newestXact: number | undefined;
  let newestArchived: number | undefined;
  for (const f of catalog.files.values()) {
    const archived = Date.parse(f.archivedAt);
    if (newestArchived === undefined || archived > newestArchived) newestArchived = archived;
    if (f.lastXactEnd) {
      const t = Date.parse(f.lastXactEnd);
      if (newestXact === undefined || t > newestXact) newestXact = t;
    }
  }
  const from = Date.parse(base.stopTime);
  if (newestXact === undefined || newestXact <= from)
    throw new LifeboatError(
      ErrorCode.NotFound,
      `no transaction archived after the newest base backup of "${o.source}" (${base.stopTime}): there is no moment to recover to`,
      {
        hint: 'archived segments are summarised with pg_waldump of `bin_dir`; check that it is set and WAL is archived',
      },
    );
  // Strictly before the newest transaction end: replay stops at the first one past the target, which must be archived.
  const point = new Date(Math.floor(from + random() * (newestXact - 1 - from)));
  const scratch = await mkdtemp(path.join(o.tempBase ?? os.tmpdir(), 'lifeboat-drill-pitr-'));
  try {
    o.log?.(`drill of ${o.source}: base backup ${base.snapshot.id.slice(0, 8)} to ${point.toISOString()}`);
    const restored = await restorePointInTime(repo, {
      source: o.source,
      base: base.snapshot.id,
      target: { kind: 'time', time: point },
      dataDir: path.join(scratch, 'data'),
      restoreCommand: o.restoreCommand,
      signal: o.signal,
      log: o.log,
    });
    const outcome = await verifyRecovery(restored.dataDir, restored.plan, {
      binDir: o.binDir,
      signal: o.signal,
      log: o.log,
    });
    const done = now();
    const reasons: string[] = [];
    if (!outcome.reached) reasons.push(`recovery did not report reaching ${point.toISOString()}`);
    const rpoSeconds = Math.max(0, (done - (newestArchived ?? from)) / 1000);
    const rpoOk = o.rpoSeconds === null ? null : rpoSeconds <= o.rpoSeconds;
    if (rpoOk === false)
      reasons.push(`the newest archived WAL is ${Math.round(rpoSeconds)}s old, past the RPO of ${o.rpoSeconds}s`);
    const rtoSeconds = (done - started) / 1000;
    const rtoOk = o.rtoSeconds === null ? null : rtoSeconds <= o.rtoSeconds;
    if (rtoOk === false) reasons.push(`restore took ${Math.round(rtoSeconds)}s, past the RTO of ${o.rtoSeconds}s`);
    return {
      source: o.source,
      verdict: reasons.length ? 'FAIL' : 'PASS',
      reasons,
      base: base.snapshot.id,
      pointAt: point.toISOString(),
      stoppedAt: outcome.stoppedAt ?? null,
      lastTransaction: outcome.lastTransaction ?? null,
      reached: outcome.reached,
      rpo: { measuredSeconds: rpoSeconds, targetSeconds: o.rpoSeconds, ok: rpoOk },
      rto: { measuredSeconds: rtoSeconds, targetSeconds: o.rtoSeconds, ok: rtoOk },
    };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
