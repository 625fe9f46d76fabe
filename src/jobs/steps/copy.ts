import { copy } from '../../copier/copy.js';
import { ErrorCode, LifeboatError } from '../../errors/index.js';
import type { SnapshotEntry } from '../../repository/format/index.js';
import { jobSources, nothingToDo, notConnected, timedStep, type JobRunContext } from './context.js';
import { keptByRetention, retentionFor } from './retention.js';

/**
 * Copies to each `copy_to` repository (3-2-1): the snapshots of the job's
 * sources (all snapshots when it names none) that the copy lacks, from `to`
 * or, for a job without `to`, from the first configured repository that is not
 * a copy target.
 */
export async function copyStep(ctx: JobRunContext): Promise<void> {
  const targets = ctx.job.copy_to ?? [];
  if (targets.length === 0) return;
  const from = ctx.job.to ?? Object.keys(ctx.loaded.config.repositories ?? {}).find((r) => !targets.includes(r));
  if (!from) {
    ctx.record({
      step: 'copy',
      startedAt: new Date().toISOString(),
      durationMs: 0,
      outcome: 'failed',
      error: 'no repository to copy from: give the job `to`',
    });
    return;
  }
  const sources = ctx.job.sources ? jobSources(ctx.loaded, ctx.job) : [undefined];
  if (sources.length === 0) {
    nothingToDo(ctx, { step: 'copy' }, 'the job names no source to copy');
    return;
  }
  for (const target of targets) {
    if (notConnected(ctx, target) || notConnected(ctx, from)) {
      ctx.record({
        step: 'copy',
        repository: target,
        startedAt: new Date().toISOString(),
        durationMs: 0,
        outcome: 'skipped',
        error: `not connected: ${notConnected(ctx, target) ? target : from}`,
      });
      continue;
    }
    for (const source of sources) {
      await timedStep(ctx, { step: 'copy', source, repository: target }, async () => {
        // With `then: [forget]`, what the target's retention would forget at once is not copied at all.
        const policy = ctx.job.then?.includes('forget') ? retentionFor(ctx, target) : undefined;
        const select = policy
          ? (missing: readonly SnapshotEntry[], held: readonly SnapshotEntry[]) =>
              keptByRetention(missing, held, policy)
          : undefined;
        const result = await copy(await ctx.open(from), await ctx.open(target), { source, signal: ctx.signal, select });
        if (result.unreadable.length)
          throw new LifeboatError(
            ErrorCode.Failure,
            `${result.unreadable.length} snapshot(s) of ${from} could not be read and were not copied`,
          );
        const detail = {
          from,
          copied: result.copied.length,
          skipped: result.skipped.length,
          outsideRetention: result.leftOut.length,
          addedBytes: result.addedBytes,
          storedBytes: result.storedBytes,
          bytesRead: result.bytesRead,
          filesReused: result.filesReused,
        };
        if (result.copied.length + result.skipped.length + result.leftOut.length === 0) {
          return {
            outcome: 'nothing_to_do',
            error: `${from} holds no snapshot${source ? ` of "${source}"` : ''} to copy`,
            addedBytes: 0,
            detail,
          };
        }
        return { addedBytes: result.addedBytes, detail };
      });
    }
  }
}
