import { tracePhase } from '../util/trace-timing.js';
import path from 'node:path';
import { ErrorCode, LifeboatError } from '../errors/index.js';
import type { Repository } from '../repository/repository.js';
import type { SnapshotEntry } from '../repository/format/index.js';
import { restoreChunkedFiles } from './chunked-files.js';
import { applyDirectoryMetadata, byDepth, createDirectories } from './directories.js';
import { groupLinkedFiles, linkNames, restoreHardlinks, restoreSymlinks } from './links.js';
import { planRestore, type RestorePlan, type Selection } from './plan.js';
import { RestoreTally, type RestoreProgress, type RestoreResult } from './summary.js';
import { RestoreTarget } from './target.js';
import { restoreWholeFiles } from './whole-files.js';
import { feedProgress } from '../util/progress-feed.js';

export type { RestoreProgress, RestoreResult } from './summary.js';
export { nsToSeconds } from './time.js';

/** Where `restore` writes, what it selects from the snapshot, progress and stop signal. */
export interface RestoreOptions extends Selection {
  target: string;
  dryRun?: boolean;
  /** Restore uid/gid (default: when running as root). */
  owners?: boolean;
  /** Live counters, updated as the restore runs. */
  progress?: RestoreProgress;
  /** Called with a copy of the counters as they change (each file or step at once, byte counts at most every 100 ms, and the final state at the end). */
  onProgress?: (progress: RestoreProgress) => void;
  /**
   * Stops the restore at the next file: it rejects with LifeboatError `interrupted`; the files already
   * restored stay in the target, a file being written is removed. The repository is only read.
   */
  signal?: AbortSignal;
}

/**
 * Restore a snapshot (or part of it) into `target`. Content is fetched in batches
 * in pack order, authenticated blob by blob and checked against its id (the
 * keyed hash of its content), then written sequentially per file; a file with a
 * blob that fails, or whose length differs from the recorded size, is removed
 * and reported. Nothing is written outside the target.
 */
export async function restore(
  repo: Repository,
  snapshot: SnapshotEntry,
  options: RestoreOptions,
): Promise<RestoreResult> {
  if (repo.index.packCount === 0) await repo.prepareRead();
  const plan = await planRestore(repo, snapshot.tree, options);
  tracePhase('restore planned');
  const result: RestoreResult = {
    plan,
    target: path.resolve(options.target),
    files: 0,
    bytes: 0,
    errors: [...plan.refused],
  };
  if (options.dryRun) return result;

  const target = await RestoreTarget.open(result.target);
  try {
    await restoreInto(repo, plan, target, result, options);
    tracePhase('files restored');
  } finally {
    target.close();
  }
  return result;
}

async function restoreInto(
  repo: Repository,
  plan: RestorePlan,
  target: RestoreTarget,
  result: RestoreResult,
  options: RestoreOptions,
): Promise<void> {
  const feed = feedProgress(
    options.progress ?? { filesDone: 0, bytesDone: 0, totalFiles: 0, totalBytes: 0 },
    options.onProgress,
  );
  try {
    await restoreWith(repo, plan, target, new RestoreTally(result, feed.live), options);
  } finally {
    feed.flush();
  }
}

async function restoreWith(
  repo: Repository,
  plan: RestorePlan,
  target: RestoreTarget,
  tally: RestoreTally,
  options: RestoreOptions,
): Promise<void> {
  const owners = options.owners ?? process.getuid?.() === 0;
  tally.setTotals(plan.files.length, plan.bytes);

  const levels = byDepth(plan.dirs);
  await createDirectories(levels, target, tally, options.signal);

  // Names of one multiply-linked file (same dev and inode): the first is restored, the others are linked to it.
  const { primaries: files, links } = groupLinkedFiles(plan.files.filter((f) => target.parentMade(f.path)));
  // Linked names write no content: the totals count what is written.
  tally.setTotals(
    files.length + links.length,
    files.reduce((n, f) => n + (f.node.size ?? 0), 0),
  );
  const single = files.filter((f) => f.node.content?.length === 1);
  const chunked = files.filter((f) => f.node.content?.length !== 1);
  await restoreWholeFiles(
    repo,
    target,
    single.map((entry) => ({ entry })),
    owners,
    (_job, bytes) => {
      tally.fileDone(bytes);
      tally.written(bytes);
    },
    (job, err) => tally.fail(job.entry.path, err),
    options.signal,
  );
  if (options.signal?.aborted) throw new LifeboatError(ErrorCode.Interrupted, 'restore interrupted');
  await restoreChunkedFiles(repo, chunked, target, owners, tally, options.signal);

  await restoreSymlinks(plan.symlinks, target, owners, tally);
  await linkNames(links, target, tally);
  await restoreHardlinks(plan.hardlinks, plan.files, target, tally);
  await applyDirectoryMetadata(levels, target, owners, tally);
}
