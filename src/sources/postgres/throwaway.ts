/**
 * A throwaway PostgreSQL server for drills: initdb of the wanted major
 * version into a private temp directory, started on a Unix socket in that
 * directory only (no TCP listener: any local user could reach a trusting TCP
 * port, and a password would have to reach the smoke command), trusting the
 * socket, stopped and removed afterwards. The production server is never
 * involved.
 *
 * @module
 */

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ErrorCode, LifeboatError } from '../../errors/index.js';
import { ownedTempDir } from '../../leftovers/temp-dir.js';
import { childEnv } from '../child-process.js';
import { startThrowawayProcess } from '../throwaway-process.js';
import { freeLoopbackPort } from '../throwaway-server.js';
import { markThrowawayServer, type ThrowawayDatabase } from '../throwaway-databases.js';

const SUPERUSER = 'postgres';

/** The major version of the postgres binary in `bin`, or undefined when there is none. */
function binaryMajor(bin: string): number | undefined {
  const out = spawnSync(path.join(bin, 'postgres'), ['--version'], { encoding: 'utf8', env: childEnv() });
  const m = /\(PostgreSQL\) (\d+)/.exec(out.stdout ?? '');
  return m ? Number(m[1]) : undefined;
}

/**
 * Where the binaries of `major` are (`bin_dir` when configured, else the
 * Debian/Ubuntu layout), or why a throwaway server cannot be started here.
 */
export function postgresThrowawayBinaries(
  major: number | undefined,
  binDir?: string,
): { bin: string } | { why: string } {
  if (major === undefined && !binDir) return { why: 'the snapshot does not record the server version' };
  const bin = binDir ?? `/usr/lib/postgresql/${major}/bin`;
  for (const tool of ['initdb', 'postgres'])
    if (!existsSync(path.join(bin, tool))) return { why: `no ${tool} in ${bin}` };
  const found = binaryMajor(bin);
  if (major !== undefined && found !== major)
    return {
      why: `${bin} holds PostgreSQL ${found ?? 'of an unknown version'}, the snapshot is of PostgreSQL ${major}`,
    };
  if (process.getuid?.() === 0) return { why: 'PostgreSQL does not run as root' };
  return { bin };
}

/**
 * initdb and start. The URL names no database: the source's does not exist
 * there, and restores take the database from the snapshot's record.
 */
export async function startPostgresThrowaway(o: {
  bin: string;
  tempBase?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
  log?: (line: string) => void;
}): Promise<ThrowawayDatabase> {
  const temp = await ownedTempDir(o.tempBase ?? os.tmpdir(), 'lifeboat-drill-pg-');
  const data = path.join(temp.path, 'data');
  const logFile = path.join(temp.path, 'server.log');
  const unmark = markThrowawayServer(temp.path);
  let stopChild: (() => Promise<void>) | undefined;
  const stop = async () => {
    await stopChild?.();
    unmark();
    await temp.dispose();
  };
  try {
    o.log?.(`throwaway PostgreSQL server from ${o.bin}`);
    const init = spawnSync(
      path.join(o.bin, 'initdb'),
      ['-D', data, '-U', SUPERUSER, '--auth=trust', '-E', 'UTF8', '--no-sync', '--locale=C'],
      { encoding: 'utf8', env: childEnv() },
    );
    if (init.status !== 0)
      throw new LifeboatError(ErrorCode.SourceFailed, `initdb of the throwaway server failed: ${init.stderr.trim()}`);
    const port = await freeLoopbackPort();
    await startThrowawayProcess(
      {
        label: 'postgres',
        command: path.join(o.bin, 'postgres'),
        args: [
          '-D',
          data,
          '-p',
          String(port),
          '-k',
          temp.path,
          '-c',
          'listen_addresses=',
          // A throwaway: nothing here must survive a crash, so no flushing.
          '-c',
          'fsync=off',
          '-c',
          'synchronous_commit=off',
          '-c',
          'full_page_writes=off',
          '-c',
          'logging_collector=off',
        ],
        logFile,
        stopSignal: 'SIGQUIT', // immediate shutdown
        ready: async (log) => /database system is ready to accept connections/.test(await log()),
        pollMs: 100,
        notReady: (log) => `the throwaway postgres was not ready: ${log.trim().slice(-1500)}`,
        timeoutMs: o.timeoutMs,
        signal: o.signal,
      },
      (stopServer) => (stopChild = stopServer),
    );
    return {
      url: `postgres://${SUPERUSER}@${encodeURIComponent(temp.path)}:${port}`,
      binaries: o.bin,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
