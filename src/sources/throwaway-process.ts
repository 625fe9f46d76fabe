/**
 * The server process of a throwaway database (PostgreSQL, MariaDB) for drills:
 * started detached with its log in a file, tracked in the leftovers ledger, and
 * polled until it is ready. Its data goes with it, so it is stopped without a
 * clean shutdown.
 *
 * @module
 */

import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { ErrorCode, LifeboatError } from '../errors/index.js';
import { trackChild } from '../leftovers/track.js';
import { childEnv } from './child-process.js';

export interface ThrowawayProcessSpec {
  /** The program's name in messages and in the leftovers ledger (`postgres`, `mariadbd`). */
  label: string;
  command: string;
  args: string[];
  /** Where the server writes its log (stderr goes there too). */
  logFile: string;
  /** How to stop it: `SIGKILL` at once, or another signal followed by SIGKILL after 10 s. */
  stopSignal: NodeJS.Signals;
  /** Whether it accepts work now; `log` reads its log so far. */
  ready: (log: () => Promise<string>) => Promise<boolean>;
  /** How long to wait between looks. */
  pollMs: number;
  /** The error text when it is not ready in time. */
  notReady: (log: string) => string;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * Start the server and wait until it is ready. `onStarted` receives its stop
 * function as soon as the process exists, so that a caller cleaning up after a
 * failure (not ready, interrupted) stops it too.
 */
export async function startThrowawayProcess(
  o: ThrowawayProcessSpec,
  onStarted: (stop: () => Promise<void>) => void,
): Promise<void> {
  const log = () => readFile(o.logFile, 'utf8').catch(() => '');
  const fd = openSync(o.logFile, 'a');
  const child = spawn(o.command, o.args, { env: childEnv(), stdio: ['ignore', 'ignore', fd], detached: true });
  closeSync(fd);
  const forget = trackChild(child, `${o.label} (drill throwaway server)`, true);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let spawnError: Error | undefined;
  child.once('error', (err) => (spawnError = err));
  onStarted(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill(o.stopSignal); // the data goes anyway: no clean shutdown needed
      const killer = o.stopSignal === 'SIGKILL' ? undefined : setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    }
    await forget();
  });
  const deadline = Date.now() + (o.timeoutMs ?? 120_000);
  for (;;) {
    await new Promise((r) => setTimeout(r, o.pollMs));
    if (spawnError)
      throw new LifeboatError(ErrorCode.SourceFailed, `${o.label} could not be started: ${spawnError.message}`);
    if (child.exitCode !== null || child.signalCode !== null)
      throw new LifeboatError(
        ErrorCode.SourceFailed,
        `the throwaway ${o.label} exited: ${(await log()).trim().slice(-1500)}`,
      );
    if (await o.ready(log)) return;
    if (Date.now() > deadline) throw new LifeboatError(ErrorCode.SourceFailed, o.notReady(await log()));
    o.signal?.throwIfAborted();
  }
}
