import type { SnapshotEntry } from '../repository/format/index.js';
import { latestOfSeriesBefore, type HeldSnapshots } from './lineage.js';

/**
 * A source snapshot the destination holds a direct copy of, to copy another
 * snapshot against: what is unchanged since `from` is taken from `copy`
 * instead of being read from the source again.
 */
export interface IncrementalBase {
  /** The earlier snapshot, in the source repository. */
  from: SnapshotEntry;
  /** The destination's copy of it, made from this source repository (`copiedFrom`). */
  copy: SnapshotEntry;
}

/**
 * The base for copying `snapshot` out of the source `sourceId`: its parent when
 * the destination holds a copy of it made from this source, else the latest
 * earlier snapshot of the same series (host, source, paths) that has one. A
 * copy made from another repository, or a snapshot equal only by its facts, is
 * no base: its trees were not built from this source's trees.
 */
export function incrementalBase(
  snapshot: SnapshotEntry,
  sourceSnapshots: ReadonlyMap<string, SnapshotEntry>,
  held: HeldSnapshots,
  sourceId: string,
): IncrementalBase | undefined {
  const parent = snapshot.parent ? sourceSnapshots.get(snapshot.parent) : undefined;
  const parentCopy = parent && held.directCopyOf(parent, sourceId);
  if (parent && parentCopy) return { from: parent, copy: parentCopy };
  const from = latestOfSeriesBefore(snapshot, sourceSnapshots.values(), (s) => !!held.directCopyOf(s, sourceId));
  const copy = from && held.directCopyOf(from, sourceId);
  return from && copy ? { from, copy } : undefined;
}
