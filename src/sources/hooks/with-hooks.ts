/**
 * The order of a source's or a job's hooks around its work (ADR 0035):
 * `before` (the first failure stops: the work does not run), the work, then
 * `on_error` on failure or interruption, then `after` and `finally` always. Once the hooks began, the closing phases run even when the run is
 * interrupted (Ctrl-C, the daemon's SIGTERM): they are not tied to the run's
 * signal, only to their own timeout.
 *
 * @module
 */

import { parseDuration } from '../../config/duration.js';
import type { HooksConfig } from '../../config/hooks-schema.js';
import { ErrorCode, LifeboatError } from '../../errors/index.js';
import { DEFAULT_HOOK_TIMEOUT_MS, describeHookCommand, runHookCommand } from './run-hook.js';

/** A phase of a source's or job's hooks, in the order they run (`on_error` only after a failure). */
export type HookPhase = 'before' | 'after' | 'on_error' | 'finally';

/** What the work ended as, given to the closing phases as LIFEBOAT_STATUS (and LIFEBOAT_ERROR). */
export type HookStatus = 'ok' | 'failed' | 'interrupted';

/** One phase's commands, run in order: one entry of the run record. */
export interface HookPhaseResult {
  phase: HookPhase;
  startedAt: string;
  durationMs: number;
  ok: boolean;
  /** Each command's line (`$ command`) and what it printed, in order. */
  output: string;
  /** Why the phase failed: which command, and how (exit status, timeout, signal). */
  error?: string;
}

export interface HookRun {
  hooks: HooksConfig | undefined;
  /** Who the hooks belong to, for messages: `source db`, `job nightly`. */
  owner: string;
  /** LIFEBOAT_SOURCE, LIFEBOAT_JOB, LIFEBOAT_RUN_ID… (LIFEBOAT_HOOK, _STATUS, _ERROR, _SNAPSHOT are added here). */
  env: Record<string, string>;
  cwd?: string;
  /** The run's signal: it stops a `before` command; the closing phases are not tied to it. */
  signal?: AbortSignal;
  /** Each line a hook printed, and each failure (the logs). */
  log?: (line: string) => void;
  /** Each phase as it ends (the run record). */
  onPhase?: (result: HookPhaseResult) => void;
  /** Override of the SIGKILL grace (tests). */
  killGraceMs?: number;
}

/** How the work ended, for the closing phases. */
export interface WorkOutcome {
  status: HookStatus;
  error?: string;
  /** Snapshot ids the work saved (LIFEBOAT_SNAPSHOT, space-separated). */
  snapshots?: string[];
}

export interface HookedResult<T> {
  value: T;
  /** Messages of the closing phases that failed: the work's result stands, but the run must report an error. */
  failures: string[];
}

/**
 * Run `work` inside the hooks. A failed `before` throws a `hook_failed` error
 * after `on_error`, `after` and `finally` ran; an error of the work is rethrown after
 * the closing phases; a failed `after` or `finally` is returned in `failures`
 * (the snapshot stays).
 */
export async function withHooks<T>(
  run: HookRun,
  work: () => Promise<T>,
  judge: (value: T) => WorkOutcome,
): Promise<HookedResult<T>> {
  const hooks = run.hooks;
  if (!hooks || !(hooks.before || hooks.after || hooks.on_error || hooks.finally))
    return { value: await work(), failures: [] };
  // Nothing began yet: an interruption before the start runs no hook at all.
  if (run.signal?.aborted)
    throw new LifeboatError(ErrorCode.Interrupted, `${run.owner}: interrupted before its hooks ran`);
  const before = await runPhase(run, 'before', {}, run.signal);
  if (!before.ok) {
    const interrupted = run.signal?.aborted === true;
    const error = new LifeboatError(
      interrupted ? ErrorCode.Interrupted : ErrorCode.HookFailed,
      `${run.owner}: before hook ${before.error}`,
      {
        hint: "nothing was backed up and no snapshot was made; the hook's output is in the run record and in the log (--verbose)",
      },
    );
    await closing(run, { status: interrupted ? 'interrupted' : 'failed', error: error.message });
    throw error;
  }
  let value: T;
  try {
    value = await work();
  } catch (err) {
    const status: HookStatus = run.signal?.aborted ? 'interrupted' : 'failed';
    await closing(run, { status, error: (err as Error).message });
    throw err;
  }
  const outcome = judge(value);
  return { value, failures: await closing(run, outcome) };
}

/** `after` or `on_error`, then `finally`; the messages of those that failed. */
async function closing(run: HookRun, outcome: WorkOutcome): Promise<string[]> {
  const env: Record<string, string> = {
    LIFEBOAT_STATUS: outcome.status,
    ...(outcome.error ? { LIFEBOAT_ERROR: outcome.error } : {}),
    ...(outcome.snapshots?.length ? { LIFEBOAT_SNAPSHOT: outcome.snapshots.join(' ') } : {}),
  };
  const failures: string[] = [];
  // `after` runs whatever the outcome once the hooks began (it usually undoes a
  // `before`: restart the stopped service); on a failure `on_error` runs first.
  if (outcome.status !== 'ok') {
    const onError = await runPhase(run, 'on_error', env);
    if (!onError.ok) failures.push(`${run.owner}: on_error hook ${onError.error}`);
  }
  const after = await runPhase(run, 'after', env);
  if (!after.ok) failures.push(`${run.owner}: after hook ${after.error}`);
  const last = await runPhase(run, 'finally', env);
  if (!last.ok) failures.push(`${run.owner}: finally hook ${last.error}`);
  return failures;
}

/** One phase's commands in order; the first failure ends the phase. A phase with no commands is ok and not reported. */
async function runPhase(
  run: HookRun,
  phase: HookPhase,
  extraEnv: Record<string, string>,
  signal?: AbortSignal,
): Promise<HookPhaseResult> {
  const commands = run.hooks?.[phase] ?? [];
  const started = Date.now();
  const result: HookPhaseResult = {
    phase,
    startedAt: new Date(started).toISOString(),
    durationMs: 0,
    ok: true,
    output: '',
  };
  if (commands.length === 0) return result;
  const timeoutMs = run.hooks?.timeout ? parseDuration(run.hooks.timeout) * 1000 : DEFAULT_HOOK_TIMEOUT_MS;
  const log = run.log ?? (() => {});
  for (const [i, command] of commands.entries()) {
    const shown = describeHookCommand(command);
    log(`${phase} hook: $ ${shown}`);
    const ran = await runHookCommand(command, {
      env: { ...run.env, ...extraEnv, LIFEBOAT_HOOK: phase },
      timeoutMs,
      cwd: run.cwd,
      signal,
      killGraceMs: run.killGraceMs,
    });
    for (const line of ran.output.split('\n')) if (line.trim()) log(`${phase} hook: ${line}`);
    result.output += `$ ${shown}\n${ran.output}${ran.output && !ran.output.endsWith('\n') ? '\n' : ''}`;
    if (ran.failure) {
      result.ok = false;
      const which = commands.length > 1 ? `command ${i + 1} of ${commands.length} ` : '';
      result.error = `${which}"${shown}" ${ran.failure}`;
      log(`${phase} hook failed: ${result.error}`);
      break;
    }
  }
  result.durationMs = Date.now() - started;
  run.onPhase?.(result);
  return result;
}
