import type { Repository } from '../repository/repository.js';
import type { SnapshotEntry } from '../repository/format/index.js';
import { walkSnapshotIntact } from '../repository/snapshot-intact.js';
import type { SourceRecord } from '../sources/contract.js';

/** The check made right after a backup: its snapshot reads back and matches what was stored. */
export interface BackupCheck {
  verified: boolean;
  /** Why it is not verified; empty when it is. */
  reasons: string[];
}

/** At most this many reasons are kept: one missing pack can make thousands of blobs unreadable. */
const MAX_REASONS = 20;

/**
 * The cheap check right after a backup: every tree of the snapshot reads back
 * and authenticates, every content blob is in the index, every pack holding
 * them is in storage with the size the index says, and a database source's
 * recorded integrity result is good. It reads trees (from storage) and one listing of
 * `data/`, not the data itself (that is `verify` and `check --read-data`).
 */
export async function checkBackup(
  opened: Repository,
  snapshot: SnapshotEntry,
  record?: SourceRecord,
): Promise<BackupCheck> {
  // Trees read back from storage, not from the cache the backup just filled.
  const repo = opened.readingFromStorage('shared');
  try {
    return await checkFromStorage(repo, snapshot, record);
  } finally {
    await repo.close();
  }
}

async function checkFromStorage(
  repo: Repository,
  snapshot: SnapshotEntry,
  record?: SourceRecord,
): Promise<BackupCheck> {
  const reasons: string[] = [];
  const add = (r: string) => {
    if (reasons.length < MAX_REASONS) reasons.push(r);
  };
  const { packs } = await walkSnapshotIntact(repo, snapshot.tree, add);
  const stored = new Map(
    (await repo.storage.list('data/')).map((o) => [o.name.slice(o.name.lastIndexOf('/') + 1), o.size]),
  );
  for (const pack of packs) {
    const size = stored.get(pack);
    if (size === undefined) add(`pack ${pack.slice(0, 12)} is missing from storage`);
    else if (size !== repo.index.packSize(pack))
      add(`pack ${pack.slice(0, 12)} is ${size} bytes, the index says ${repo.index.packSize(pack)}`);
  }
  reasons.push(...recordProblems(record ?? {}).slice(0, MAX_REASONS));
  return { verified: reasons.length === 0, reasons };
}

/** What a database source recorded about the integrity of what it stored. */
function recordProblems(record: SourceRecord): string[] {
  const out: string[] = [];
  if (typeof record.integrity === 'string' && record.integrity !== 'ok')
    out.push(`integrity check at backup time: ${record.integrity.slice(0, 200)}`);
  return out;
}
