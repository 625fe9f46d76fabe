import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { LoadedConfig } from '../config/load.js';
import { openConfiguredRepository } from '../config/repository-access.js';
import { ErrorCode, LifeboatError, isLifeboatError } from '../errors/index.js';
import { withHooks } from '../sources/hooks/with-hooks.js';
import { hookStep } from './hook-steps.js';
import type { Repository } from '../repository/repository.js';
import { RunHistory, type Outcome } from '../state/history.js';
import { stateDir as resolveStateDir } from '../state/state-dir.js';
import { sweepAtStart } from '../leftovers/at-start.js';
import { sourceRemovers } from '../sources/leftover-removers.js';
import { acquireJobLock } from './job-lock.js';
import { interruptedError } from '../util/interrupt.js';
import { backupStep, type BackupStepOptions } from './steps/backup.js';
import { checkStep } from './steps/check.js';
import { jobSources, type JobRunContext, type JobStepResult, type JobStepRunner } from './steps/context.js';
import { copyStep } from './steps/copy.js';
import { drillStep } from './steps/drill.js';
import { forgetStep } from './steps/forget.js';
import { pruneStep } from './steps/prune.js';
import { verifyStep } from './steps/verify.js';

export type { JobRunContext, JobStepResult, JobStepRunner } from './steps/context.js';
export { jobSources } from './steps/context.js';

/** A job run as recorded: its id, outcome and every step. */
export interface JobResult {
  runId: string;
  job: string;
  startedAt: string;
  durationMs: number;
  outcome: Outcome;
  steps: JobStepResult[];
}

/** How far a job run is. */
export interface JobProgress {
  /** Steps finished so far. */
  stepsDone: number;
  /** The step running now (none between steps). */
  current?: Pick<JobStepResult, 'step' | 'source' | 'repository' | 'startedAt'>;
}

/** How long a job waits for a conflicting repository lock by default. */
export const JOB_LOCK_WAIT_MS = 15 * 60_000;

/** How `runJob` runs a configured job: stop signal, progress, lock waiting, extra steps. */
export interface RunJobOptions extends BackupStepOptions {
  /** Wait this long for a conflicting repository lock (default 15 minutes). */
  lockWaitMs?: number;
  /**
   * Stops the run at the next file or step: the run is recorded as failed in the history, no later
   * step runs, and it rejects with LifeboatError `interrupted` (`lifeboat run` exits 130).
   */
  signal?: AbortSignal;
  /** Called as each step starts and ends (steps done so far, and the step running). */
  onProgress?: (progress: JobProgress) => void;
  /** Progress lines, as the CLI prints them. */
  log?: (line: string) => void;
  /** Problems worth a warning that are not a step's (what killed processes left and could not be removed); default: `log`. */
  warn?: (line: string) => void;
  /** Called as each step finishes (progress for the CLI and the daemon). */
  onStep?: (step: JobStepResult) => void;
  /** Called as each step starts (the daemon's progress events). */
  onStepStart?: (step: Pick<JobStepResult, 'step' | 'source' | 'repository' | 'startedAt'>) => void;
  /** The run's id, when the caller must know it before the run starts (the API's 202 answer). */
  runId?: string;
  cacheRoot?: string;
  /** Extra steps run after the built-in ones (copies, prune, verify, drills) with the run's context. */
  extraSteps?: JobStepRunner[];
  /** Run only the job's backups (its sources into `to`): no copies, `then` steps, extra steps or drill. */
  backupsOnly?: boolean;
}

/**
 * Run one configured job end to end: back up each source to `to`, then the
 * `then` steps. Each step is recorded (local history, and in the snapshot for
 * backups); a failed step fails the job but the other sources still run; a
 * removable repository that is not connected is reported as skipped, never as
 * a success.
 */
