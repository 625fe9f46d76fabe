import type { RestorePlan } from './plan.js';

/** Live counters of a running restore, for a progress display (read while it runs). */
export interface RestoreProgress {
  filesDone: number;
  bytesDone: number;
  totalFiles: number;
  totalBytes: number;
}

/** What a restore wrote, and every entry it could not restore. */
export interface RestoreResult {
  plan: RestorePlan;
  target: string;
  files: number;
  bytes: number;
  errors: Array<{ path: string; message: string }>;
}

/**
 * What a restore has done so far: the files and bytes of its result, the
 * caller's live progress counters, and every entry that failed. A failed
 * entry is recorded and the restore goes on with the others.
 */
export class RestoreTally {
  readonly progress: RestoreProgress;

  constructor(
    private readonly result: RestoreResult,
    progress?: RestoreProgress,
  ) {
    this.progress = progress ?? { filesDone: 0, bytesDone: 0, totalFiles: 0, totalBytes: 0 };
  }

  /** What the restore is going to write. */
  setTotals(files: number, bytes: number): void {
    this.progress.totalFiles = files;
    this.progress.totalBytes = bytes;
  }

  /** Content written, counted as it is written (before its file is finished). */
  written(bytes: number): void {
    this.progress.bytesDone += bytes;
  }

  /** A file restored (or a name linked to one), holding `bytes` of content. */
  fileDone(bytes: number): void {
    this.result.files++;
    this.result.bytes += bytes;
    this.progress.filesDone++;
  }

  readonly fail = (p: string, err: unknown): void => {
    this.result.errors.push({ path: p, message: (err as Error).message ?? String(err) });
  };

  /** The paths that failed so far. */
  failedPaths(): Set<string> {
    return new Set(this.result.errors.map((e) => e.path));
  }

  /** One step for the entry at `p`; an error it throws is that entry's failure. */
  async attempt(p: string, step: () => Promise<void>): Promise<void> {
    try {
      await step();
    } catch (err) {
      this.fail(p, err);
    }
  }
}
