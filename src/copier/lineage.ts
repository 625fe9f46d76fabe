/**
 * Where a copied snapshot came from, recorded in its metadata as `copiedFrom`:
 * the snapshot it was copied from (repository id and snapshot id) and the
 * original snapshot of the chain, so that a copy of a copy still names the
 * backup it descends from.
 *
 * @module
 */

import type { Snapshot, SnapshotEntry } from '../repository/format/index.js';

export interface SnapshotRef {
  repository: string;
  snapshot: string;
}

export interface CopiedFrom extends SnapshotRef {
  origin: SnapshotRef;
}

function isRef(x: unknown): x is SnapshotRef {
  const r = x as Partial<SnapshotRef> | null | undefined;
  return typeof r?.repository === 'string' && typeof r.snapshot === 'string';
}

/** The `copiedFrom` record of a snapshot, when it is a well-formed one. */
export function copiedFromOf(snapshot: Pick<Snapshot, 'metadata'>): CopiedFrom | undefined {
  const c = (snapshot.metadata as { copiedFrom?: Partial<CopiedFrom> } | undefined)?.copiedFrom;
  if (!isRef(c)) return undefined;
  const origin: unknown = (c as { origin?: unknown }).origin;
  const from = { repository: c.repository, snapshot: c.snapshot };
  return { ...from, origin: isRef(origin) ? { repository: origin.repository, snapshot: origin.snapshot } : from };
}

/** The original backup a snapshot stands for: its origin if it is a copy, else itself. */
export function originOf(snapshot: SnapshotEntry, repositoryId: string): SnapshotRef {
  return copiedFromOf(snapshot)?.origin ?? { repository: repositoryId, snapshot: snapshot.id };
}

/** The record a copy of `snapshot` (held by `repositoryId`) carries. */
export function copiedFromRecord(snapshot: SnapshotEntry, repositoryId: string): CopiedFrom {
  return { repository: repositoryId, snapshot: snapshot.id, origin: originOf(snapshot, repositoryId) };
}

const refKey = (r: SnapshotRef) => `${r.repository}:${r.snapshot}`;

/** Time, host, source, paths and tags: two snapshots that agree on all of them are the same backup. */
function identityKey(s: Snapshot): string {
  return JSON.stringify([s.time, s.host, s.source ?? '', [...s.paths].sort(), [...s.tags].sort()]);
}

/**
 * What a repository already holds, to decide which snapshots of another one it
 * lacks. A snapshot is present when the repository has a snapshot of the same
 * origin (a copy, a copy of a copy, or the original itself when copying back),
 * a direct copy of it, or one with equal time, host, source, paths and tags.
 */
export class HeldSnapshots {
  private readonly byKey = new Map<string, SnapshotEntry>();
  /** `repository:snapshot` of `copiedFrom` → the held copy made directly from that snapshot. */
  private readonly direct = new Map<string, SnapshotEntry>();

  constructor(
    private readonly repositoryId: string,
    snapshots: readonly SnapshotEntry[] = [],
  ) {
    for (const s of snapshots) this.add(s);
  }

  add(snapshot: SnapshotEntry): void {
    const keys = [`origin ${refKey(originOf(snapshot, this.repositoryId))}`, `identity ${identityKey(snapshot)}`];
    const from = copiedFromOf(snapshot);
    if (from) keys.push(`origin ${refKey(from)}`);
    for (const k of keys) if (!this.byKey.has(k)) this.byKey.set(k, snapshot);
    if (from && !this.direct.has(refKey(from))) this.direct.set(refKey(from), snapshot);
  }

  /** The held snapshot copied directly from `snapshot` of repository `repositoryId` (not a copy of a copy, not an equal backup). */
  directCopyOf(snapshot: Pick<SnapshotEntry, 'id'>, repositoryId: string): SnapshotEntry | undefined {
    return this.direct.get(refKey({ repository: repositoryId, snapshot: snapshot.id }));
  }

  /** The held snapshot that stands for `snapshot` of repository `repositoryId`, if any. */
  find(snapshot: SnapshotEntry, repositoryId: string): SnapshotEntry | undefined {
    return (
      this.byKey.get(`origin ${refKey(originOf(snapshot, repositoryId))}`) ??
      this.byKey.get(`origin ${refKey({ repository: repositoryId, snapshot: snapshot.id })}`) ??
      this.byKey.get(`identity ${identityKey(snapshot)}`)
    );
  }
}

/** Host, source and paths: snapshots that agree on them are backups of the same data over time. */
function seriesKey(s: Snapshot): string {
  return JSON.stringify([s.host, s.source ?? '', [...s.paths].sort()]);
}

/** The newest of `candidates` of the same series as `snapshot` and older than it, among those `accept` takes. */
export function latestOfSeriesBefore<T extends Snapshot>(
  snapshot: Snapshot,
  candidates: Iterable<T>,
  accept: (s: T) => boolean = () => true,
): T | undefined {
  const wanted = seriesKey(snapshot);
  let best: T | undefined;
  for (const s of candidates)
    if (s.time < snapshot.time && (!best || s.time > best.time) && seriesKey(s) === wanted && accept(s)) best = s;
  return best;
}
