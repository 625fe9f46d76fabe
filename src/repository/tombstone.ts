/**
 * A tombstone (`tombstones/<snapshot id>`, sealed as kind `tombstone`): the
 * proof that a snapshot was removed on purpose, by `forget`, written before the
 * snapshot object is removed. Named by the snapshot id, so it is found with one
 * direct read — never through a listing, which is exactly what may be short
 * when prune asks "was this snapshot forgotten, or is the listing lying?".
 * Tombstones are never removed; each is a few hundred bytes.
 *
 * @module
 */

import { ErrorCode, LifeboatError, isLifeboatError } from '../errors/index.js';
import { open, seal } from './crypto/index.js';
import type { Repository } from './repository.js';

export interface Tombstone {
  version: 1;
  snapshot: string;
  /** The snapshot's time and root tree, for the record. */
  time: string;
  tree: string;
  /** When it was forgotten, and the audit object that says by whom and why. */
  forgottenAt: string;
  audit: string;
}

export function tombstoneName(snapshot: string): string {
  return `tombstones/${snapshot}`;
}

export async function writeTombstone(repo: Repository, t: Omit<Tombstone, 'version'>): Promise<void> {
  const sealed = seal(repo.keys.encryption, 'tombstone', Buffer.from(JSON.stringify({ version: 1, ...t })));
  await repo.storage.put(tombstoneName(t.snapshot), sealed);
}

/**
 * Whether an authentic tombstone for `snapshot` exists. A missing one is
 * `false`; one that cannot be authenticated or names another snapshot is
 * `false` too (it cannot vouch for anything); a storage error rejects.
 */
export async function hasTombstone(repo: Repository, snapshot: string): Promise<boolean> {
  let sealed: Buffer;
  try {
    sealed = await repo.storage.get(tombstoneName(snapshot));
  } catch (err) {
    if (isLifeboatError(err, ErrorCode.NotFound)) return false;
    throw err;
  }
  try {
    const t = JSON.parse(open(repo.keys.encryption, 'tombstone', sealed).toString('utf8')) as Partial<Tombstone>;
    return t.version === 1 && t.snapshot === snapshot;
  } catch (err) {
    if (err instanceof LifeboatError || err instanceof SyntaxError) return false;
    throw err;
  }
}
