import { newBackupProgress, type BackupProgress } from '../../archiver/progress.js';
import { ErrorCode, LifeboatError } from '../../errors/index.js';
import { backupAndCheck, unreadableInputs } from '../backup-and-check.js';
import path from 'node:path';
import { hookStep } from '../hook-steps.js';
import { jobSources, skippedAsNotConnected, timedStep, type JobRunContext } from './context.js';

export interface BackupStepOptions {
  /** Why the backups are made (default: `job NAME`). */
  reason?: string;
  tags?: string[];
  /** Given each backup step's live counters as it starts; the function it returns is called when the step ends. */
  watchBackup?: (step: { source: string; repository: string }, progress: BackupProgress) => () => void;
}

/**
 * Each of the job's sources into `to`, one recorded step per source, checked
 * at once: a snapshot that does not pass its check fails the step; a
 * configured path that is missing fails it though the rest was saved; inputs
 * unreadable inside the walk make it partial.
 */
export async function backupStep(ctx: JobRunContext, options: BackupStepOptions): Promise<void> {
  const to = ctx.job.to;
  if (!to) return;
  for (const source of jobSources(ctx.loaded, ctx.job)) {
    if (skippedAsNotConnected(ctx, { step: 'backup', source, repository: to })) continue;
    await timedStep(ctx, { step: 'backup', source, repository: to }, async () => {
      const repo = await ctx.open(to);
      const progress = newBackupProgress();
      // Watching ends when the snapshot is saved (before its check), or when the backup fails.
      let watching = options.watchBackup?.({ source, repository: to }, progress);
      const unwatch = () => {
        watching?.();
        watching = undefined;
      };
      const { backup: result, check: checked } = await backupAndCheck(
        repo,
        source,
        ctx.loaded.config.sources![source]!,
        {
          tags: [...(options.tags ?? [])],
          reason: options.reason ?? `job ${ctx.jobName}`,
          signal: ctx.signal,
          log: (l) => ctx.log(`${source}: ${l}`),
          run: { job: ctx.jobName, runId: ctx.runId },
          hooks: {
            cwd: path.dirname(ctx.loaded.file),
            repository: to,
            onPhase: (phase) => ctx.record(hookStep(phase, { source, repository: to })),
          },
          progress,
          onSaved: unwatch,
        },
      ).finally(unwatch);
      const s = result.snapshot.summary;
      if (!checked.verified)
        throw new LifeboatError(
          ErrorCode.Corrupt,
          `snapshot ${result.snapshot.id.slice(0, 8)} did not pass its check: ${checked.reasons.join('; ')}`,
        );
      // A configured path that is missing (a typo, an unmounted disk) leaves that data unprotected: the
      // step fails, though the rest was saved. Files unreadable inside the walk make it partial.
      const missing = result.errors.some((e) => e.given);
      const outcome = missing ? 'failed' : result.errors.length ? 'partial' : 'ok';
      const unreadable = unreadableInputs(result);
      return {
        snapshot: result.snapshot.id,
        bytes: s.bytes,
        addedBytes: s.addedBytes,
        outcome,
        ...(unreadable ? { error: unreadable } : {}),
      };
    });
  }
}
