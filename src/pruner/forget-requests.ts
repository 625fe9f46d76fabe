/**
 * Before it marks, `prune` applies the pending forget requests of append keys
 * (docs/adr/0046-forget-requests.md), under the exclusive lock, on a listing
 * it trusts twice over: the double listing of retention, and prune's own
 * check that no snapshot an earlier mark saw vanished without a tombstone.
 * The snapshots it forgets then lose their data through the usual mark, grace
 * period and sweep. No request pending: no lock taken, nothing changes.
 *
 * @module
 */

import { ErrorCode, isLifeboatError, type LifeboatError } from '../errors/index.js';
import { FORGET_REQUESTS } from '../repository/forget-request.js';
import type { Repository } from '../repository/repository.js';
import { applyForgetRequests, type AppliedRequests } from '../retention/forget-requests.js';
import { listSnapshotsForRemoval } from '../retention/trusted-listing.js';
import type { Resolved } from './options.js';
import { listRecords } from './record.js';
import { assertNoSnapshotVanished, knownSnapshots } from './snapshot-guard.js';

export type PruneRequests = AppliedRequests | { deferred: LifeboatError };

export async function applyPendingRequests(repo: Repository, o: Resolved): Promise<PruneRequests | undefined> {
  if ((await repo.storage.list(FORGET_REQUESTS)).length === 0) return undefined;
  const apply = async (exclusive: boolean) => {
    const listed = await listSnapshotsForRemoval(repo, exclusive, 'prune');
    const records = await listRecords(repo);
    await assertNoSnapshotVanished(repo, listed, knownSnapshots(records.records, listed));
    return applyForgetRequests(repo, listed, { dryRun: o.dryRun, now: new Date(o.now()), signal: o.signal });
  };
  if (o.dryRun) return apply(false);
  try {
    return await repo.withLock(true, 'prune (forget requests)', () => apply(true));
  } catch (err) {
    if (isLifeboatError(err, ErrorCode.Locked)) return { deferred: err };
    throw err;
  }
}
