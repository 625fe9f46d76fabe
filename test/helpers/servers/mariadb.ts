import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { openSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { freePort, waitUntil } from './free-port.js';

/**
 * A throwaway MariaDB server from the installed Debian binaries: its own temp
 * directory, a free loopback port, the socket inside the directory. `root`
 * has no password and is only used over the socket for setup; tests connect
 * over TCP as users created with `createUser`, with real passwords.
 */
export interface MariadbServer {
  port: number;
  socket: string;
  dir: string;
  /** A connection as root over the socket (caller ends it). */
  rootConnection(database?: string): Promise<mysql.Connection>;
  /** Run statements as root over the socket. */
  sql(statements: string, database?: string): Promise<unknown>;
  stop(): Promise<void>;
}

export async function startMariadb(): Promise<MariadbServer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-mariadb-'));
  const data = path.join(dir, 'data');
  const socket = path.join(dir, 'mariadb.sock');
  let server: ChildProcess | undefined;
  const stop = async () => {
    if (server && server.exitCode === null && server.signalCode === null) {
      const exited = new Promise((r) => server!.once('exit', r));
      server.kill('SIGKILL'); // a throwaway: no clean shutdown needed
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const install = spawnSync(
      'mariadb-install-db',
      [
        '--no-defaults',
        `--datadir=${data}`,
        '--auth-root-authentication-method=normal',
        '--user=root',
        '--skip-test-db',
      ],
      { encoding: 'utf8' },
    );
    if (install.status !== 0) throw new Error(`mariadb-install-db failed: ${install.stderr}${install.stdout}`);
    const port = await freePort();
    const log = path.join(dir, 'error.log');
    server = spawn(
      'mariadbd',
      [
        '--no-defaults',
        `--datadir=${data}`,
        `--socket=${socket}`,
        `--port=${port}`,
        '--bind-address=127.0.0.1',
        '--user=root',
        `--pid-file=${path.join(dir, 'mariadbd.pid')}`,
        `--log-error=${log}`,
        '--innodb-buffer-pool-size=64M',
        '--innodb-flush-log-at-trx-commit=0',
        '--skip-name-resolve',
      ],
      { stdio: ['ignore', 'ignore', openSync(log, 'a')] },
    );
    const rootConnection = (database?: string) =>
      mysql.createConnection({ socketPath: socket, user: 'root', database, multipleStatements: true });
    await waitUntil(
      async () => {
        const c = await rootConnection();
        await c.end();
        return true;
      },
      30_000,
      () => readFile(log, 'utf8'),
    );
    const sql = async (statements: string, database?: string) => {
      const c = await rootConnection(database);
      try {
        const [rows] = await c.query(statements);
        return rows;
      } finally {
        await c.end();
      }
    };
    return { port, socket, dir, rootConnection, sql, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
