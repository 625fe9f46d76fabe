import { spawn } from 'node:child_process';
import { existsSync, openSync, closeSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ErrorCode, LifeboatError } from '../../../errors/index.js';
import { ownedTempDir } from '../../../leftovers/temp-dir.js';
import { trackChild } from '../../../leftovers/track.js';
import { childEnv } from '../../child-process.js';
import { freeLoopbackPort } from '../../throwaway-server.js';
import type { RecoveryPlan } from './recovery-plan.js';

/** Where a verified recovery ended and whether it reached its target. */
export interface RecoveryOutcome {
  reached: boolean;
  /** The server log's own words: where recovery stopped, the last completed transaction. */
  stoppedAt?: string;
  lastTransaction?: string;
  durationMs: number;
}

/** The binaries of the base backup's major version: `bin_dir` when configured, else the Debian/Ubuntu layout, else PATH. */
export function serverBinDir(plan: RecoveryPlan, binDir?: string): string | undefined {
  if (binDir) return binDir;
  const guess = `/usr/lib/postgresql/${Math.floor(plan.base.serverVersionNum / 10000)}/bin`;
  return existsSync(path.join(guess, 'postgres')) ? guess : undefined;
}

/** The recovered server while `whileRunning` uses it: a socket directory only this user can enter, any role trusted there. */
export interface RunningRecovered {
  socketDir: string;
  port: number;
}

/**
 * Start a throwaway server (own socket directory, no TCP listener, archiving
 * off) on a restored data directory, let recovery run to its target and
 * promotion, read from its log whether it reached the target, and stop it.
 * The data directory stays, recovered and promoted. `whileRunning` (drills:
 * checks and the smoke command) runs on the promoted server before it stops.
 * The server reads its own pg_hba.conf, trusting the private socket only:
 * the production server's rules (peer, passwords) do not decide who may look.
 */
export async function verifyRecovery(
  dataDir: string,
  plan: RecoveryPlan,
  options: {
    binDir?: string;
    timeoutMs?: number;
    signal?: AbortSignal;
    log?: (l: string) => void;
    whileRunning?: (server: RunningRecovered, outcome: RecoveryOutcome) => Promise<void>;
  } = {},
): Promise<RecoveryOutcome> {
  if (process.getuid?.() === 0) {
    throw new LifeboatError(
      ErrorCode.Refused,
      'PostgreSQL does not run as root, so --verify cannot start the restored server',
      { hint: 'run the restore as the operating-system user that owns the data directory (e.g. postgres)' },
    );
  }
  const bin = serverBinDir(plan, options.binDir);
  const postgres = bin ? path.join(bin, 'postgres') : 'postgres';
  const temp = await ownedTempDir(os.tmpdir(), 'lifeboat-pitr-verify-');
  const logFile = path.join(temp.path, 'server.log');
  const hbaFile = path.join(temp.path, 'pg_hba.conf');
  await writeFile(hbaFile, 'local all all trust\n', { mode: 0o600 });
  const started = Date.now();
  const port = await freeLoopbackPort();
  const fd = openSync(logFile, 'a');
  const child = spawn(
    postgres,
    [
      '-D',
      dataDir,
      '-p',
      String(port),
      '-k',
      temp.path,
      '-c',
      'listen_addresses=',
      '-c',
      'archive_mode=off',
      '-c',
      'log_timezone=UTC',
      '-c',
      'timezone=UTC',
      '-c',
      'logging_collector=off',
      '-c',
      `hba_file=${hbaFile}`,
    ],
    {
      env: childEnv(),
      stdio: ['ignore', 'ignore', fd],
      detached: true,
    },
  );
  closeSync(fd);
  const forget = trackChild(child, 'postgres (point-in-time restore check)', true);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let spawnError: Error | undefined;
  child.once('error', (err) => (spawnError = err));
  const deadline = started + (options.timeoutMs ?? 30 * 60_000);
  try {
    for (;;) {
      await new Promise((r) => setTimeout(r, 200));
      const text = await readFile(logFile, 'utf8').catch(() => '');
      if (spawnError)
        throw new LifeboatError(ErrorCode.SourceFailed, `postgres could not be started: ${spawnError.message}`, {
          hint: "set `bin_dir` of the source to the binaries of the server's major version",
        });
      const failed = /(FATAL|PANIC):\s+(.*)/.exec(text);
      if (failed || child.exitCode !== null || child.signalCode !== null) {
        throw new LifeboatError(
          ErrorCode.Failure,
          `the restored server did not finish recovery: ${failed ? failed[2] : `postgres exited`}`,
          { context: { log: text.slice(-3000) } },
        );
      }
      if (/database system is ready to accept connections/.test(text)) {
        const stopped = /recovery stopping (.*)/.exec(text)?.[1];
        const last = /last completed transaction was at log time (.*)/.exec(text)?.[1];
        const reached =
          plan.target.kind === 'latest'
            ? /archive recovery complete|redo done/.test(text)
            : stopped !== undefined ||
              (/recovery target reached|archive recovery complete/.test(text) && plan.target.kind === 'lsn');
        const outcome = { reached, stoppedAt: stopped, lastTransaction: last, durationMs: Date.now() - started };
        await options.whileRunning?.({ socketDir: temp.path, port }, outcome);
        return outcome;
      }
      if (Date.now() > deadline)
        throw new LifeboatError(
          ErrorCode.Failure,
          `the restored server was still recovering after ${Math.round((options.timeoutMs ?? 1_800_000) / 1000)} s`,
        );
      options.signal?.throwIfAborted();
    }
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGINT'); // fast shutdown: a clean stop, the data directory is left consistent
      const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      await exited;
      clearTimeout(killer);
    }
    await forget();
    await temp.dispose();
  }
}
