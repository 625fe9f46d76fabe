/** Live counters of a running backup, read by progress displays. */
export interface BackupProgress {
  phase: 'scanning' | 'saving' | 'finishing' | 'done';
  filesDone: number;
  bytesDone: number;
  /** Filled in by the concurrent scan when totals are estimated. */
  totalFiles?: number;
  totalBytes?: number;
  bytesAdded: number;
  currentPath?: string;
  errors: number;
}

/** Counters of a backup that has not started, to pass as `progress`. */
export function newBackupProgress(): BackupProgress {
  return { phase: 'scanning', filesDone: 0, bytesDone: 0, bytesAdded: 0, errors: 0 };
}
