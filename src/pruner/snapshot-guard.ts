/**
 * Snapshots prune has reason to believe exist, beyond the listing it was just
 * given: those an earlier mark saw (recorded in its prune record), and the
 * parents of listed snapshots. Each one the listing lacks is looked up by name,
 * which no listing can shorten:
 *
 * - it has a tombstone: `forget` removed it on purpose — fine;
 * - its object is there: the listing omitted it — refuse;
 * - it is gone without a tombstone and an earlier mark saw it: it vanished
 *   without a forget — refuse (a wrong bucket or prefix, a lost object);
 * - it is gone and only named as a parent: nothing to protect (a parent may
 *   have been forgotten before tombstones existed, or copied from elsewhere).
 *
 * @module
 */

import { ErrorCode, LifeboatError, isLifeboatError } from '../errors/index.js';
import type { Repository } from '../repository/repository.js';
import type { SnapshotEntry } from '../repository/format/index.js';
import { hasTombstone } from '../repository/tombstone.js';
import { mapLimit } from '../util/map-limit.js';
import type { StoredRecord } from './record.js';

export type KnownSnapshots = Map<string, { seenAt?: string; parentOf?: string }>;

export function knownSnapshots(records: StoredRecord[], listed: SnapshotEntry[]): KnownSnapshots {
  const known: KnownSnapshots = new Map();
  for (const r of records) {
    for (const id of r.snapshots ?? []) {
      const k = known.get(id);
      if (!k?.seenAt || k.seenAt < r.time) known.set(id, { ...k, seenAt: r.time });
    }
  }
  for (const s of listed) {
    if (s.parent && /^[0-9a-f]{64}$/.test(s.parent) && !known.get(s.parent)?.parentOf)
      known.set(s.parent, { ...known.get(s.parent), parentOf: s.id });
  }
  return known;
}

export async function assertNoSnapshotVanished(
  repo: Repository,
  listed: SnapshotEntry[],
  known: KnownSnapshots,
): Promise<void> {
  const present = new Set(listed.map((s) => s.id));
  const absent = [...known].filter(([id]) => !present.has(id));
  const problems = (
    await mapLimit(absent, 8, async ([id, why]): Promise<string | undefined> => {
      if (await hasTombstone(repo, id)) return undefined;
      const seen = why.seenAt ? `seen by the prune of ${why.seenAt}` : `parent of ${why.parentOf!.slice(0, 8)}`;
      try {
        await repo.storage.stat(`snapshots/${id}`);
        return `snapshot ${id.slice(0, 8)} (${seen}) exists but the listing of snapshots/ left it out`;
      } catch (err) {
        if (!isLifeboatError(err, ErrorCode.NotFound)) throw err;
      }
      return why.seenAt
        ? `snapshot ${id.slice(0, 8)} (${seen}) is gone, and no forget recorded its removal`
        : undefined;
    })
  ).filter((p): p is string => p !== undefined);
  if (problems.length === 0) return;
  throw new LifeboatError(
    ErrorCode.Refused,
    `prune refused: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? `; and ${problems.length - 5} more` : ''}; nothing was deleted`,
    {
      hint:
        'the snapshot listing cannot be trusted for deletion: check the repository location and the storage server, and run `lifeboat snapshots` and `lifeboat check`; ' +
        'if a snapshot object was lost, put it back from a copy; if it was removed on purpose without `lifeboat forget`, remove the prune records under prune/ (they only allow deletion) and prune again',
      context: { problems },
    },
  );
}
