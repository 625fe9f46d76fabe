/**
 * Phase two, under the exclusive lock (no backup is in flight): recompute what
 * the snapshots need now and delete the ripe marked packs that are still
 * unneeded, consolidating the index on the way. The order makes every prefix
 * of the work a consistent repository:
 *
 *   1. write the consolidated index (durable before anything is removed);
 *   2. remove the old index files — from here on no index names a doomed pack;
 *   3. remove the packs — a crash leaves only unindexed packs, still marked;
 *   4. remove the ripe prune records;
 *   5. remove the temporaries of interrupted writes (no writer runs now).
 *
 * A pack the storage refuses to remove because it is still under its Object
 * Lock retention (docs/adr/0047-s3-object-lock.md) stays as garbage: no index
 * names it, a new record marks it (dated like the oldest ripe record, so it is
 * ripe at once) and a later sweep removes it once the retention has ended.
 *
 * Removing packs before the old index files would, after a crash, leave index
 * entries for deleted packs, which check reports as lost data.
 *
 * @module
 */

import { packObjectName } from '../repository/ids.js';
import { removePresenceOf } from '../repository/presence.js';
import type { Repository } from '../repository/repository.js';
import type { StaleTemporaries } from '../storage/contract.js';
import { isRetained } from '../storage/retained.js';
import type { PackRef } from './plan.js';
import { mapLimit } from '../util/map-limit.js';
import { needsConsolidation, packsToKeep, writeConsolidatedIndex } from './consolidate.js';
import { loadInventory } from './inventory.js';
import { stopIfAborted, type Resolved } from './options.js';
import { listRecords, recordsCarry, writeRecord, type StoredRecord } from './record.js';
import { planSweep, type SweepPlan } from './sweep-plan.js';

export interface SweepResult {
  plan: SweepPlan;
  /** Ripe records acted on, and records still inside the grace period. */
  ripeRecords: number;
  waitingRecords: number;
  /** When the next waiting record ripens (ISO-8601). */
  nextRipe?: string;
  indexFilesWritten: number;
  indexFilesRemoved: number;
  consolidated: boolean;
  /** Temporaries of interrupted writes removed (dry run: found), when the storage writes through temporaries. */
  temporaries?: StaleTemporaries;
  /**
   * Deletable packs the storage refused to remove because they are still under their
   * Object Lock retention: out of the index, marked again, removed by a later sweep.
   */
  retained: PackRef[];
}

export async function sweep(repo: Repository, o: Resolved): Promise<SweepResult> {
  // A dry run only looks, so it does not stop backups.
  return repo.withLock(!o.dryRun, o.dryRun ? 'prune --dry-run' : 'prune (sweep)', async (lock) => {
    // Counters first, then the phase: a phase change is reported at once, with the counters as they are then.
    o.progress.trees = 0;
    o.progress.phase = 'loading';
    const { records } = await listRecords(repo);
    const now = o.now();
    // A record dated in the future (a skewed clock) is not ripe until its own time plus the grace.
    const ripeRecords = records.filter((r) => now - Date.parse(r.time) >= o.graceMs);
    const waiting = records.filter((r) => !ripeRecords.includes(r));
    const ripe = new Set(ripeRecords.flatMap((r) => r.packs));
    // Every record's snapshot set, ripe or not: the sweep refuses if one of them vanished since its mark.
    const inv = await loadInventory(repo, {
      exclusive: !o.dryRun,
      records,
      onTree: () => {
        stopIfAborted(o);
        o.progress.trees++;
      },
    });
    const plan = planSweep(inv, ripe);
    const doomed = new Set(plan.delete.map((p) => p.id));
    const consolidate = needsConsolidation(inv, doomed);
    const result: SweepResult = {
      plan,
      ripeRecords: ripeRecords.length,
      waitingRecords: waiting.length,
      ...nextRipe(waiting, o.graceMs),
      indexFilesWritten: 0,
      indexFilesRemoved: 0,
      consolidated: false,
      retained: [],
    };
    if (o.dryRun) return { ...result, consolidated: consolidate, ...(await staleTemporaries(repo, o)) };

    // The last safe point: from here the sweep runs to its end, so no index is left naming deleted packs.
    stopIfAborted(o);
    o.progress.packs = 0;
    o.progress.bytes = 0;
    o.progress.packsTotal = plan.delete.length;
    o.progress.phase = 'sweeping';
    if (consolidate) {
      await lock.assertHeld();
      const written = await writeConsolidatedIndex(repo, packsToKeep(inv, doomed));
      result.indexFilesWritten = written.length;
      await lock.assertHeld();
      const fresh = new Set(written);
      const old = inv.indexFiles.filter((name) => !fresh.has(name));
      await mapLimit(old, 8, async (name) => {
        await repo.storage.remove(name);
        await removePresenceOf(repo.storage, name); // a write-only key's view of that index
      });
      result.indexFilesRemoved = old.length;
      result.consolidated = true;
    }
    if (plan.delete.length > 0) {
      await lock.assertHeld();
      await mapLimit(plan.delete, 8, async (p) => {
        try {
          await repo.storage.remove(packObjectName(p.id));
        } catch (err) {
          if (!isRetained(err)) throw err;
          result.retained.push(p);
          return;
        }
        o.progress.packs++;
        o.progress.bytes += p.size;
      });
      repo.index.excludePacks(doomed);
    }
    if (result.retained.length > 0) {
      const oldest = Math.min(...ripeRecords.map((r) => Date.parse(r.time)));
      await writeRecord(
        repo,
        result.retained.map((p) => p.id),
        oldest,
        inv.snapshotIds,
      );
    }
    // The snapshot set outlives the ripe records: a record naming no packs carries it to the next run.
    else if (ripeRecords.length > 0 && !recordsCarry(waiting, inv.snapshotIds))
      await writeRecord(repo, [], now, inv.snapshotIds);
    for (const r of ripeRecords) await repo.storage.remove(r.name);
    return { ...result, ...(await staleTemporaries(repo, o)) };
  });
}

async function staleTemporaries(repo: Repository, o: Resolved): Promise<{ temporaries?: StaleTemporaries }> {
  const temporaries = await repo.storage.removeStaleTemporaries?.(o.temporaryAgeMs, { dryRun: o.dryRun });
  return temporaries ? { temporaries } : {};
}

function nextRipe(waiting: StoredRecord[], graceMs: number): { nextRipe?: string } {
  if (waiting.length === 0) return {};
  const first = Math.min(...waiting.map((r) => Date.parse(r.time)));
  return { nextRipe: new Date(first + graceMs).toISOString() };
}
