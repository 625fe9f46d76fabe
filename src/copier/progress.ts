/**
 * Live counters of a running copy, read by progress displays. The file and
 * byte counters are those of the snapshot being copied (its totals come from
 * the source snapshot's summary); `bytesAdded` is what it added so far.
 *
 * @module
 */

import { newBackupProgress, type BackupProgress } from '../archiver/progress.js';

export interface CopyProgress extends BackupProgress {
  /** Id of the source snapshot being copied. */
  snapshot?: string;
  snapshotsDone: number;
  snapshotsTotal: number;
}

/** Counters of a copy that has not started, to pass as `progress`. */
export function newCopyProgress(): CopyProgress {
  return { ...newBackupProgress(), snapshotsDone: 0, snapshotsTotal: 0 };
}

/** Reset the per-snapshot counters for the next snapshot. */
export function startSnapshot(
  progress: CopyProgress,
  id: string,
  totals: { files: number; bytes: number } | undefined,
): void {
  // Snapshots are untrusted input: one without a summary still copies, without an ETA.
  Object.assign(progress, newBackupProgress(), {
    phase: 'saving',
    snapshot: id,
    totalFiles: totals?.files,
    totalBytes: totals?.bytes,
  });
}
