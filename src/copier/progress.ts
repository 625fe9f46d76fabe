/**
 * Live counters of a running copy, read by progress displays. The file and
 * byte counters are those of the snapshot being copied (its totals come from
 * the source snapshot's summary); `bytesAdded` is what it added so far.
 *
 * @module
 */

import { newBackupProgress, type BackupProgress } from '../archiver/progress.js';

/** What a copy read from the source and what it took from the destination instead. */
export interface CopyReadCounters {
  /** Content bytes read from the source repository. */
  bytesRead: number;
  /**
   * Files whose content was not read from the source because the destination
   * holds it: unchanged since the earlier snapshot the copy runs against, or
   * already copied in this run.
   */
  filesReused: number;
  /** Their bytes. */
  bytesReused: number;
}

export interface CopyProgress extends BackupProgress, CopyReadCounters {
  /** Id of the source snapshot being copied. */
  snapshot?: string;
  snapshotsDone: number;
  snapshotsTotal: number;
}

const noReads = (): CopyReadCounters => ({ bytesRead: 0, filesReused: 0, bytesReused: 0 });

/** Counters of a copy that has not started, to pass as `progress`. */
export function newCopyProgress(): CopyProgress {
  return { ...newBackupProgress(), ...noReads(), snapshotsDone: 0, snapshotsTotal: 0 };
}

/** Reset the per-snapshot counters for the next snapshot. */
export function startSnapshot(
  progress: CopyProgress,
  id: string,
  totals: { files: number; bytes: number } | undefined,
): void {
  // Snapshots are untrusted input: one without a summary still copies, without an ETA.
  Object.assign(progress, newBackupProgress(), noReads(), {
    phase: 'saving',
    snapshot: id,
    totalFiles: totals?.files,
    totalBytes: totals?.bytes,
  });
}
