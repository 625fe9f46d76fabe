import type { Repository } from '../repository/repository.js';
import { resolveSnapshotRef, type SnapshotEntry, type SnapshotFilter } from '../repository/snapshot.js';

/** Resolve `latest`, an id or a prefix against the repository's snapshots. */
export async function findSnapshot(repo: Repository, ref: string, filter: SnapshotFilter = {}): Promise<SnapshotEntry> {
  const { snapshots } = await repo.listSnapshots();
  return resolveSnapshotRef(snapshots, ref, filter);
}
