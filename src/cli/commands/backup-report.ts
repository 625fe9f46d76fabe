/**
 * What `backup` prints: the progress bar, the summary of a snapshot and its
 * JSON form.
 *
 * @module
 */

import type { BackupResult } from '../../archiver/backup.js';
import { newBackupProgress, type BackupProgress } from '../../archiver/progress.js';
import { formatBytes, formatDuration } from '../../util/format.js';
import type { CommandContext } from '../context.js';
import { ProgressBar } from '../progress-bar.js';

/** Run `run` with a progress bar for `label`, ended when it returns or when it calls the `stop` it is given. */
export async function withProgress<T>(
  ctx: CommandContext,
  label: string,
  run: (progress: BackupProgress, stop: () => void) => Promise<T>,
): Promise<T> {
  const progress = newBackupProgress();
  const bar = new ProgressBar(
    () => ({
      label,
      files: progress.filesDone,
      bytes: progress.bytesDone,
      totalFiles: progress.totalFiles,
      totalBytes: progress.totalBytes,
    }),
    ctx.out.options.progress,
    ctx.out.json
      ? (s, elapsed) => ctx.out.emit({ type: 'progress', ...s, elapsedMs: elapsed, addedBytes: progress.bytesAdded })
      : undefined,
  ).start();
  let running = true;
  const stop = () => {
    if (running) bar.stop();
    running = false;
  };
  try {
    return await run(progress, stop);
  } finally {
    stop();
  }
}

export function snapshotSummary(result: BackupResult): Record<string, unknown> {
  const { snapshot } = result;
  return {
    snapshot: {
      id: snapshot.id,
      time: snapshot.time,
      host: snapshot.host,
      source: snapshot.source ?? null,
      paths: snapshot.paths,
      tags: snapshot.tags,
      parent: snapshot.parent ?? null,
    },
    summary: snapshot.summary,
    errors: result.errors,
    repairedPacks: result.repairedPacks,
    knownDamagedCopies: result.knownDamagedCopies,
  };
}

export function report(ctx: CommandContext, result: BackupResult): void {
  const { snapshot, errors } = result;
  const s = snapshot.summary;
  for (const e of errors) ctx.out.warn(`could not read ${e.path}: ${e.message}`);
  if (result.repairedPacks)
    ctx.out.warn(
      `${result.repairedPacks} pack(s) named in the index were missing or damaged; their data was stored again`,
    );
  if (result.knownDamagedCopies)
    ctx.out.warn(
      `${result.knownDamagedCopies} stored blob(s) that \`check --read-data\` found damaged were not reused; data still on disk was stored again`,
    );
  ctx.out.info(
    `files: ${s.files} (${s.filesRead} read, ${s.files - s.filesRead} unchanged), dirs: ${s.dirs}\n` +
      `data: ${formatBytes(s.bytes)}, new: ${formatBytes(s.addedBytes)} (${formatBytes(s.addedStoredBytes)} stored)\n` +
      `duration: ${formatDuration(s.durationMs)}`,
  );
  ctx.out.result(
    `snapshot ${snapshot.id.slice(0, 8)} saved${errors.length ? ` (${errors.length} input(s) could not be read)` : ''}`,
  );
}
