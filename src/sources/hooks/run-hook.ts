/**
 * One hook command of lifeboat.yaml run to its end: a string through
 * `/bin/sh -c`, an argv array as it is, in its own process group, stopped
 * after its timeout (SIGTERM to the group, SIGKILL after a grace), with the
 * hook's variables in its environment and never a repository secret.
 *
 * @module
 */

import type { HookCommand } from '../../config/hooks-schema.js';
import { runCaptured, type CapturedRun } from '../child-process.js';

/** How long a hook's process group has after SIGTERM before SIGKILL. */
export const HOOK_KILL_GRACE_MS = 10_000;

/** How long a hook command may run when `hooks.timeout` does not say. */
export const DEFAULT_HOOK_TIMEOUT_MS = 5 * 60_000;

export interface HookCommandOptions {
  env: Record<string, string>;
  timeoutMs: number;
  cwd?: string;
  /** Stops the command (its group gets SIGTERM, then SIGKILL after the grace). */
  signal?: AbortSignal;
  /** Override of `HOOK_KILL_GRACE_MS` (tests). */
  killGraceMs?: number;
}

/** How a command is shown in messages and the run record: the string, or the argv joined by spaces. */
export function describeHookCommand(command: HookCommand): string {
  return typeof command === 'string' ? command : command.join(' ');
}

export function runHookCommand(command: HookCommand, options: HookCommandOptions): Promise<CapturedRun> {
  const [file, ...args] = typeof command === 'string' ? ['/bin/sh', '-c', command] : command;
  return runCaptured({
    label: `hook "${describeHookCommand(command)}"`,
    command: file!,
    args,
    env: options.env,
    cwd: options.cwd,
    signal: options.signal,
    timeoutMs: options.timeoutMs,
    killGraceMs: options.killGraceMs ?? HOOK_KILL_GRACE_MS,
  });
}
