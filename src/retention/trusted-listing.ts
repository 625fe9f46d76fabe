import { ErrorCode, LifeboatError } from '../errors/index.js';
import { listConsistently } from '../repository/consistent-listing.js';
import type { SnapshotEntry } from '../repository/format/index.js';
import type { Repository } from '../repository/repository.js';

/**
 * The snapshots, read whole, for a decision to remove some: every snapshot
 * object must read, and two more listings must show exactly what was read
 * (under the exclusive lock nothing changes). Retention never acts on an
 * incomplete listing: anything else refuses, naming what was wrong.
 */
export async function listSnapshotsForRemoval(
  repo: Repository,
  exclusive: boolean,
  operation: string,
): Promise<SnapshotEntry[]> {
  await repo.prepareRead();
  const listed = await repo.listSnapshots();
  if (listed.problems.length) {
    throw new LifeboatError(
      ErrorCode.Failure,
      `${listed.problems.length} snapshot(s) could not be read; nothing was removed`,
      {
        hint: 'run `lifeboat check` to see what is damaged; retention never acts on an incomplete listing',
        context: { unreadable: listed.problems.map((p) => p.name) },
      },
    );
  }
  const again = await listConsistently(repo.storage, 'snapshots/', exclusive, operation);
  const read = new Set(listed.snapshots.map((s) => `snapshots/${s.id}`));
  if (again.length !== read.size || again.some((o) => !read.has(o.name))) {
    throw new LifeboatError(
      ErrorCode.Refused,
      `${operation} refused: the listing of snapshots/ changed between takes (${read.size} then ${again.length} snapshots); nothing was removed`,
      {
        hint: 'the storage returns incomplete listings; check the endpoint or server, then run `lifeboat check` and try again',
      },
    );
  }
  return listed.snapshots;
}
