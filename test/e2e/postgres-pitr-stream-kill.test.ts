import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, chown, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cli.js';
import { waitUntil } from '../helpers/servers/free-port.js';
import { PG_BIN, startPostgres, type PostgresServer } from '../helpers/servers/postgres.js';
import { type LbRun, lbAsPostgres, postgresOwner, setUpPitrRepository, startRestoredServer } from '../helpers/pitr.js';
import {
  compareWithServerWal,
  SEGMENT_BYTES,
  serveLog,
  startServe,
  stopServe,
  storedWal,
  walStatus,
} from '../helpers/pitr-daemon.js';
import { restoredState, stateAt } from '../helpers/pitr-targets.js';

/**
 * Stream mode killed mid-segment, with real servers: while pgbench and a
 * marker writer run, `lifeboat serve` and its pg_receivewal are killed with
 * SIGKILL after the segment being written was shipped as a partial copy.
 * After a restart, nothing stored before the kill is lost, streaming resumes
 * from the replication slot without a gap, every stored segment is whole and
 * equal to the server's, and a restore reaches rows written after the kill.
 */

let dir: string;
let cleanup: () => Promise<void>;
let server: PostgresServer;
let daemon: ChildProcess | undefined;
let configFile: string;
const PASSWORD = 'pitr stream kill test password, long enough';
const ws = () => ({ dir, configFile });
const lb = (args: string[]) => lbAsPostgres(ws(), args);

const receiverPid = (): number | undefined => {
  try {
    const file = path.join(dir, 'state', 'pitr', 'db', 'archiver.json');
    return (JSON.parse(readFileSync(file, 'utf8')) as { stream?: { pid?: number } }).stream?.pid;
  } catch {
    return undefined;
  }
};
const currentSegment = () => server.psql('SELECT pg_walfile_name(pg_current_wal_insert_lsn())');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `wal-fetch` one file into the workspace and return its bytes. */
async function fetched(name: string): Promise<Buffer> {
  const out = path.join(dir, 'fetched', `${name}-${Date.now()}`);
  const r = await lb(['wal-fetch', '--source', 'db', name, out]);
  if (r.code !== 0) throw new Error(`wal-fetch ${name}: ${r.stderr}`);
  return readFile(out);
}

/** The bytes pg_receivewal had written into a partial copy: up to its last non-zero byte (the rest is padding). */
function written(partial: Buffer): Buffer {
  let end = partial.length;
  while (end > 0 && partial[end - 1] === 0) end--;
  return partial.subarray(0, end);
}

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('lifeboat-pitr-stream-kill-'));
  await chmod(dir, 0o755);
  configFile = path.join(dir, 'lifeboat.yaml');
  server = await startPostgres({
    settings: {
      wal_level: 'replica',
      max_wal_senders: '5',
      archive_mode: 'off',
      track_commit_timestamp: 'on',
      // No checkpoint recycles the segments compared with the repository's copies during the test.
      checkpoint_timeout: '1h',
      max_wal_size: '4GB',
    },
  });
  const init = await setUpPitrRepository(ws(), server, PASSWORD, [
    '    rpo: 1h',
    '    pitr:',
    '      wal: stream',
    '      slot: lifeboat_db',
    '      base_backup: 1d',
  ]);
  expect(init.code, init.stderr).toBe(0);
  await mkdir(path.join(dir, 'fetched'));
  await chown(path.join(dir, 'fetched'), postgresOwner.uid, postgresOwner.gid);
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

