/**
 * Shared setup of the PostgreSQL point-in-time recovery end-to-end tests.
 * PostgreSQL runs as the `postgres` user and calls Lifeboat from its
 * archive_command and restore_command, so every Lifeboat command of these
 * tests runs as that user too (the repository, config and cache belong to
 * it): the CLI runner, the config and repository set-up, and restored data
 * directories started as servers of their own.
 *
 * @module
 */

import { spawn, spawnSync, type ChildProcess, type StdioOptions } from 'node:child_process';
import { openSync } from 'node:fs';
import { chown, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CLI } from './cli.js';
import { freePort, waitUntil } from './servers/free-port.js';
import { PG_BIN, type PostgresServer } from './servers/postgres.js';

/** The `postgres` user's ids, which the server and every Lifeboat command run as. */
export const postgresOwner = (() => {
  const [, , uid, gid] = spawnSync('getent', ['passwd', 'postgres'], { encoding: 'utf8' }).stdout.trim().split(':');
  return { uid: Number(uid), gid: Number(gid) };
})();

/** The temp directory a test works in and the config file inside it. */
export interface PitrWorkspace {
  dir: string;
  configFile: string;
}

export interface LbRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A minimal environment: home and cache inside the workspace, nothing inherited that could change the outcome. */
export const lbEnv = (dir: string): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  HOME: dir,
  LIFEBOAT_CACHE_DIR: path.join(dir, 'cache'),
  LC_ALL: 'C.UTF-8',
});

/** Start the CLI as the postgres user with the workspace's config (for runs a test kills or leaves running). */
export function spawnLbAsPostgres(ws: PitrWorkspace, args: string[], stdio: StdioOptions): ChildProcess {
  return spawn(process.execPath, [CLI, '--config', ws.configFile, ...args], {
    cwd: ws.dir,
    uid: postgresOwner.uid,
    gid: postgresOwner.gid,
    env: lbEnv(ws.dir),
    stdio,
  });
}

/** Run the CLI as the postgres user, as the server's archive_command runs it, to its end (killed after `timeoutMs`). */
export function lbAsPostgres(
  ws: PitrWorkspace,
  args: string[],
  extraEnv: Record<string, string> = {},
  timeoutMs = 600_000,
): Promise<LbRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, '--config', ws.configFile, ...args], {
      cwd: ws.dir,
      uid: postgresOwner.uid,
      gid: postgresOwner.gid,
      env: { ...lbEnv(ws.dir), ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Write the repository password file and a config with one local repository
 * `main` and one postgres source `db` on `server` (its further lines, such as
 * `pitr:`, given as `sourceLines`), give the whole workspace to the postgres
 * user and initialise the repository. Returns the `init` run for the test to check.
 */
export async function setUpPitrRepository(
  ws: PitrWorkspace,
  server: PostgresServer,
  password: string,
  sourceLines: string[],
): Promise<LbRun> {
  const { dir } = ws;
  await writeFile(path.join(dir, 'repo.pass'), password, { mode: 0o600 });
  await writeFile(
    ws.configFile,
    [
      'version: 1',
      `state_dir: ${dir}/state`,
      'repositories:',
      '  main:',
      `    url: ${dir}/repo`,
      `    password_file: ${dir}/repo.pass`,
      'sources:',
      '  db:',
      '    type: postgres',
      `    url: postgres://postgres@${encodeURIComponent(server.socketDir)}:${server.port}/postgres`,
      `    bin_dir: ${PG_BIN}`,
      ...sourceLines,
      '',
    ].join('\n'),
  );
  spawnSync('chown', ['-R', `${postgresOwner.uid}:${postgresOwner.gid}`, dir]);
  return lbAsPostgres(ws, ['init', '--repo', 'main'], { LIFEBOAT_PASSWORD: password });
}

export interface RestoredServer {
  psql: (sql: string) => string;
  stop: () => Promise<void>;
}

/**
 * Start a restored data directory as postgres, listening on a socket only,
 * with `settings` as extra server arguments (`-c name=value` pairs); stopped
 * again if it does not become ready.
 */
export async function startRestoredServer(dir: string, dataDir: string, settings: string[]): Promise<RestoredServer> {
  const sock = path.join(dir, `sock-${path.basename(dataDir)}`);
  await mkdir(sock, { recursive: true });
  await chown(sock, postgresOwner.uid, postgresOwner.gid);
  const port = await freePort();
  const log = path.join(sock, 'log');
  const child = spawn(
    `${PG_BIN}/postgres`,
    ['-D', dataDir, '-p', String(port), '-k', sock, '-c', 'listen_addresses=', ...settings],
    {
      uid: postgresOwner.uid,
      gid: postgresOwner.gid,
      env: { PATH: process.env.PATH, HOME: dir },
      stdio: ['ignore', 'ignore', openSync(log, 'a')],
    },
  );
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGINT');
    await exited;
  };
  const env = { ...process.env, PGHOST: sock, PGPORT: String(port), PGUSER: 'postgres', PGDATABASE: 'postgres' };
  try {
    await waitUntil(
      async () => spawnSync(`${PG_BIN}/pg_isready`, ['-q'], { env }).status === 0,
      120_000,
      () => readFile(log, 'utf8'),
    );
  } catch (err) {
    await stop();
    throw err;
  }
  const psql = (sql: string) => {
    const r = spawnSync(`${PG_BIN}/psql`, ['-X', '-v', 'ON_ERROR_STOP=1', '-At', '-c', sql], { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`psql failed: ${r.stderr}`);
    return r.stdout.trim();
  };
  return { psql, stop };
}
