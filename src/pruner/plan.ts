/**
 * The mark plan (pure): which packs hold nothing the snapshots need, which are
 * wasteful enough to repack, and which packs no index names.
 *
 * Every needed blob gets one "home" copy: the first intact copy outside the
 * packs already marked, else the first intact copy. A pack's needed bytes are
 * the blobs whose home it is, so a second copy of a blob (two writers stored it,
 * or it was repacked) counts as unused and its pack is reclaimed in turn.
 * Packs already named by a pending prune record are left to that record,
 * except when they are still the home of needed blobs (their repack was
 * interrupted, or a backup deduplicated against them since): those blobs are
 * copied out, so the record's sweep can delete the pack.
 *
 * @module
 */

import type { IndexedBlob } from '../repository/format/index.js';
import { blobKey } from '../repository/index/index.js';
import { isHealthy, unindexedPacks, type Inventory } from './inventory.js';

export interface PackRef {
  id: string;
  size: number;
}

export interface RepackItem extends PackRef {
  /** The needed blobs, to be copied into new packs. */
  keep: IndexedBlob[];
  /** Stored bytes of the blobs that are not needed. */
  unusedBytes: number;
}

export interface MarkPlan {
  unused: PackRef[];
  repack: RepackItem[];
  unindexed: PackRef[];
  /** Packs left alone because a pending prune record names them already. */
  alreadyMarked: number;
}

export function planMark(inv: Inventory, marked: ReadonlySet<string>, maxUnused: number): MarkPlan {
  const home = homes(inv, marked);
  const plan: MarkPlan = { unused: [], repack: [], unindexed: [], alreadyMarked: 0 };
  for (const pack of inv.packs.values()) {
    if (!isHealthy(inv, pack.id)) continue; // missing packs leave with the index; damaged ones stay for check to report
    const keep = pack.blobs.filter((b) => home.get(blobKey(b.id)) === pack.id);
    const blobBytes = pack.blobs.reduce((n, b) => n + b.length, 0);
    const keptBytes = keep.reduce((n, b) => n + b.length, 0);
    if (marked.has(pack.id)) {
      plan.alreadyMarked++;
      if (keep.length > 0) plan.repack.push({ id: pack.id, size: pack.size, keep, unusedBytes: blobBytes - keptBytes });
    } else if (keep.length === 0) plan.unused.push({ id: pack.id, size: pack.size });
    else if (blobBytes > 0 && (blobBytes - keptBytes) / blobBytes > maxUnused) {
      plan.repack.push({ id: pack.id, size: pack.size, keep, unusedBytes: blobBytes - keptBytes });
    }
  }
  for (const id of unindexedPacks(inv)) {
    if (marked.has(id)) plan.alreadyMarked++;
    else plan.unindexed.push({ id, size: inv.stored.get(id)! });
  }
  return plan;
}

/** The pack ids a plan marks for deletion. */
export function markedBy(plan: MarkPlan): string[] {
  return [...plan.unused, ...plan.repack, ...plan.unindexed].map((p) => p.id);
}

function homes(inv: Inventory, marked: ReadonlySet<string>): Map<string, string> {
  const out = new Map<string, string>();
  for (const key of inv.used) {
    const intact = (inv.copies.get(key) ?? []).filter((p) => isHealthy(inv, p));
    const chosen = intact.find((p) => !marked.has(p)) ?? intact[0];
    if (chosen) out.set(key, chosen);
  }
  return out;
}
