import { randomBytes } from 'node:crypto';
import { check } from '../checker/check.js';
import type { LoadedConfig } from '../config/load.js';
import { openConfiguredRepository } from '../config/repository-access.js';
import type { JobConfig } from '../config/schema.js';
import { ErrorCode, LifeboatError, isLifeboatError } from '../errors/index.js';
import type { Repository } from '../repository/repository.js';
import { forget } from '../retention/forget.js';
import { planRetention } from '../retention/plan.js';
import type { SnapshotEntry } from '../repository/snapshot.js';
import { prune } from '../pruner/prune.js';
import { copy } from '../copier/copy.js';
import { checkBackup } from '../verify/post-backup.js';
import { verify } from '../verify/verify.js';
import { runDrill } from '../drill/drill.js';
import { summarisePrune } from '../pruner/summary.js';
import { describePolicy, policyFromConfig, type RetentionPolicy } from '../retention/policy.js';
import { newBackupProgress, type BackupProgress } from '../archiver/progress.js';
import { describeInputErrors } from '../archiver/backup.js';
import { backupSource } from '../sources/run-source.js';
import { RunHistory, type Outcome, type StepRecord } from '../state/history.js';
import { stateDir as resolveStateDir } from '../state/state-dir.js';
import { sweepAtStart } from '../leftovers/at-start.js';
import { sourceRemovers } from '../sources/leftover-removers.js';
import { acquireJobLock } from './job-lock.js';
import { isConnected } from '../storage/mount-check.js';

export interface JobStepResult extends Omit<StepRecord, 'runId' | 'job'> {
  /** Details for the report (a check's findings count, forget's removals). */
  detail?: Record<string, unknown>;
}

export interface JobResult {
  runId: string;
  job: string;
  startedAt: string;
  durationMs: number;
  outcome: Outcome;
  steps: JobStepResult[];
}

/** How long a job waits for a conflicting repository lock by default. */
export const JOB_LOCK_WAIT_MS = 15 * 60_000;

export interface RunJobOptions {
  /** Wait this long for a conflicting repository lock (default 15 minutes). */
  lockWaitMs?: number;
  signal?: AbortSignal;
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
  reason?: string;
  tags?: string[];
  /** Extra steps run after the built-in ones (copies, prune, verify, drills) with the run's context. */
  extraSteps?: JobStepRunner[];
  /** Run only the job's backups (its sources into `to`): no copies, `then` steps, extra steps or drill. */
  backupsOnly?: boolean;
  /** Given each backup step's live counters as it starts; the function it returns is called when the step ends. */
  watchBackup?: (step: { source: string; repository: string }, progress: BackupProgress) => () => void;
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
    throw new LifeboatError(ErrorCode.Usage, `no job named "${jobName}" in ${loaded.file}`, { hint: known.length ? `configured jobs: ${known.join(', ')}` : 'add one under jobs:' });
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
        r = openConfiguredRepository(name, loaded.config.repositories![name]!, { cacheRoot: options.cacheRoot, lockWaitMs: options.lockWaitMs ?? JOB_LOCK_WAIT_MS });
        repos.set(name, r);
      }
      return r;
    },
    record: (step) => {
      steps.push(step);
      history.recordStep({ ...step, runId, job: jobName });
      options.onStep?.(step);
    },
    note: (step) => {
      steps.push(step);
      options.onStep?.(step);
    },
    started: options.onStepStart,
  };
  history.startRun({ id: runId, job: jobName, startedAt: startedAt.toISOString() });
  try {
    await sweepAtStart(loaded.config, sourceRemovers, { warn: options.warn ?? ctx.log, verbose: ctx.log });
    await backupStep(ctx, options);
    if (!options.backupsOnly) await afterBackups(ctx, options);
  } finally {
    for (const r of repos.values()) await r.then((repo) => repo.close(), () => undefined);
    const outcome = overall(steps, signal.aborted);
    history.finishRun(runId, outcome, steps.find((s) => s.outcome === 'failed')?.error);
    history.close();
    lock.release();
  }
  return { runId, job: jobName, startedAt: startedAt.toISOString(), durationMs: Date.now() - startedAt.getTime(), outcome: overall(steps, signal.aborted), steps };
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

