/**
 * Index consolidation: every pack that stays, each named once, in as few index
 * files as fit `BLOBS_PER_FILE` blob records. Packs being deleted and packs
 * that storage no longer holds are left out (the inventory has already shown
 * that every needed blob has an intact copy elsewhere), which is what clears
 * check's warnings about lost packs whose data was stored again. Packs of the
 * wrong size stay, so check keeps reporting them.
 *
 * @module
 */

import type { IndexedPack } from '../repository/format/index.js';
import type { Repository } from '../repository/repository.js';
import { missingPacks, type Inventory } from './inventory.js';

export const BLOBS_PER_FILE = 65_536;

export function packsToKeep(inv: Inventory, deleted: ReadonlySet<string>): IndexedPack[] {
  return [...inv.packs.values()].filter((p) => inv.stored.has(p.id) && !deleted.has(p.id));
}

export function groupForFiles(packs: IndexedPack[]): IndexedPack[][] {
  const files: IndexedPack[][] = [];
  let current: IndexedPack[] = [];
  let blobs = 0;
  for (const pack of packs) {
    if (current.length > 0 && blobs + pack.blobs.length > BLOBS_PER_FILE) {
      files.push(current);
      current = [];
      blobs = 0;
    }
    current.push(pack);
    blobs += pack.blobs.length;
  }
  if (current.length > 0) files.push(current);
  return files;
}

/** Whether rewriting the index would change anything a reader sees. */
export function needsConsolidation(inv: Inventory, deleted: ReadonlySet<string>): boolean {
  const indexed = [...inv.packs.keys()];
  return (
    indexed.some((id) => deleted.has(id)) ||
    missingPacks(inv).length > 0 ||
    inv.repeatedPacks > 0 ||
    inv.indexFiles.length > groupForFiles(packsToKeep(inv, deleted)).length
  );
}

/** Write the new index files; each `put` is durable when it resolves. Returns their names. */
export async function writeConsolidatedIndex(repo: Repository, packs: IndexedPack[]): Promise<string[]> {
  const names: string[] = [];
  for (const group of groupForFiles(packs)) {
    const id = await repo.saveIndex(group);
    if (id) names.push(`index/${id}`);
  }
  return names;
}
