import type { SnapshotEntry } from '../repository/format/index.js';

/**
 * Whether a snapshot is a good copy of its source: saved without input errors
 * (a missing path, an unreadable or torn file) and holding something. Before
 * missing paths were refused, a backup of a path that did not exist saved an
 * empty snapshot (no file, no directory): that is no copy either.
 */
export function isCompleteCopy(s: Pick<SnapshotEntry, 'summary'>): boolean {
  const summary = s.summary as Partial<SnapshotEntry['summary']> | undefined;
  if (!summary) return true;
  return (summary.errors ?? 0) === 0 && (summary.files ?? 0) + (summary.dirs ?? 0) > 0;
}
