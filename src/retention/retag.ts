/**
 * Changing a snapshot's tags. Snapshot objects are content-addressed and never
 * rewritten, so a tag change stores a new snapshot object — the same record
 * with the new tags and `original` naming the snapshot it replaces — and then
 * removes the old one the way `forget` does: an audit record first, then a
 * tombstone, then the object. Under the exclusive lock, so `prune` never sees
 * a half-done change; at every step the repository holds the old snapshot, the
 * new one, or both (never neither).
 *
 * @module
 */

import path from 'node:path';
import { ErrorCode, LifeboatError, isLifeboatError } from '../errors/index.js';
import type { Snapshot, SnapshotEntry } from '../repository/format/index.js';
import type { Repository } from '../repository/repository.js';
import { writeTombstone } from '../repository/tombstone.js';
import { auditRecord, writeAudit, type AuditedRemoval } from './audit.js';

/** Tags to add, remove, or set in place of the current ones. */
export interface TagChange {
  /** Tags to add. */
  add?: string[];
  /** Tags to remove. */
  remove?: string[];
  /** Replace all tags with exactly these (not with `add`/`remove`). */
  set?: string[];
}

/** A snapshot whose tags changed: its old id and the id of the snapshot that replaced it. */
export interface RetaggedSnapshot {
  /** The snapshot as it was. */
  snapshot: string;
  tagsBefore: string[];
  tagsAfter: string[];
  /** The new snapshot's id; absent when the tags did not change (nothing was written). */
  replacedBy?: string;
}

/** What `tagSnapshots` changed, and which snapshots it left alone because their tags were already as asked. */
export interface RetagResult {
  changed: RetaggedSnapshot[];
  unchanged: RetaggedSnapshot[];
  /** The audit object naming the replacements (absent when nothing changed). */
  audit?: string;
}

/** A tag is a non-empty printable word without commas (tags are shown comma-separated). */
export function checkTag(tag: string): void {
  if (!tag || /[,\p{Cc}]/u.test(tag) || tag.trim() !== tag)
    throw new LifeboatError(ErrorCode.Usage, `"${tag}" is not a valid tag`, {
      hint: 'a tag is a non-empty word without commas, control characters or surrounding spaces',
    });
}

/** The tags after the change: sorted and unique, as every snapshot stores them. */
export function applyTagChange(tags: string[], change: TagChange): string[] {
  if (change.set && (change.add?.length || change.remove?.length))
    throw new LifeboatError(ErrorCode.Usage, '--set cannot be combined with --add or --remove');
  if (!change.set && !change.add?.length && !change.remove?.length)
    throw new LifeboatError(ErrorCode.Usage, 'nothing to change: give --add, --remove or --set');
  for (const t of [...(change.set ?? []), ...(change.add ?? []), ...(change.remove ?? [])]) checkTag(t);
  const next = new Set(change.set ?? tags);
  for (const t of change.add ?? []) next.add(t);
  for (const t of change.remove ?? []) next.delete(t);
  return [...next].sort();
}

/**
 * Apply `change` to each of `snapshots` (entries as listed). Refuses with
 * `refused` when the repository cannot be written (its lock cannot be taken
 * for lack of write access), and with `not_found` when a snapshot vanished
 * since it was chosen.
 */
export async function retag(
  repo: Repository,
  snapshots: SnapshotEntry[],
  change: TagChange,
  options: { stateDir?: string; now?: Date; signal?: AbortSignal } = {},
): Promise<RetagResult> {
  repo.requireAdmin('tag'); // a new tag is a new snapshot object replacing the old one
  const now = options.now ?? new Date();
  for (const s of snapshots) applyTagChange(s.tags, change); // usage errors before anything is written
  let lock;
  try {
    lock = await repo.lock(true, 'tag');
  } catch (err) {
    if (isLifeboatError(err, ErrorCode.Storage))
      throw new LifeboatError(ErrorCode.Refused, `tag refused: the repository cannot be written (${err.message})`, {
        hint: 'tags are changed by writing to the repository: use credentials and storage access that allow writes',
        cause: err,
      });
    throw err;
  }
  try {
    const { snapshots: current } = await repo.listSnapshots();
    const byId = new Map(current.map((s) => [s.id, s]));
    const result: RetagResult = { changed: [], unchanged: [] };
    const pending: Array<{ old: SnapshotEntry; tags: string[]; entry: RetaggedSnapshot }> = [];
    for (const chosen of snapshots) {
      const s = byId.get(chosen.id);
      if (!s)
        throw new LifeboatError(ErrorCode.NotFound, `snapshot ${chosen.id.slice(0, 8)} is gone; nothing was changed`, {
          hint: 'another process removed or retagged it; list them with `lifeboat snapshots`',
        });
      const tags = applyTagChange(s.tags, change);
      const entry: RetaggedSnapshot = { snapshot: s.id, tagsBefore: s.tags, tagsAfter: tags };
      if (tags.length === s.tags.length && tags.every((t, i) => t === s.tags[i])) result.unchanged.push(entry);
      else pending.push({ old: s, tags, entry });
    }
    if (pending.length === 0) return result;
    // Every new snapshot is stored before any old one goes: an interruption leaves both, never neither.
    for (const p of pending) {
      options.signal?.throwIfAborted();
      await lock.assertHeld();
      p.entry.replacedBy = await repo.saveSnapshot(replacement(p.old, p.tags));
    }
    const removed: AuditedRemoval[] = pending.map((p) => ({
      snapshot: p.old.id,
      time: p.old.time,
      host: p.old.host,
      source: p.old.source ?? '',
      rule: `replaced by ${p.entry.replacedBy} with tags [${p.tags.join(', ')}]`,
    }));
    result.audit = await writeAudit(
      repo,
      auditRecord(repo, describeChange(change), removed, now, 'tag'),
      options.stateDir ? path.join(options.stateDir, 'audit.log') : undefined,
    );
    for (const p of pending) {
      await lock.assertHeld();
      await writeTombstone(repo, {
        snapshot: p.old.id,
        time: p.old.time,
        tree: p.old.tree,
        forgottenAt: now.toISOString(),
        audit: `audit/${result.audit}`,
      });
      await repo.storage.remove(`snapshots/${p.old.id}`);
      result.changed.push(p.entry);
    }
    return result;
  } finally {
    await lock.release();
  }
}

function replacement(old: SnapshotEntry, tags: string[]): Snapshot & { original: string } {
  const { id, ...rest } = old;
  return { ...rest, tags, original: id };
}

function describeChange(change: TagChange): string {
  if (change.set) return `tags set to [${change.set.join(', ')}]`;
  const parts = [];
  if (change.add?.length) parts.push(`added [${change.add.join(', ')}]`);
  if (change.remove?.length) parts.push(`removed [${change.remove.join(', ')}]`);
  return `tags ${parts.join(', ')}`;
}
