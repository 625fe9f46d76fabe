/**
 * Stream mode's receiver: `serve` keeps pg_receivewal of the source's
 * `bin_dir` running against the physical replication slot `pitr.slot`
 * (created first with `--create-slot --if-not-exists`), writing into a
 * directory under the state dir that the shipping round empties into the
 * repository. pg_receivewal runs with `--no-loop`, so every exit is seen
 * here: it is logged with its stderr and started again after a pause that
 * doubles up to a minute (and starts small again after a long healthy run).
 *
 * @module
 */

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { SourceConfigOf } from '../config/source-schemas.js';
import { ownedTempDir } from '../leftovers/temp-dir.js';
import { childEnv } from '../sources/child-process.js';
import { configuredConnection, pgTool, toolEnv } from '../sources/postgres/connection.js';
import { pause } from '../util/pause.js';

export interface ReceiverEvents {
  /** pg_receivewal started (its pid) or exited (why, when it was not asked to). */
  started: (pid: number) => void;
  failed: (reason: string) => void;
  log: (line: string) => void;
}

/** Where pg_receivewal of a source writes: `<state_dir>/pitr/<source>/stream`. */
export function streamDirFor(source: string, stateDir: string): string {
  return path.join(stateDir, 'pitr', source, 'stream');
}

/** pg_receivewal's pid while it runs, so that a daemon killed with SIGKILL does not leave it holding the slot. */
function pidFileFor(dir: string): string {
  return path.join(path.dirname(dir), 'pg_receivewal.pid');
}

/**
 * Stop a pg_receivewal left running by a daemon that was killed (SIGKILL
 * leaves its children): it would hold the slot, and every new start would
 * fail with "replication slot is active". Only a process whose command line
 * is pg_receivewal writing into this very directory is signalled.
 */
async function stopLeftover(dir: string, log: (line: string) => void): Promise<void> {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFileFor(dir), 'utf8').trim());
  } catch {
    return;
  }
  const isOurs = () => {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return path.basename(argv[0] ?? '') === 'pg_receivewal' && argv.includes(dir);
    } catch {
      return false;
    }
  };
  if (Number.isInteger(pid) && pid > 1 && isOurs()) {
    log(`WAL streaming: stopping pg_receivewal ${pid} left running by an earlier daemon`);
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 50 && isOurs(); i++) await new Promise((r) => setTimeout(r, 100));
  }
  await rm(pidFileFor(dir), { force: true });
}

const FIRST_PAUSE_MS = 1_000;
const MAX_PAUSE_MS = 60_000;
/** A run this long counts as healthy: the next failure pauses briefly again. */
const HEALTHY_MS = 60_000;

/** Run pg_receivewal once to its end; resolves with its exit description and the last lines it wrote to stderr. */
function runOnce(
  command: string,
  args: string[],
  env: Record<string, string>,
  secrets: string[],
  signal: AbortSignal,
  events: ReceiverEvents,
  label: string,
  reportStart: boolean,
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env: childEnv(env), stdio: ['ignore', 'ignore', 'pipe'] });
    const stop = () => child.kill('SIGINT');
    signal.addEventListener('abort', stop, { once: true });
    let tail = '';
    let rest = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      const lines = (rest + d).split('\n');
      rest = lines.pop()!;
      for (let line of lines) {
        for (const s of secrets) if (s) line = line.split(s).join('***');
        events.log(`${label}: ${line}`);
        tail = `${tail}\n${line}`.slice(-2000);
      }
    });
    if (reportStart) child.once('spawn', () => events.started(child.pid!));
    child.once('error', (err) => {
      signal.removeEventListener('abort', stop);
      resolve({ code: null, stderr: err.message });
    });
    child.once('close', (code) => {
      signal.removeEventListener('abort', stop);
      resolve({ code, stderr: (tail + (rest ? `\n${rest}` : '')).trim() });
    });
  });
}

/** Keep pg_receivewal running for a stream-mode source until `signal` aborts. */
export async function runWalReceiver(
  source: string,
  config: SourceConfigOf<'postgres'>,
  stateDir: string,
  signal: AbortSignal,
  events: ReceiverEvents,
): Promise<void> {
  const slot = config.pitr!.slot!;
  const dir = streamDirFor(source, stateDir);
  const command = pgTool('pg_receivewal', config.bin_dir);
  let wait = FIRST_PAUSE_MS;
  const pidFile = pidFileFor(dir);
  const onStarted = events.started;
  events = {
    ...events,
    started: (pid) => {
      writeFile(pidFile, `${pid}\n`, { mode: 0o600 }).catch((err: unknown) =>
        events.log(`WAL streaming of ${source}: ${pidFile} not written: ${(err as Error).message}`),
      );
      onStarted(pid);
    },
  };
  await mkdir(path.dirname(dir), { recursive: true, mode: 0o700 }).catch(() => {});
  await stopLeftover(dir, events.log).catch((err: unknown) =>
    events.log(`WAL streaming of ${source}: a leftover pg_receivewal could not be stopped: ${(err as Error).message}`),
  );
  while (!signal.aborted) {
    const began = Date.now();
    let failure: string | undefined;
    const temp = await ownedTempDir(os.tmpdir(), 'lifeboat-receivewal-');
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const conn = await configuredConnection(config);
      const env = await toolEnv(conn, temp.path, conn.database || 'postgres');
      const secrets = conn.password ? [conn.password] : [];
      const create = await runOnce(
        command,
        ['--create-slot', '--if-not-exists', '--slot', slot, '--no-password'],
        env,
        secrets,
        signal,
        events,
        'pg_receivewal --create-slot',
        false,
      );
      if (create.code !== 0)
        failure = `creating replication slot "${slot}" failed: ${create.stderr || `exit ${create.code}`}`;
      else {
        const run = await runOnce(
          command,
          ['-D', dir, '--slot', slot, '--no-loop', '--no-password', '--status-interval=1'],
          env,
          secrets,
          signal,
          events,
          'pg_receivewal',
          true,
        );
        if (!signal.aborted)
          failure = `pg_receivewal exited (${run.code ?? 'could not start'}): ${run.stderr || 'no message'}`;
      }
    } catch (err) {
      failure = (err as Error).message;
    } finally {
      await temp.dispose();
    }
    if (signal.aborted) break;
    if (Date.now() - began > HEALTHY_MS) wait = FIRST_PAUSE_MS;
    events.failed(failure ?? 'pg_receivewal stopped');
    events.log(`WAL streaming of ${source}: ${failure ?? 'stopped'}; starting again in ${wait / 1000}s`);
    await pause(wait, signal);
    wait = Math.min(MAX_PAUSE_MS, wait * 2);
  }
}
