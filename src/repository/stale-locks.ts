/**
 * `unlock`: find the locks nobody holds any more and remove them. A lock is
 * stale exactly when `isStale` says so (not refreshed for `staleMs`, or held by
 * a process of this host that no longer runs); every other lock is left alone
 * unless the caller asks to remove all of them.
 *
 * @module
 */

import type { Storage } from '../storage/contract.js';
import { DEFAULT_LOCK_TIMING, isStale, readLocks, type LockRecord, type LockTiming } from './locks.js';

/** A lock found in the repository, and whether it is stale. */
export interface ListedLock {
  /** The object name, `locks/<id>`. */
  name: string;
  /** The holder; null for a lock object that cannot be read (damaged, or sealed with another repository's key). */
  holder: LockRecord | null;
  /** `stale`, `live`, or `unreadable` (cannot name a holder). */
  state: 'stale' | 'live' | 'unreadable';
}

/** The locks `unlock` removed and the live ones it kept. */
export interface UnlockResult {
  removed: ListedLock[];
  kept: ListedLock[];
}

/** Every lock with its state. */
export async function listLocks(
  storage: Storage,
  key: Buffer,
  timing: LockTiming = DEFAULT_LOCK_TIMING,
): Promise<ListedLock[]> {
  const locks = await readLocks(storage, key);
  return locks.map(({ name, record }) => ({
    name,
    holder: record ?? null,
    state: !record ? 'unreadable' : isStale(record, timing) ? 'stale' : 'live',
  }));
}

/**
 * Remove the stale locks, or with `all` every lock (live and unreadable ones
 * too: only safe when no other Lifeboat process uses the repository).
 */
export async function removeLocks(
  storage: Storage,
  key: Buffer,
  options: { all?: boolean; timing?: LockTiming } = {},
): Promise<UnlockResult> {
  const locks = await listLocks(storage, key, options.timing);
  const removed: ListedLock[] = [];
  const kept: ListedLock[] = [];
  for (const lock of locks) {
    if (options.all || lock.state === 'stale') {
      await storage.remove(lock.name);
      removed.push(lock);
    } else kept.push(lock);
  }
  return { removed, kept };
}
