/**
 * Phase one, under a shared lock (backups go on): find what no snapshot needs,
 * write a prune record naming it, and repack wasteful packs. Deletes nothing.
 *
 * The record is written before the repack: the sweep deletes a marked pack only
 * when every needed blob in it has an intact copy outside the marked packs, so
 * a record whose repack never finished only delays reclaiming those packs. The
 * other order would leave repacked copies unmarked after a crash, and the next
 * mark could then pick the old pack as the home of those blobs and repack again.
 *
 * @module
 */

import type { Repository } from '../repository/repository.js';
import { loadInventory } from './inventory.js';
import { stopIfAborted, type Resolved } from './options.js';
import { markedBy, planMark, type MarkPlan } from './plan.js';
import { listRecords, recordsCarry, writeRecord } from './record.js';
import { repack, type RepackResult } from './repack.js';

export interface MarkResult {
  plan: MarkPlan;
  /** The prune record written (`prune/<id>`), if anything was marked. */
  record?: string;
  repacked?: RepackResult;
  snapshots: number;
  /** Records that could not be read (ignored). */
  unreadableRecords: string[];
}

export async function mark(repo: Repository, o: Resolved): Promise<MarkResult> {
  return repo.withLock(false, o.dryRun ? 'prune --dry-run' : 'prune (mark)', async (lock) => {
    o.progress.phase = 'loading';
    const listed = await listRecords(repo);
    const marked = new Set(listed.records.flatMap((r) => r.packs));
    const inv = await loadInventory(repo, {
      exclusive: false,
      records: listed.records,
      onTree: () => {
        stopIfAborted(o);
        o.progress.trees++;
      },
    });
    const plan = planMark(inv, marked, o.maxUnused);
    const result: MarkResult = {
      plan,
      snapshots: inv.snapshots,
      unreadableRecords: listed.problems.map((p) => p.name),
    };
    const ids = markedBy(plan);
    // A record is also written when it marks nothing but the snapshot set is new: later runs check against it.
    if (o.dryRun || (ids.length === 0 && recordsCarry(listed.records, inv.snapshotIds))) return result;

    stopIfAborted(o);
    await lock.assertHeld();
    result.record = await writeRecord(repo, ids, o.now(), inv.snapshotIds);
    if (plan.repack.length > 0) {
      o.progress.packsTotal = plan.repack.length;
      o.progress.phase = 'repacking';
      // Stopping between packs is safe: a record whose repack never finished only delays reclaiming.
      result.repacked = await repack(repo, plan.repack, (bytes) => {
        stopIfAborted(o);
        o.progress.packs++;
        o.progress.bytes += bytes;
      });
    }
    return result;
  });
}
