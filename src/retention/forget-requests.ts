/**
 * Forget requests (docs/adr/0046-forget-requests.md): `forget` with an append
 * key records which snapshots its policy would remove, as requests, and
 * removes nothing; an admin's `prune` or `forget` applies them under the
 * exclusive lock, on a listing it trusts, and declines any request that would
 * leave a source (one source on one host) without a good copy: at least one
 * snapshot that is a complete copy (`isCompleteCopy`) and whose trees and
 * blobs are all there (`snapshotIsComplete`) must remain. Declined requests
 * stay pending and are reported each time; applied ones are removed.
 *
 * @module
 */

import os from 'node:os';
import path from 'node:path';
import type { SnapshotEntry } from '../repository/format/index.js';
import {
  listForgetRequests,
  removeForgetRequest,
  writeForgetRequest,
  type ForgetRequest,
} from '../repository/forget-request.js';
import type { Repository } from '../repository/repository.js';
import { hasTombstone, writeTombstone } from '../repository/tombstone.js';
import { throwIfInterrupted } from '../util/interrupt.js';
import { auditRecord, writeAudit, type AuditedRemoval } from './audit.js';
import { isCompleteCopy } from './complete-copy.js';
import { groupKey } from './plan.js';
import { snapshotIsComplete } from './snapshot-check.js';

/** One request written by an append key's `forget`; `written: false` when one was pending already. */
export interface WrittenRequest extends AuditedRemoval {
  written: boolean;
}

/** Record requests for the snapshots `removed` names; removes nothing. */
export async function requestForgets(
  repo: Repository,
  removed: AuditedRemoval[],
  policy: string,
  now: Date,
): Promise<WrittenRequest[]> {
  const out: WrittenRequest[] = [];
  for (const r of removed) {
    const written = await writeForgetRequest(repo, {
      snapshot: r.snapshot,
      time: r.time,
      source: r.source,
      host: r.host,
      requestedAt: now.toISOString(),
      requestedBy: { key: repo.keyName ?? null, by: `${userName()}@${os.hostname()}` },
      policy,
      reason: r.rule,
    });
    out.push({ ...r, written });
  }
  return out;
}

/** A request an admin run did not apply, and why. */
export interface DeclinedRequest {
  snapshot: string;
  source: string;
  host: string;
  time: string;
  why: string;
}

/** What an admin run did with the pending requests. */
export interface AppliedRequests {
  /** Forgotten (tombstone written, snapshot removed, request removed); on a dry run: would be. */
  applied: AuditedRemoval[];
  /** Left pending, with the reason. */
  declined: DeclinedRequest[];
  /** Requests whose snapshot was already forgotten (a tombstone exists): removed. */
  done: string[];
  /** Request objects that could not be authenticated: never applied, reported by every admin run. */
  unreadable: string[];
  /** The audit object naming the applied requests. */
  audit?: string;
}

export interface ApplyOptions {
  dryRun?: boolean;
  now?: Date;
  stateDir?: string;
  signal?: AbortSignal;
}

/**
 * Apply the pending requests against `snapshots`, a listing the caller trusts
 * (read under the exclusive lock, see `listSnapshotsForRemoval`). The caller
 * holds the exclusive lock unless this is a dry run.
 */
export async function applyForgetRequests(
  repo: Repository,
  snapshots: SnapshotEntry[],
  options: ApplyOptions = {},
): Promise<AppliedRequests> {
  repo.requireAdmin('applying forget requests');
  const now = options.now ?? new Date();
  const { requests, unreadable } = await listForgetRequests(repo);
  const result: AppliedRequests = { applied: [], declined: [], done: [], unreadable };
  if (requests.length === 0) return result;
  const byId = new Map(snapshots.map((s) => [s.id, s]));
  // Oldest snapshot first, by the snapshot's own time (a request's claims are not trusted).
  const timeOf = (r: ForgetRequest) => byId.get(r.snapshot)?.time ?? r.time;
  requests.sort((a, b) => timeOf(a).localeCompare(timeOf(b)));
  const going = new Set<string>();
  const verified = new Map<string, Promise<boolean>>();
  const good = (s: SnapshotEntry) => {
    if (!isCompleteCopy(s)) return Promise.resolve(false);
    if (!verified.has(s.id)) verified.set(s.id, snapshotIsComplete(repo, s));
    return verified.get(s.id)!;
  };
  for (const req of requests) {
    const s = byId.get(req.snapshot);
    if (!s) {
      if (await hasTombstone(repo, req.snapshot)) result.done.push(req.snapshot);
      else result.declined.push(declined(req, 'the snapshot is not in the repository listing'));
      continue;
    }
    const key = groupKey(s);
    if ((s.metadata as { pitr?: { kind?: unknown } } | undefined)?.pitr?.kind === 'wal') {
      result.declined.push(declined(req, 'archived WAL is removed only by `lifeboat wal prune`', s));
      continue;
    }
    // Newest first: the first good copy that stays is the one that allows the removal.
    const staying = snapshots
      .filter((o) => o.id !== s.id && !going.has(o.id))
      .filter((o) => {
        const k = groupKey(o);
        return k.host === key.host && k.source === key.source;
      })
      .sort((a, b) => b.time.localeCompare(a.time));
    let keeper: SnapshotEntry | undefined;
    for (const o of staying) {
      if (await good(o)) {
        keeper = o;
        break;
      }
    }
    if (!keeper) {
      const why = staying.length
        ? `no other snapshot of source "${key.source}" on ${key.host} is a complete copy whose data is all there`
        : `it is the last snapshot of source "${key.source}" on ${key.host}`;
      result.declined.push(declined(req, `${why}; a request never removes the last good copy`, s));
      continue;
    }
    going.add(s.id);
    result.applied.push({
      snapshot: s.id,
      time: s.time,
      host: key.host,
      source: key.source,
      rule: `forget request of ${req.requestedBy.by} (key ${req.requestedBy.key?.slice(0, 8) ?? 'unknown'}, ${req.requestedAt}): ${req.reason}`,
    });
  }
  if (options.dryRun) return result;
  for (const id of result.done) await removeForgetRequest(repo, id);
  if (result.applied.length === 0) return result;
  throwIfInterrupted(options.signal, 'no forget request was applied');
  result.audit = await writeAudit(
    repo,
    auditRecord(repo, 'forget requests of append keys', result.applied, now),
    options.stateDir ? path.join(options.stateDir, 'audit.log') : undefined,
  );
  for (const r of result.applied) {
    throwIfInterrupted(options.signal, 'some forget requests were not applied; run prune again to finish');
    await writeTombstone(repo, {
      snapshot: r.snapshot,
      time: r.time,
      tree: byId.get(r.snapshot)!.tree,
      forgottenAt: now.toISOString(),
      audit: `audit/${result.audit}`,
    });
    await repo.storage.remove(`snapshots/${r.snapshot}`);
    await removeForgetRequest(repo, r.snapshot);
  }
  return result;
}

function declined(req: ForgetRequest, why: string, s?: SnapshotEntry): DeclinedRequest {
  const key = s ? groupKey(s) : { source: req.source, host: req.host };
  return { snapshot: req.snapshot, time: s?.time ?? req.time, ...key, why };
}

function userName(): string {
  try {
    return os.userInfo().username;
  } catch {
    return 'unknown';
  }
}
