/**
 * A throwaway MariaDB server for drills: mariadb-install-db into a private
 * temp directory, mariadbd on a socket in that directory only
 * (--skip-networking: its root has no password, so no TCP port is opened),
 * stopped and removed afterwards. The production server is never involved.
 * MySQL's own server binaries are not started: a MySQL dump is drilled in a
 * scratch database as before.
 *
 * @module
 */

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { ErrorCode, LifeboatError } from '../../errors/index.js';
import { ownedTempDir } from '../../leftovers/temp-dir.js';
import { childEnv } from '../child-process.js';
import { markThrowawayServer, type ThrowawayDatabase } from '../throwaway-databases.js';
import { startThrowawayProcess } from '../throwaway-process.js';

/** "10.11.19-MariaDB-0+deb12u1" (or `mariadbd --version` saying so) → "10.11", a MariaDB major release; undefined for MySQL. */
export function mariadbRelease(version: string | undefined): string | undefined {
  return version ? /(\d+\.\d+)\.\d+-MariaDB/i.exec(version)?.[1] : undefined;
}

function locate(tool: string, binDir?: string): string | undefined {
  const dirs = binDir ? [binDir] : [...(process.env.PATH ?? '').split(':').filter(Boolean), '/usr/sbin', '/usr/bin'];
  return dirs.map((d) => path.join(d, tool)).find((p) => existsSync(p));
}

/**
 * The MariaDB binaries of the release the snapshot was dumped from (in
 * `binDir`, else PATH, /usr/sbin, /usr/bin), or why a throwaway server cannot
 * be started here.
 */
export function mariadbThrowawayBinaries(
  recordedVersion: string | undefined,
  binDir?: string,
): { install: string; server: string } | { why: string } {
  const wanted = mariadbRelease(recordedVersion);
  if (!wanted)
    return {
      why: `the dump is of ${recordedVersion ? `server ${recordedVersion}` : 'an unrecorded server version'}; throwaway servers are MariaDB only`,
    };
  const install = locate('mariadb-install-db', binDir);
  const server = locate('mariadbd', binDir);
  if (!install || !server)
    return { why: `no mariadb-install-db and mariadbd in ${binDir ?? 'PATH, /usr/sbin or /usr/bin'}` };
  const found = mariadbRelease(spawnSync(server, ['--version'], { encoding: 'utf8', env: childEnv() }).stdout);
  if (found !== wanted)
    return { why: `${server} is MariaDB ${found ?? 'of an unknown version'}, the dump is of MariaDB ${wanted}` };
  return { install, server };
}

/**
 * Install and start. The URL names no database: the source's does not exist
 * there, and restores take the database from the snapshot's record.
 */
export async function startMariadbThrowaway(o: {
  install: string;
  server: string;
  tempBase?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
  log?: (line: string) => void;
}): Promise<ThrowawayDatabase> {
  const temp = await ownedTempDir(o.tempBase ?? os.tmpdir(), 'lifeboat-drill-my-');
  const data = path.join(temp.path, 'data');
  const socket = path.join(temp.path, 'mariadb.sock');
  const logFile = path.join(temp.path, 'error.log');
  // mariadbd refuses to run as root unless told which user to be: the one running the drill.
  const user = `--user=${os.userInfo().username}`;
  const unmark = markThrowawayServer(socket);
  let stopChild: (() => Promise<void>) | undefined;
  const stop = async () => {
    await stopChild?.();
    unmark();
    await temp.dispose();
  };
  try {
    o.log?.(`throwaway MariaDB server from ${o.server}`);
    const install = spawnSync(
      o.install,
      ['--no-defaults', `--datadir=${data}`, '--auth-root-authentication-method=normal', user, '--skip-test-db'],
      { encoding: 'utf8', env: childEnv() },
    );
    if (install.status !== 0)
      throw new LifeboatError(
        ErrorCode.SourceFailed,
        `mariadb-install-db of the throwaway server failed: ${(install.stderr + install.stdout).trim().slice(-1500)}`,
      );
    await startThrowawayProcess(
      {
        label: 'mariadbd',
        command: o.server,
        args: [
          '--no-defaults',
          `--datadir=${data}`,
          `--socket=${socket}`,
          '--skip-networking',
          user,
          `--pid-file=${path.join(temp.path, 'mariadbd.pid')}`,
          `--log-error=${logFile}`,
          '--innodb-buffer-pool-size=64M',
          // A throwaway: nothing here must survive a crash, so no flushing.
          '--innodb-flush-log-at-trx-commit=0',
          '--skip-log-bin',
        ],
        logFile,
        stopSignal: 'SIGKILL',
        ready: () =>
          mysql.createConnection({ socketPath: socket, user: 'root' }).then(
            async (c) => {
              await c.end();
              return true;
            },
            () => false,
          ),
        pollMs: 200,
        notReady: () => 'the throwaway mariadbd was not ready in time',
        timeoutMs: o.timeoutMs,
        signal: o.signal,
      },
      (stopServer) => (stopChild = stopServer),
    );
    return {
      url: `mysql://root@localhost/?socket=${encodeURIComponent(socket)}`,
      binaries: path.dirname(o.server),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
