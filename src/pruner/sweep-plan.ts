/**
 * Which ripe marked packs may be deleted now (pure). The inventory is fresh,
 * taken under the exclusive lock, so it includes every snapshot saved since
 * the mark — also those that deduplicated against a marked pack. A marked pack
 * is deleted only if every needed blob in it has an intact copy in a pack that
 * is not marked at all; otherwise it is kept (and unmarked with its record).
 * Checking copies against all ripe packs, not against what is finally deleted,
 * can only keep more.
 *
 * @module
 */

import { blobKey } from '../repository/index/index.js';
import { isHealthy, type Inventory } from './inventory.js';
import type { PackRef } from './plan.js';

export interface SweepPlan {
  delete: PackRef[];
  /** Marked packs that are needed again (or damaged) and so stay. */
  kept: PackRef[];
}

export function planSweep(inv: Inventory, ripe: ReadonlySet<string>): SweepPlan {
  const plan: SweepPlan = { delete: [], kept: [] };
  for (const id of ripe) {
    const storedSize = inv.stored.get(id);
    if (storedSize === undefined) continue; // already gone (an interrupted sweep removed it)
    const pack = inv.packs.get(id);
    if (!pack) {
      plan.delete.push({ id, size: storedSize }); // still in no index: nothing can reference it
      continue;
    }
    const deletable =
      isHealthy(inv, id) &&
      pack.blobs.every((b) => {
        const key = blobKey(b.id);
        return !inv.used.has(key) || (inv.copies.get(key) ?? []).some((p) => !ripe.has(p) && isHealthy(inv, p));
      });
    (deletable ? plan.delete : plan.kept).push({ id, size: storedSize });
  }
  return plan;
}
