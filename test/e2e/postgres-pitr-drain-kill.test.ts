import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { chmod } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, tempDir } from '../helpers/cli.js';
import { waitUntil } from '../helpers/servers/free-port.js';
import { PG_BIN, startPostgres, type PostgresServer } from '../helpers/servers/postgres.js';
import { lbAsPostgres, setUpPitrRepository, startRestoredServer } from '../helpers/pitr.js';
import { compareWithServerWal, serveLog, startServe, stopServe, storedWal, walStatus } from '../helpers/pitr-daemon.js';
import { restoredState, stateAt } from '../helpers/pitr-targets.js';

/**
 * The daemon killed with SIGKILL while it drains the `wal-push --async` spool,
 * with real servers: PostgreSQL keeps archiving into the spool while pgbench
 * and a marker writer run; `lifeboat serve` is killed once it has started
 * writing a batch into the repository and before it emptied the spool. The
 * next daemon drains everything: no gap, every segment stored whole and equal
 * to the server's, the repository consistent, and a restore reaches rows
 * written after the kill.
 */

let dir: string;
let cleanup: () => Promise<void>;
let server: PostgresServer;
let daemon: ChildProcess | undefined;
let configFile: string;
const PASSWORD = 'pitr drain kill test password, long enough';
const ws = () => ({ dir, configFile });
const lb = (args: string[]) => lbAsPostgres(ws(), args);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const spooled = () => readdirSync(path.join(dir, 'spool')).filter((n) => /^[0-9A-F]{24}$/.test(n));

/**
 * Watch the spool while the daemon drains it: true as soon as the drain has written packs into the
 * repository while segments are still spooled (the moment to kill it), false once the spool is empty
 * again after packs were written (the drain finished before it could be caught).
 */
async function drainCaughtMidway(dataBefore: number, seenFiles: (files: string[]) => void): Promise<boolean> {
  const deadline = Date.now() + 300_000; // generous: a loaded machine drains slowly; only a stuck daemon waits this long
  while (Date.now() < deadline) {
    const files = spooled();
    const written = dataFiles() > dataBefore;
    if (written && files.length > 0) {
      seenFiles(files);
      return true;
    }
    if (written) return false;
    await sleep(20);
  }
  throw new Error(`no drain seen; spool: ${spooled().join(', ')}; serve log: ${await serveLog(ws())}`);
}
/** Files of the repository's data directory: a new one means a drain is writing its batch. */
function dataFiles(): number {
  const data = path.join(dir, 'repo', 'data');
  return readdirSync(data).reduce((n, sub) => n + readdirSync(path.join(data, sub)).length, 0);
}

/** Switch segments and wait until the finished one is acknowledged and the spool is empty (generous: shared machine). */
async function archivedAndDrained(): Promise<string> {
  const finished = server.psql('SELECT pg_walfile_name(pg_switch_wal())');
  await waitUntil(
    async () => server.psql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver") >= finished,
    300_000,
    async () => `waiting for ${finished} to be archived`,
  );
  await waitUntil(
    async () => spooled().length === 0 && ((await walStatus(ws())).last_archived_wal ?? '') >= finished,
    300_000,
    async () => `spool holds ${spooled().join(', ')}; serve log: ${await serveLog(ws())}`,
  );
  return finished;
}

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('lifeboat-pitr-drain-kill-'));
  await chmod(dir, 0o755);
  configFile = path.join(dir, 'lifeboat.yaml');
  server = await startPostgres({
    settings: {
      archive_mode: 'on',
      archive_command: `${process.execPath} ${CLI} --config ${configFile} --quiet wal-push --async --source db %p`,
      wal_level: 'replica',
      track_commit_timestamp: 'on',
      // No checkpoint recycles the segments compared with the repository's copies during the test.
      checkpoint_timeout: '1h',
      max_wal_size: '4GB',
    },
  });
  const init = await setUpPitrRepository(ws(), server, PASSWORD, [
    '    rpo: 1h',
    '    pitr:',
    '      wal: archive',
    '      base_backup: 1d',
    `      spool_dir: ${dir}/spool`,
  ]);
  expect(init.code, init.stderr).toBe(0);
  server.psql('CREATE TABLE marker (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())');
  const bench = spawnSync(`${PG_BIN}/pgbench`, ['-i', '-s', '1', '-q'], {
    env: { ...process.env, ...server.superuserEnv() },
    encoding: 'utf8',
  });
  expect(bench.status, bench.stderr).toBe(0);
  daemon = await startServe(ws());
}, 300_000);

afterAll(async () => {
  await stopServe(daemon);
  await server?.stop();
  await cleanup?.();
});

