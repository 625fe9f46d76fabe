/**
 * What every job step is given (the run's config, id, signal, repositories
 * opened once per run, and how to record a step) and the few rules every
 * step follows: one recorded row per step, `nothing_to_do` and `skipped`
 * said plainly, never passed as `ok`.
 *
 * @module
 */

import type { LoadedConfig } from '../../config/load.js';
import type { JobConfig } from '../../config/schema.js';
import { isLifeboatError } from '../../errors/index.js';
import type { Repository } from '../../repository/repository.js';
import type { StepRecord } from '../../state/history.js';
import { isConnected } from '../../storage/mount-check.js';
import { throwIfInterrupted } from '../../util/interrupt.js';

/** One step of a job run (a backup, copy, forget, prune, check, verify or drill): its outcome and figures. */
export interface JobStepResult extends Omit<StepRecord, 'runId' | 'job'> {
  /** Details for the report (a check's findings count, forget's removals). */
  detail?: Record<string, unknown>;
}

export interface JobRunContext {
  loaded: LoadedConfig;
  jobName: string;
  job: JobConfig;
  runId: string;
  signal: AbortSignal;
  log: (line: string) => void;
  open: (repository: string) => Promise<Repository>;
  record: (step: JobStepResult) => void;
  /** Like `record`, for a step that wrote its own history row (a drill). */
  note: (step: JobStepResult) => void;
  started?: (step: Pick<JobStepResult, 'step' | 'source' | 'repository' | 'startedAt'>) => void;
}

export type JobStepRunner = (ctx: JobRunContext) => Promise<void>;

export function jobSources(loaded: LoadedConfig, job: JobConfig): string[] {
  if (job.sources === 'all') return Object.keys(loaded.config.sources ?? {});
  return job.sources ?? [];
}

/** Run `fn` as one recorded step; errors become a failed step (abort still stops the job). */
export async function timedStep(
  ctx: JobRunContext,
  base: Pick<JobStepResult, 'step' | 'source' | 'repository'>,
  fn: () => Promise<Partial<JobStepResult>>,
): Promise<void> {
  const started = Date.now();
  const startedAt = new Date(started).toISOString();
  ctx.started?.({ ...base, startedAt });
  try {
    throwIfInterrupted(ctx.signal, 'the step did not start');
    const result = await fn();
    ctx.record({ ...base, startedAt, durationMs: Date.now() - started, outcome: 'ok', ...result });
  } catch (err) {
    const message = isLifeboatError(err) ? err.message : (err as Error).message;
    ctx.record({ ...base, startedAt, durationMs: Date.now() - started, outcome: 'failed', error: message });
    if (ctx.signal.aborted) throw err;
  }
}

/** Record a step that found nothing to act on, with the reason (never `ok`). */
export function nothingToDo(
  ctx: JobRunContext,
  base: Pick<JobStepResult, 'step' | 'source' | 'repository'>,
  reason: string,
): void {
  ctx.record({ ...base, startedAt: new Date().toISOString(), durationMs: 0, outcome: 'nothing_to_do', error: reason });
}

/**
 * The repositories a job's maintenance steps (prune, check, verify) act on:
 * `to`, or for a job that only copies, its copy targets.
 */
export function maintainedRepositories(job: JobConfig): string[] {
  return job.to ? [job.to] : [...(job.copy_to ?? [])];
}

/**
 * Runs a maintenance step once for each repository the job maintains: `nothing_to_do` when it
 * maintains none, `skipped: not connected` for an absent removable repository, else `each`.
 */
export async function forEachMaintainedRepository(
  ctx: JobRunContext,
  step: JobStepResult['step'],
  each: (repository: string) => Promise<void>,
): Promise<void> {
  const repositories = maintainedRepositories(ctx.job);
  if (repositories.length === 0)
    return nothingToDo(ctx, { step }, `the job has no repository (\`to\` or \`copy_to\`) to ${step}`);
  for (const repository of repositories) {
    if (skippedAsNotConnected(ctx, { step, repository })) continue;
    await each(repository);
  }
}

/** A removable repository that is absent: every step for it is skipped and says why. */
export function notConnected(ctx: JobRunContext, repository: string): boolean {
  const settings = ctx.loaded.config.repositories?.[repository];
  if (!settings?.require_mount || isConnected(settings.url.replace(/^file:\/\//, ''), undefined, settings.mount_point))
    return false;
  return true;
}

/** A removable repository that is not mounted: the step is recorded `skipped: not connected`, never passed silently. */
export function skippedAsNotConnected(
  ctx: JobRunContext,
  base: Pick<JobStepResult, 'step' | 'source'> & { repository: string },
): boolean {
  if (!notConnected(ctx, base.repository)) return false;
  ctx.record({
    ...base,
    startedAt: new Date().toISOString(),
    durationMs: 0,
    outcome: 'skipped',
    error: 'not connected',
  });
  return true;
}
