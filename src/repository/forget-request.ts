/**
 * A forget request (`forget-requests/<snapshot id>`, sealed as kind
 * `forget-request`): what `forget` writes when the repository was opened with
 * an append key. It removes nothing: an admin's `prune` (or `forget`) applies
 * it later, after its own safety rules, writing the real tombstone and removing
 * the snapshot; it may also decline it (never the last good snapshot of a
 * source). A request is a new object, so a repository server's append token
 * may write it; writing one never replaces another (a snapshot already
 * requested is left alone). Only an admin removes requests: once applied, or
 * when the snapshot is gone. Named by the snapshot id, like a tombstone.
 *
 * @module
 */

import { ErrorCode, LifeboatError, isLifeboatError } from '../errors/index.js';
import { mapLimit } from '../util/map-limit.js';
import { open, seal } from './crypto/index.js';
import type { Repository } from './repository.js';

export const FORGET_REQUESTS = 'forget-requests/';

export interface ForgetRequest {
  version: 1;
  snapshot: string;
  /** The snapshot's time, source and host, for the record and for reports. */
  time: string;
  source: string;
  host: string;
  requestedAt: string;
  /** The key that wrote the request (its id under keys/) and user@host of the process. */
  requestedBy: { key: string | null; by: string };
  /** The retention policy and the rules that let the snapshot go, as the requester saw them. */
  policy: string;
  reason: string;
}

export function forgetRequestName(snapshot: string): string {
  return `${FORGET_REQUESTS}${snapshot}`;
}

/**
 * Write a request unless one for the same snapshot exists already: `true` when
 * written, `false` when one was there (a new request never replaces an old one;
 * an append token could not do it anyway).
 */
export async function writeForgetRequest(repo: Repository, r: Omit<ForgetRequest, 'version'>): Promise<boolean> {
  const name = forgetRequestName(r.snapshot);
  try {
    await repo.storage.stat(name);
    return false;
  } catch (err) {
    if (!isLifeboatError(err, ErrorCode.NotFound)) throw err;
  }
  const sealed = seal(repo.keys.encryption, 'forget-request', Buffer.from(JSON.stringify({ version: 1, ...r })));
  await repo.storage.put(name, sealed);
  return true;
}

/** The pending requests, and the names of those that cannot be authenticated or name another snapshot. */
export interface ListedForgetRequests {
  requests: ForgetRequest[];
  unreadable: string[];
}

export async function listForgetRequests(repo: Repository): Promise<ListedForgetRequests> {
  const names = (await repo.storage.list(FORGET_REQUESTS)).map((o) => o.name);
  const unreadable: string[] = [];
  const read = await mapLimit(names, 16, async (name) => {
    try {
      return readRequest(name, await repo.storage.get(name), repo);
    } catch (err) {
      if (isLifeboatError(err, ErrorCode.NotFound)) return undefined; // applied by an admin meanwhile
      if (err instanceof LifeboatError || err instanceof SyntaxError) {
        unreadable.push(name);
        return undefined;
      }
      throw err;
    }
  });
  return {
    requests: read.filter((r): r is ForgetRequest => r !== undefined).sort((a, b) => a.time.localeCompare(b.time)),
    unreadable,
  };
}

function readRequest(name: string, sealed: Buffer, repo: Repository): ForgetRequest {
  const r = JSON.parse(open(repo.keys.encryption, 'forget-request', sealed).toString('utf8')) as Partial<ForgetRequest>;
  if (r.version !== 1 || !r.snapshot || forgetRequestName(r.snapshot) !== name)
    throw new LifeboatError(ErrorCode.Corrupt, `${name} is not a forget request for the snapshot it is named after`);
  return r as ForgetRequest;
}

/** Remove a request (admin only: applied, or its snapshot is gone). */
export async function removeForgetRequest(repo: Repository, snapshot: string): Promise<void> {
  repo.requireAdmin('removing a forget request');
  await repo.storage.remove(forgetRequestName(snapshot));
}
