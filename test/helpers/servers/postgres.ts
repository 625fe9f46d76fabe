import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { openSync } from 'node:fs';
import { chown, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort, waitUntil } from './free-port.js';

/**
 * A throwaway PostgreSQL cluster from the installed Debian binaries: its own
 * temp directory, a free loopback port, the socket inside the directory.
 * Socket connections are trusted (setup and test writers as `postgres`); TCP
 * connections need a password, so tests exercise real password handling.
 */
export const PG_BIN = '/usr/lib/postgresql/15/bin';

export interface PostgresServer {
  port: number;
  /** The directory of the Unix socket (connect with host = this path, user postgres, no password). */
  socketDir: string;
  dir: string;
  /** Run SQL as the superuser over the socket; returns psql's unaligned output. */
  psql(sql: string, database?: string): string;
  /** Environment for client tools (pgbench, psql) as the superuser over the socket. */
  superuserEnv(database?: string): Record<string, string>;
  stop(): Promise<void>;
}

function postgresUser(): { uid: number; gid: number } {
  const line = spawnSync('getent', ['passwd', 'postgres'], { encoding: 'utf8' }).stdout.trim();
  const [, , uid, gid] = line.split(':');
  if (!uid || !gid) throw new Error('no postgres user on this machine');
  return { uid: Number(uid), gid: Number(gid) };
}

export interface PostgresOptions {
  /** More server settings (`-c name=value`), after the defaults so they win (archive_mode, full_page_writes, …). */
  settings?: Record<string, string>;
}

export async function startPostgres(options: PostgresOptions = {}): Promise<PostgresServer> {
  const owner = postgresUser();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-pg-'));
  await chown(dir, owner.uid, owner.gid);
  const data = path.join(dir, 'data');
  const asPostgres = { uid: owner.uid, gid: owner.gid, env: { ...process.env, HOME: dir, LC_ALL: 'C.UTF-8' } };
  let server: ChildProcess | undefined;
  const stop = async () => {
    if (server && server.exitCode === null && server.signalCode === null) {
      const exited = new Promise((r) => server!.once('exit', r));
      server.kill('SIGQUIT'); // immediate shutdown: the postmaster stops its backends too
      const killer = setTimeout(() => server!.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const init = spawnSync(
      `${PG_BIN}/initdb`,
      ['-D', data, '-U', 'postgres', '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--no-sync'],
      { ...asPostgres, encoding: 'utf8' },
    );
    if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
    const port = await freePort();
    const log = path.join(dir, 'server.log');
    server = spawn(
      `${PG_BIN}/postgres`,
      [
        '-D',
        data,
        '-p',
        String(port),
        '-k',
        dir,
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'fsync=off',
        '-c',
        'synchronous_commit=off',
        '-c',
        'full_page_writes=off',
        '-c',
        `logging_collector=off`,
        '-c',
        'max_connections=50',
        ...Object.entries(options.settings ?? {}).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
      ],
      { ...asPostgres, stdio: ['ignore', 'ignore', openSync(log, 'a')] },
    );
    const env = (database = 'postgres') => ({
      PGHOST: dir,
      PGPORT: String(port),
      PGUSER: 'postgres',
      PGDATABASE: database,
    });
    const ready = () => spawnSync(`${PG_BIN}/pg_isready`, ['-q'], { env: { ...process.env, ...env() } }).status === 0;
    await waitUntil(
      async () => ready(),
      30_000,
      () => readFile(log, 'utf8'),
    );
    const psql = (sql: string, database = 'postgres') => {
      const r = spawnSync(`${PG_BIN}/psql`, ['-X', '-v', 'ON_ERROR_STOP=1', '-At', '-c', sql], {
        env: { ...process.env, ...env(database) },
        encoding: 'utf8',
      });
      if (r.status !== 0) throw new Error(`psql failed: ${r.stderr}`);
      return r.stdout.trim();
    };
    return { port, socketDir: dir, dir, psql, superuserEnv: env, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