export function jobSources(loaded: LoadedConfig, job: JobConfig): string[] {
  if (job.sources === 'all') return Object.keys(loaded.config.sources ?? {});
  return job.sources ?? [];
}

/** Run `fn` as one recorded step; errors become a failed step (abort still stops the job). */
export async function timedStep(ctx: JobRunContext, base: Pick<JobStepResult, 'step' | 'source' | 'repository'>, fn: () => Promise<Partial<JobStepResult>>): Promise<void> {
  const started = Date.now();
  const startedAt = new Date(started).toISOString();
  ctx.started?.({ ...base, startedAt });
  try {
    ctx.signal.throwIfAborted();
    const result = await fn();
    ctx.record({ ...base, startedAt, durationMs: Date.now() - started, outcome: 'ok', ...result });
  } catch (err) {
    const message = isLifeboatError(err) ? err.message : (err as Error).message;
    ctx.record({ ...base, startedAt, durationMs: Date.now() - started, outcome: 'failed', error: message });
    if (ctx.signal.aborted) throw err;
  }
}

/** Record a step that found nothing to act on, with the reason (never `ok`). */
export function nothingToDo(ctx: JobRunContext, base: Pick<JobStepResult, 'step' | 'source' | 'repository'>, reason: string): void {
  ctx.record({ ...base, startedAt: new Date().toISOString(), durationMs: 0, outcome: 'nothing_to_do', error: reason });
}

/**
 * The repositories a job's maintenance steps (prune, check, verify) act on:
 * `to`, or for a job that only copies, its copy targets.
 */
export function maintainedRepositories(job: JobConfig): string[] {
  return job.to ? [job.to] : [...(job.copy_to ?? [])];
}