describe('stream mode killed with SIGKILL mid-segment', () => {
  it('loses nothing stored, resumes from the slot without a gap, stores no truncated segment, and restores rows written after the kill', async () => {
    await waitUntil(
      async () => (await walStatus(ws())).last_base_backup !== null,
      600_000,
      async () => `no base backup yet; serve log: ${await serveLog(ws())}`,
    );
    // pgbench and a marker every 100 ms until the end; a pgbench failure shows in its exit code.
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
      // A few completed segments, then the segment being written shipped as a partial copy.
      for (let i = 0; i < 3; i++) {
        await sleep(2_000);
        server.psql('SELECT pg_switch_wal()');
      }
      const finished = server.psql('SELECT pg_walfile_name(pg_switch_wal())');
      await sleep(1_000);
      const segment = currentSegment();
      expect(segment > finished).toBe(true);
      let before = await storedWal(ws());
      await waitUntil(
        async () => {
          before = await storedWal(ws());
          return before.some((f) => f.name === finished) && before.some((f) => f.name === `${segment}.partial`);
        },
        300_000,
        async () => `${finished} or ${segment}.partial not stored; serve log: ${await serveLog(ws())}`,
      );
      const shippedPartial = written(await fetched(`${segment}.partial`));
      // More WAL in the same segment after the copy, then both processes die at once.
      await sleep(1_500);
      const receiver = receiverPid();
      expect(receiver).toBeDefined();
      process.kill(receiver!, 'SIGKILL');
      await stopServe(daemon, 'SIGKILL');
      const markerAtKill = Number(server.psql('SELECT max(id) FROM marker'));
      expect(currentSegment()).toBe(segment);

      // The server keeps what nobody received for the slot; writes go on while nothing streams.
      await sleep(3_000);
      daemon = await startServe(ws());
      await waitUntil(
        async () => receiverPid() !== undefined && receiverPid() !== receiver,
        120_000,
        async () => `pg_receivewal not started again; serve log: ${await serveLog(ws())}`,
      );
      await sleep(3_000);
      const last = server.psql('SELECT pg_walfile_name(pg_switch_wal())');
      expect(last >= segment).toBe(true);
      await waitUntil(
        async () => ((await walStatus(ws())).last_archived_wal ?? '') > last,
        300_000,
        async () => `${last} not shipped; ${JSON.stringify(await walStatus(ws()))}; serve log: ${await serveLog(ws())}`,
      );
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
      const restored = path.join(dir, 'restore-after-kill');
      const restoreArgs = ['restore', 'latest', '--source', 'db', '--target', restored, '--to-time', target];
      let plan: LbRun | undefined;
      await waitUntil(
        async () => {
          plan = await lb([...restoreArgs, '--dry-run']);
          return plan.code === 0;
        },
        300_000,
        async () => `not reachable yet: ${plan?.stdout}\n${plan?.stderr}`,
      );

      const check = await lb(['wal', 'check', '--source', 'db']);
      expect(check.code, check.stdout + check.stderr).toBe(0);
      expect(check.stdout).toMatch(/no gaps/);
      const s = await walStatus(ws());
      expect(s.mode).toBe('stream');
      expect(s.problems).toEqual([]);
      await stopServe(daemon);

      // Nothing stored before the kill is gone: complete files by name and content, the partial copy as a prefix.
      const after = await storedWal(ws());
      for (const f of before.filter((b) => !b.name.endsWith('.partial')))
        expect(after.find((a) => a.name === f.name && a.snapshot === f.snapshot)?.sha256, f.name).toBe(f.sha256);
      const whole = await fetched(segment);
      expect(whole.length).toBe(SEGMENT_BYTES);
      expect(shippedPartial.length).toBeGreaterThan(0);
      expect(Buffer.compare(whole.subarray(0, shippedPartial.length), shippedPartial)).toBe(0);
      // Every stored complete segment is whole and the same as the server's copy, the one killed mid-write included.
      const pgWal = path.join(server.dir, 'data', 'pg_wal');
      const { compared, problems } = await compareWithServerWal(after, pgWal, currentSegment());
      expect(problems).toEqual([]);
      expect(compared).toContain(segment);
      expect(Buffer.compare(whole, await readFile(path.join(pgWal, segment)))).toBe(0);

      const r = await lb([...restoreArgs, '--verify']);
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