describe('the daemon killed with SIGKILL while it drains the async spool', () => {
  it('drains everything after a restart: no gap, whole segments equal to the server, and rows written after the kill restored', async () => {
    await waitUntil(
      async () => (await walStatus(ws())).last_base_backup !== null,
      600_000,
      async () => `no base backup yet; serve log: ${await serveLog(ws())}`,
    );
    const bench = spawn(`${PG_BIN}/pgbench`, ['-c', '2', '--rate=40', '-T', '1800', '-n'], {
      env: { ...process.env, ...server.superuserEnv() },
      stdio: 'ignore',
    });
    const writer = new pg.Client({ host: server.socketDir, port: server.port, user: 'postgres', database: 'postgres' });
    await writer.connect();
    let writing = true;
    const markers = (async () => {
      while (writing) {
        await writer.query('INSERT INTO marker DEFAULT VALUES');
        await sleep(100);
      }
    })();
    try {
      // A burst of segments into the spool, then the kill as soon as the drain has written into the repository
      // and before it emptied the spool. A drain that empties the spool before it is seen (a fast machine), or
      // ends before the kill lands, is a missed attempt: the next one spools a larger burst.
      let atKill: string[] = [];
      let leftInSpool: string[] = [];
      for (let attempt = 0; attempt < 6 && leftInSpool.length === 0; attempt++) {
        if (attempt > 0) daemon = await startServe(ws());
        await archivedAndDrained();
        const dataBefore = dataFiles();
        for (let i = 0; i < 4 + 2 * attempt; i++) {
          await sleep(300);
          server.psql('SELECT pg_switch_wal()');
        }
        const seen = await drainCaughtMidway(dataBefore, (files) => (atKill = files));
        await stopServe(daemon, 'SIGKILL');
        leftInSpool = seen ? spooled() : [];
      }
      expect(leftInSpool.length).toBeGreaterThan(0);
      const storedAtKill = new Set((await storedWal(ws())).map((f) => f.name));
      const markerAtKill = Number(server.psql('SELECT max(id) FROM marker'));

      // PostgreSQL goes on archiving into the spool while no daemon runs.
      for (let i = 0; i < 2; i++) {
        await sleep(1_000);
        server.psql('SELECT pg_switch_wal()');
      }
      daemon = await startServe(ws());
      await sleep(2_000);
      await archivedAndDrained();
      writing = false;
      await markers;
      bench.kill('SIGINT');
      await new Promise((r) => (bench.exitCode !== null ? r(null) : bench.once('exit', r)));

      // A target after the last marker, and a commit after it so that replay can tell it passed the target.
      await sleep(1_100);
      const target = server.psql("SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US+00')");
      await sleep(1_100);
      server.psql('CREATE TABLE after_target ()');
      const expected = stateAt(server.psql, target);
      expect(expected.marker).toBeGreaterThan(markerAtKill);
      const last = await archivedAndDrained();

      const check = await lb(['wal', 'check', '--source', 'db']);
      expect(check.code, check.stdout + check.stderr).toBe(0);
      expect(check.stdout).toMatch(/no gaps/);
      const s = await walStatus(ws());
      expect(s.problems).toEqual([]);
      expect(s.spooled).toBe(0);
      await stopServe(daemon);
      const repoCheck = await lb(['check']);
      expect(repoCheck.code, repoCheck.stdout + repoCheck.stderr).toBe(0);

      // Every segment that was in the spool at the kill is stored once, whole, with the server's content.
      const after = await storedWal(ws());
      for (const name of [...atKill, ...leftInSpool])
        expect(after.filter((f) => f.name === name).length, `${name} (stored at kill: ${storedAtKill.has(name)})`).toBe(
          1,
        );
      const current = server.psql('SELECT pg_walfile_name(pg_current_wal_insert_lsn())');
      expect(current > last).toBe(true);
      const { compared, problems } = await compareWithServerWal(
        after,
        path.join(server.dir, 'data', 'pg_wal'),
        current,
      );
      expect(problems).toEqual([]);
      for (const name of leftInSpool) expect(compared).toContain(name);

      const restored = path.join(dir, 'restore-after-kill');
      const r = await lb([
        'restore',
        'latest',
        '--source',
        'db',
        '--target',
        restored,
        '--to-time',
        target,
        '--verify',
      ]);
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
      const db = await startRestoredServer(dir, restored, ['-c', 'archive_mode=off']);
      try {
        expect(restoredState(db.psql)).toEqual(expected);
      } finally {
        await db.stop();
      }
    } finally {
      writing = false;
      await markers.catch(() => {});
      await writer.end();
      if (bench.exitCode === null) bench.kill('SIGKILL');
    }
  }, 1_800_000);
});