export async function runJob(loaded: LoadedConfig, jobName: string, options: RunJobOptions = {}): Promise<JobResult> {
  const job = loaded.config.jobs?.[jobName];
  if (!job) {
    const known = Object.keys(loaded.config.jobs ?? {});
    throw new LifeboatError(ErrorCode.Usage, `no job named "${jobName}" in ${loaded.file}`, {
      hint: known.length ? `configured jobs: ${known.join(', ')}` : 'add one under jobs:',
    });
  }
  const dir = resolveStateDir(loaded.config.state_dir);
  const lock = acquireJobLock(dir, jobName);
  const history = RunHistory.open(dir);
  const runId = options.runId ?? newRunId();
  const startedAt = new Date();
  const steps: JobStepResult[] = [];
  const repos = new Map<string, Promise<Repository>>();
  const signal = options.signal ?? new AbortController().signal;
  const ctx: JobRunContext = {
    loaded,
    jobName,
    job,
    runId,
    signal,
    log: options.log ?? (() => {}),
    open: (name) => {
      let r = repos.get(name);
      if (!r) {
        // A job waits for a prune's short exclusive sweep (or another host's) rather than failing.
        r = openConfiguredRepository(name, loaded.config.repositories![name]!, {
          cacheRoot: options.cacheRoot,
          lockWaitMs: options.lockWaitMs ?? JOB_LOCK_WAIT_MS,
        });
        repos.set(name, r);
      }
      return r;
    },
    record: (step) => {
      steps.push(step);
      history.recordStep({ ...step, runId, job: jobName });
      options.onStep?.(step);
      options.onProgress?.({ stepsDone: steps.length });
    },
    note: (step) => {
      steps.push(step);
      options.onStep?.(step);
      options.onProgress?.({ stepsDone: steps.length });
    },
    started: (step) => {
      options.onStepStart?.(step);
      options.onProgress?.({ stepsDone: steps.length, current: step });
    },
  };
  history.startRun({ id: runId, job: jobName, startedAt: startedAt.toISOString() });
  try {
    await sweepAtStart(loaded.config, sourceRemovers, { warn: options.warn ?? ctx.log, verbose: ctx.log });
    await withJobHooks(
      ctx,
      async () => {
        await backupStep(ctx, options);
        if (!options.backupsOnly) await afterBackups(ctx, options);
      },
      steps,
    );
  } catch (err) {
    if (signal.aborted) throw stopped(runId, err);
    throw err;
  } finally {
    for (const r of repos.values())
      await r.then(
        (repo) => repo.close(),
        () => undefined,
      );
    const outcome = overall(steps, signal.aborted);
    history.finishRun(runId, outcome, steps.find((s) => s.outcome === 'failed')?.error);
    history.close();
    lock.release();
  }
  // A step stopped mid-way records itself as failed and the run goes on to its end: it still was interrupted.
  if (signal.aborted) throw stopped(runId);
  return {
    runId,
    job: jobName,
    startedAt: startedAt.toISOString(),
    durationMs: Date.now() - startedAt.getTime(),
    outcome: overall(steps, signal.aborted),
    steps,
  };
}

/**
 * The job's own hooks around its steps (ADR 0035). Each phase is a recorded
 * step, so a failed hook fails the run; a failed `before` leaves the job's
 * steps unrun (it is recorded, so it is not thrown further).
 */
async function withJobHooks(ctx: JobRunContext, work: () => Promise<void>, steps: JobStepResult[]): Promise<void> {
  const to = ctx.job.to;
  try {
    await withHooks(
      {
        hooks: ctx.job.hooks,
        owner: `job ${ctx.jobName}`,
        env: {
          LIFEBOAT_JOB: ctx.jobName,
          LIFEBOAT_RUN_ID: ctx.runId,
          LIFEBOAT_SOURCES: jobSources(ctx.loaded, ctx.job).join(' '),
          ...(to ? { LIFEBOAT_REPOSITORY: to } : {}),
        },
        cwd: path.dirname(ctx.loaded.file),
        signal: ctx.signal,
        log: ctx.log,
        onPhase: (phase) => ctx.record(hookStep(phase, {})),
      },
      work,
      () => {
        const failed = steps.find((s) => s.outcome === 'failed');
        return {
          status: failed ? 'failed' : 'ok',
          ...(failed
            ? { error: `${failed.step}${failed.source ? ` ${failed.source}` : ''}: ${failed.error ?? 'failed'}` }
            : {}),
          snapshots: steps.filter((s) => s.step === 'backup' && s.snapshot).map((s) => s.snapshot!),
        };
      },
    );
  } catch (err) {
    if (!isLifeboatError(err, ErrorCode.HookFailed)) throw err;
  }
}

/** Everything a job does after its backups: copies, extra steps, `then` steps, the drill. */
async function afterBackups(ctx: JobRunContext, options: RunJobOptions): Promise<void> {
  await copyStep(ctx);
  for (const extra of options.extraSteps ?? []) await extra(ctx);
  for (const step of ctx.job.then ?? []) {
    if (step === 'forget') await forgetStep(ctx);
    else if (step === 'prune') await pruneStep(ctx);
    else if (step === 'check') await checkStep(ctx);
    else if (step === 'verify') await verifyStep(ctx);
  }
  if (ctx.job.drill) await drillStep(ctx);
}

/** The error of a run stopped through its signal (recorded as failed in the history by then). */
function stopped(runId: string, cause?: unknown): LifeboatError {
  return interruptedError(
    `run ${runId} was recorded as failed; the steps after the interrupted one did not run`,
    cause,
  );
}

/** A run id: UTC start time to the second and 8 random hex digits (`20261122T030000-1a2b3c4d`). */
export function newRunId(now = new Date()): string {
  return `${now.toISOString().replace(/[-:.]/g, '').slice(0, 15)}-${randomBytes(4).toString('hex')}`;
}

function overall(steps: JobStepResult[], aborted: boolean): Outcome {
  if (aborted || steps.some((s) => s.outcome === 'failed')) return 'failed';
  if (steps.some((s) => s.outcome === 'skipped')) return 'skipped';
  // A step the job asked for that found nothing to act on is never a plain success.
  if (steps.some((s) => s.outcome === 'nothing_to_do')) return 'nothing_to_do';
  if (steps.some((s) => s.outcome === 'partial')) return 'partial';
  return 'ok';
}