/** A removable repository that is absent: every step for it is skipped and says why. */
export function notConnected(ctx: JobRunContext, repository: string): boolean {
  const settings = ctx.loaded.config.repositories?.[repository];
  if (!settings?.require_mount || isConnected(settings.url.replace(/^file:\/\//, ''), undefined, settings.mount_point)) return false;
  return true;
}

/** A removable repository that is not mounted: the step is recorded `skipped: not connected`, never passed silently. */
function skippedAsNotConnected(ctx: JobRunContext, base: Pick<JobStepResult, 'step' | 'source'> & { repository: string }): boolean {
  if (!notConnected(ctx, base.repository)) return false;
  ctx.record({ ...base, startedAt: new Date().toISOString(), durationMs: 0, outcome: 'skipped', error: 'not connected' });
  return true;
}

async function backupStep(ctx: JobRunContext, options: RunJobOptions): Promise<void> {
  const to = ctx.job.to;
  if (!to) return;
  for (const source of jobSources(ctx.loaded, ctx.job)) {
    if (skippedAsNotConnected(ctx, { step: 'backup', source, repository: to })) continue;
    await timedStep(ctx, { step: 'backup', source, repository: to }, async () => {
      const repo = await ctx.open(to);
      const progress = newBackupProgress();
      const unwatch = options.watchBackup?.({ source, repository: to }, progress);
      const result = await backupSource(repo, source, ctx.loaded.config.sources![source]!, {
        tags: [...(options.tags ?? [])],
        reason: options.reason ?? `job ${ctx.jobName}`,
        signal: ctx.signal,
        log: (l) => ctx.log(`${source}: ${l}`),
        run: { job: ctx.jobName, runId: ctx.runId },
        progress,
      }).finally(() => unwatch?.());
      const s = result.snapshot.summary;
      // The cheap check of what was just written: a bad backup is reported now, not at restore time.
      const checked = await checkBackup(repo, result.snapshot, result.record);
      if (!checked.verified) throw new LifeboatError(ErrorCode.Corrupt, `snapshot ${result.snapshot.id.slice(0, 8)} did not pass its check: ${checked.reasons.join('; ')}`);
      // A configured path that is missing (a typo, an unmounted disk) leaves that data unprotected: the
      // step fails, though the rest was saved. Files unreadable inside the walk make it partial.
      const missing = result.errors.some((e) => e.given);
      const outcome = missing ? 'failed' : result.errors.length ? 'partial' : 'ok';
      return { snapshot: result.snapshot.id, bytes: s.bytes, addedBytes: s.addedBytes, outcome, ...(result.errors.length ? { error: `${result.errors.length} input(s) could not be read: ${describeInputErrors(result.errors)}` } : {}) };
    });
  }
}

/**
 * Copies to each `copy_to` repository (3-2-1): the snapshots of the job's
 * sources (all snapshots when it names none) that the copy lacks, from `to`
 * or, for a job without `to`, from the first configured repository that is not
 * a copy target.
 */
async function copyStep(ctx: JobRunContext): Promise<void> {
  const targets = ctx.job.copy_to ?? [];
  if (targets.length === 0) return;
  const from = ctx.job.to ?? Object.keys(ctx.loaded.config.repositories ?? {}).find((r) => !targets.includes(r));
  if (!from) {
    ctx.record({ step: 'copy', startedAt: new Date().toISOString(), durationMs: 0, outcome: 'failed', error: 'no repository to copy from: give the job `to`' });
    return;
  }
  const sources = ctx.job.sources ? jobSources(ctx.loaded, ctx.job) : [undefined];
  if (sources.length === 0) {
    nothingToDo(ctx, { step: 'copy' }, 'the job names no source to copy');
    return;
  }
  for (const target of targets) {
    if (notConnected(ctx, target) || notConnected(ctx, from)) {
      ctx.record({ step: 'copy', repository: target, startedAt: new Date().toISOString(), durationMs: 0, outcome: 'skipped', error: `not connected: ${notConnected(ctx, target) ? target : from}` });
      continue;
    }
    for (const source of sources) {
      await timedStep(ctx, { step: 'copy', source, repository: target }, async () => {
        // With `then: [forget]`, what the target's retention would forget at once is not copied at all.
        const policy = ctx.job.then?.includes('forget') ? retentionFor(ctx, target) : undefined;
        const select = policy ? (missing: readonly SnapshotEntry[], held: readonly SnapshotEntry[]) => keptByRetention(missing, held, policy) : undefined;
        const result = await copy(await ctx.open(from), await ctx.open(target), { source, signal: ctx.signal, select });
        if (result.unreadable.length) throw new LifeboatError(ErrorCode.Failure, `${result.unreadable.length} snapshot(s) of ${from} could not be read and were not copied`);
        const detail = { from, copied: result.copied.length, skipped: result.skipped.length, outsideRetention: result.leftOut.length, addedBytes: result.addedBytes, storedBytes: result.storedBytes };
        if (result.copied.length + result.skipped.length + result.leftOut.length === 0) {
          return { outcome: 'nothing_to_do', error: `${from} holds no snapshot${source ? ` of "${source}"` : ''} to copy`, addedBytes: 0, detail };
        }
        return { addedBytes: result.addedBytes, detail };
      });
    }
  }
}

/**
 * Retention per source: in `to` with its own policy (or the job's keep_last,
 * for unscheduled jobs), and in each `copy_to` repository with that
 * repository's own policy, over what the job copies there (its sources, or
 * every source when it names none). A repository without a policy, or without
 * snapshots to judge, is recorded as `nothing_to_do` with the reason.
 */
async function forgetStep(ctx: JobRunContext): Promise<void> {
  const targets = [...(ctx.job.to ? [ctx.job.to] : []), ...(ctx.job.copy_to ?? [])];
  if (targets.length === 0) {
    nothingToDo(ctx, { step: 'forget' }, 'the job has no repository (`to` or `copy_to`) to apply retention to');
    return;
  }
  // A job that only copies, naming no source, copies every source: retention applies to all of them.
  const sources = ctx.job.sources || ctx.job.to ? jobSources(ctx.loaded, ctx.job) : [undefined];
  for (const repository of targets) {
    const policy = retentionFor(ctx, repository);
    if (!policy) {
      if (repository === ctx.job.to) {
        ctx.record({ step: 'forget', repository, startedAt: new Date().toISOString(), durationMs: 0, outcome: 'failed', error: `repository "${repository}" has no retention policy and the job no keep_last` });
      } else {
        nothingToDo(ctx, { step: 'forget', repository }, `copy target "${repository}" has no retention policy: it keeps every copy (set repositories.${repository}.retention)`);
      }
      continue;
    }
    if (skippedAsNotConnected(ctx, { step: 'forget', repository })) continue;
    if (sources.length === 0) {
      nothingToDo(ctx, { step: 'forget', repository }, 'the job names no source');
      continue;
    }
    for (const source of sources) {
      await timedStep(ctx, { step: 'forget', source, repository }, async () => {
        const repo = await ctx.open(repository);
        const result = await forget(repo, { policy, source, stateDir: resolveStateDir(ctx.loaded.config.state_dir), signal: ctx.signal });
        const considered = result.plan.reduce((n, g) => n + g.decisions.length, 0);
        const detail = { policy: describePolicy(policy), considered, kept: considered - result.removed.length, removed: result.removed.map((r) => r.snapshot), audit: result.audit ?? null };
        if (considered === 0) return { outcome: 'nothing_to_do', error: `${repository} holds no snapshot${source ? ` of "${source}"` : ''} to apply retention to`, detail };
        return { detail };
      });
    }
  }
}

/** The missing snapshots that the target's retention keeps once they are there alongside what it holds. */
function keptByRetention(missing: readonly SnapshotEntry[], held: readonly SnapshotEntry[], policy: RetentionPolicy): SnapshotEntry[] {
  const kept = new Set(
    planRetention([...held, ...missing], policy, new Date())
      .flatMap((g) => g.decisions)
      .filter((d) => d.action === 'keep')
      .map((d) => d.snapshot.id),
  );
  return missing.filter((s) => kept.has(s.id));
}

/** The policy `forget` applies in a repository of the job: the job's keep_last for `to`, else the repository's retention. */
function retentionFor(ctx: JobRunContext, repository: string): RetentionPolicy | undefined {
  if (repository === ctx.job.to && ctx.job.keep_last) return { keepLast: ctx.job.keep_last };
  const configured = ctx.loaded.config.repositories?.[repository]?.retention;
  return configured ? policyFromConfig(configured) : undefined;
}

/** Reclaim data no snapshot needs; a sweep deferred by a busy repository is not a failure (the next run finishes it). */
async function pruneStep(ctx: JobRunContext): Promise<void> {
  const repositories = maintainedRepositories(ctx.job);
  if (repositories.length === 0) return nothingToDo(ctx, { step: 'prune' }, 'the job has no repository (`to` or `copy_to`) to prune');
  for (const repository of repositories) {
    if (skippedAsNotConnected(ctx, { step: 'prune', repository })) continue;
    await timedStep(ctx, { step: 'prune', repository }, async () => {
      const summary = summarisePrune(await prune(await ctx.open(repository)));
      return { detail: summary as unknown as Record<string, unknown> };
    });
  }
}

/**
 * Restore the newest snapshot of each source to scratch and compare with what
 * was recorded: the job's sources, or for a copy job naming none, every source
 * the repository holds.
 */
async function verifyStep(ctx: JobRunContext): Promise<void> {
  const repositories = maintainedRepositories(ctx.job);
  if (repositories.length === 0) return nothingToDo(ctx, { step: 'verify' }, 'the job has no repository (`to` or `copy_to`) to verify');
  for (const repository of repositories) {
    if (skippedAsNotConnected(ctx, { step: 'verify', repository })) continue;
    let sources = jobSources(ctx.loaded, ctx.job);
    if (!ctx.job.sources && !ctx.job.to) {
      try {
        const listed = (await (await ctx.open(repository)).listSnapshots()).snapshots;
        sources = [...new Set(listed.map((s) => s.source).filter((s): s is string => Boolean(s)))];
      } catch (err) {
        ctx.record({ step: 'verify', repository, startedAt: new Date().toISOString(), durationMs: 0, outcome: 'failed', error: (err as Error).message });
        if (ctx.signal.aborted) throw err;
        continue;
      }
    }
    if (sources.length === 0) {
      nothingToDo(ctx, { step: 'verify', repository }, ctx.job.sources || ctx.job.to ? 'the job names no source to verify' : `${repository} holds no snapshot of a configured source to verify`);
      continue;
    }
    for (const source of sources) {
      await timedStep(ctx, { step: 'verify', source, repository }, async () => {
        const repo = await ctx.open(repository);
        const newest = (await repo.listSnapshots()).snapshots.filter((s) => s.source === source).at(-1);
        if (!newest) throw new LifeboatError(ErrorCode.NotFound, `no snapshot of "${source}" in ${repository} to verify`);
        const result = await verify(repo, newest, { config: ctx.loaded.config.sources?.[source], signal: ctx.signal, log: (l) => ctx.log(`${source}: ${l}`) });
        const failed = result.checks.filter((c) => !c.ok);
        if (!result.ok) throw new LifeboatError(ErrorCode.Failure, `verification of ${newest.id.slice(0, 8)} failed: ${failed.map((c) => c.name).join(', ')}`);
        return { snapshot: newest.id, detail: { checks: result.checks.length } };
      });
    }
  }
}

/**
 * A restore drill per source (`drill: { within, sources }`), from `to` or the
 * first copy target. The drill records its own history row and report.
 */
async function drillStep(ctx: JobRunContext): Promise<void> {
  const drill = ctx.job.drill!;
  const from = ctx.job.to ?? ctx.job.copy_to?.[0] ?? Object.keys(ctx.loaded.config.repositories ?? {})[0];
  if (!from) return nothingToDo(ctx, { step: 'drill' }, 'no repository is configured to drill from');
  const sources = drill.sources === 'all' || !drill.sources ? (ctx.job.sources ? jobSources(ctx.loaded, ctx.job) : Object.keys(ctx.loaded.config.sources ?? {})) : drill.sources;
  if (sources.length === 0) return nothingToDo(ctx, { step: 'drill', repository: from }, 'no source to drill: configure one under sources: or name it in drill.sources');
  for (const source of sources) {
    const startedAt = new Date().toISOString();
    const started = Date.now();
    if (skippedAsNotConnected(ctx, { step: 'drill', source, repository: from })) continue;
    try {
      const { report } = await runDrill(await ctx.open(from), {
        source,
        config: ctx.loaded.config.sources?.[source],
        within: drill.within,
        job: ctx.jobName,
        stateDir: resolveStateDir(ctx.loaded.config.state_dir),
        signal: ctx.signal,
        log: (l) => ctx.log(`${source}: ${l}`),
      });
      ctx.note({ step: 'drill', source, repository: from, startedAt, durationMs: Date.now() - started, outcome: report.verdict === 'PASS' ? 'ok' : 'failed', ...(report.verdict === 'PASS' ? {} : { error: report.reasons.join('; ') }), detail: { verdict: report.verdict } });
    } catch (err) {
      ctx.record({ step: 'drill', source, repository: from, startedAt, durationMs: Date.now() - started, outcome: 'failed', error: (err as Error).message });
      if (ctx.signal.aborted) throw err;
    }
  }
}

async function checkStep(ctx: JobRunContext): Promise<void> {
  const repositories = maintainedRepositories(ctx.job);
  if (repositories.length === 0) return nothingToDo(ctx, { step: 'check' }, 'the job has no repository (`to` or `copy_to`) to check');
  for (const repository of repositories) {
    if (skippedAsNotConnected(ctx, { step: 'check', repository })) continue;
    await timedStep(ctx, { step: 'check', repository }, async () => {
      const report = await check(await ctx.open(repository));
      const errors = report.findings.filter((f) => f.severity === 'error');
      if (errors.length) throw new LifeboatError(ErrorCode.Corrupt, `check found ${errors.length} error(s): ${errors[0]!.message}`);
      return { detail: { snapshots: report.snapshots, packs: report.packs, warnings: report.findings.length } };
    });
  }
}
