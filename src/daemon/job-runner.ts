/**
 * Starts job runs for the scheduler and the API through the one code path,
 * `runJob` (the same per-job lock as `lifeboat run`). A job already running —
 * here or in another process — is not started again. Runs get the daemon's
 * stop signal: on SIGTERM the running step aborts cleanly (no partial
 * snapshot) and `drain()` waits for it. `onRun` hears every start and end,
 * whoever triggered the run (schedule, catch-up, API).
 *
 * @module
 */

import type { RunEvent } from '../alerts/notification.js';
import { runEndEvent } from '../alerts/run-event.js';
import type { LoadedConfig } from '../config/load.js';
import { jobLockHolder } from '../jobs/job-lock.js';
import { newRunId, runJob, type JobResult } from '../jobs/run-job.js';
import { stateDir } from '../state/state-dir.js';
import type { EventHub } from './events.js';
import { backupProgressPublisher } from './progress-events.js';

export type StartResult =
  { started: true; runId: string } | { started: false; reason: 'running' | 'unknown'; detail: string };

export interface JobRunnerOptions {
  loaded: LoadedConfig;
  signal: AbortSignal;
  events: EventHub;
  redact: (text: string) => string;
  cacheRoot?: string;
  log?: (line: string) => void;
  /** As each run starts and ends (the ping notifiers); must not block. */
  onRun?: (e: RunEvent) => void;
  /** After every run, whatever its outcome (alerts are evaluated, caches dropped). */
  onFinished?: (result: JobResult | undefined, job: string) => Promise<void> | void;
}

export class JobRunner {
  private readonly running = new Map<string, { runId: string; startedAt: string; trigger: string }>();
  /** Runs and their after-run work (alerts), for `drain()`. */
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly o: JobRunnerOptions) {}

  isRunning(job: string): { runId: string; startedAt: string; trigger: string } | undefined {
    return this.running.get(job);
  }

  start(job: string, trigger: string): StartResult {
    if (!this.o.loaded.config.jobs?.[job])
      return { started: false, reason: 'unknown', detail: `no job named "${job}"` };
    const mine = this.running.get(job);
    if (mine)
      return {
        started: false,
        reason: 'running',
        detail: `run ${mine.runId} (${mine.trigger}) is still going since ${mine.startedAt}`,
      };
    const holder = jobLockHolder(stateDir(this.o.loaded.config.state_dir), job);
    if (holder)
      return {
        started: false,
        reason: 'running',
        detail: `another process (pid ${holder.pid}) runs it since ${holder.since}`,
      };
    if (this.o.signal.aborted) return { started: false, reason: 'running', detail: 'the daemon is stopping' };

    const runId = newRunId();
    const startedAt = new Date().toISOString();
    const { events, redact } = this.o;
    events.publish('run.started', { job, run_id: runId, trigger });
    this.o.onRun?.({ phase: 'start', job, runId });
    const done = runJob(this.o.loaded, job, {
      runId,
      signal: this.o.signal,
      cacheRoot: this.o.cacheRoot,
      reason: `job ${job} (${trigger})`,
      log: (l) => this.o.log?.(`${job}: ${redact(l)}`),
      onStepStart: (s) => events.publish('step.started', { job, run_id: runId, ...s }),
      watchBackup: backupProgressPublisher(events, job, runId),
      onStep: (s) =>
        events.publish('step.finished', {
          job,
          run_id: runId,
          step: s.step,
          source: s.source,
          repository: s.repository,
          outcome: s.outcome,
          duration_ms: s.durationMs,
          bytes: s.bytes,
          added_bytes: s.addedBytes,
          snapshot: s.snapshot,
          error: s.error && redact(s.error),
        }),
    }).then(
      async (result) => {
        this.running.delete(job);
        events.publish('run.finished', { job, run_id: runId, outcome: result.outcome, duration_ms: result.durationMs });
        this.o.log?.(`job ${job}: run ${runId} ${result.outcome}`);
        this.o.onRun?.(runEndEvent(job, runId, { result }));
        await this.finished(result, job);
      },
      async (err: unknown) => {
        this.running.delete(job);
        const message = redact((err as Error).message ?? String(err));
        events.publish('run.finished', { job, run_id: runId, outcome: 'failed', error: message });
        this.o.log?.(`job ${job}: run ${runId} could not run: ${message}`);
        this.o.onRun?.(runEndEvent(job, runId, { error: message }));
        await this.finished(undefined, job);
      },
    );
    this.running.set(job, { runId, startedAt, trigger });
    this.pending.add(done);
    void done.finally(() => this.pending.delete(done));
    return { started: true, runId };
  }

  /** Wait for every run in progress (after the stop signal, they end at their next safe point). */
  async drain(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  private async finished(result: JobResult | undefined, job: string): Promise<void> {
    try {
      await this.o.onFinished?.(result, job);
    } catch (err) {
      this.o.log?.(`after job ${job}: ${this.o.redact((err as Error).message)}`);
    }
  }
}
