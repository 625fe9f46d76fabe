import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, tempDir } from '../helpers/cli.js';
import { waitUntil } from '../helpers/servers/free-port.js';
import { PG_BIN, startPostgres, type PostgresServer } from '../helpers/servers/postgres.js';
import {
  lbAsPostgres,
  postgresOwner,
  setUpPitrRepository,
  spawnLbAsPostgres,
  startRestoredServer,
} from '../helpers/pitr.js';
import { checkRestoredAt, pickTargets, type PitrTarget, restoredState, stateAt } from '../helpers/pitr-targets.js';

/**
 * Point-in-time recovery end to end with real servers. PostgreSQL runs as the
 * `postgres` user and calls `lifeboat wal-push` as its archive_command, so
 * every Lifeboat command here runs as that user too (the repository, config
 * and cache belong to it). pgbench writes while a marker table gets a row
 * every 100 ms; restores to 5 random moments between marker commits must hold
 * the markers and pgbench transactions committed by then, whole (commit times
 * from track_commit_timestamp; what "by then" means when commits race the
 * target is in `checkRestoredAt` of `pitr-targets.ts`).
 */

let dir: string;
let cleanup: () => Promise<void>;
let server: PostgresServer;
let configFile: string;
const PASSWORD = 'pitr test password that is long enough';

const lb = (args: string[], extraEnv: Record<string, string> = {}) => lbAsPostgres({ dir, configFile }, args, extraEnv);

function archiveCommand(extra = ''): string {
  return `${process.execPath} ${CLI} --config ${configFile} --quiet wal-push ${extra}--source db %p`;
}

async function client(): Promise<pg.Client> {
  const c = new pg.Client({ host: server.socketDir, port: server.port, user: 'postgres', database: 'postgres' });
  await c.connect();
  return c;
}

/** Start a restored data directory as postgres (socket only) and run `use` against it. */
async function withRestoredServer<T>(dataDir: string, use: (psql: (sql: string) => string) => Promise<T>): Promise<T> {
  const restored = await startRestoredServer(dir, dataDir, ['-c', 'archive_mode=off']);
  try {
    return await use(restored.psql);
  } finally {
    await restored.stop();
  }
}

function lastArchived(): string {
  return server.psql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver");
}

/** Switch to a new segment and wait until the one just finished is archived (generous: the machine is shared). */
async function archiveCurrent(): Promise<string> {
  const finished = server.psql('SELECT pg_walfile_name(pg_switch_wal())');
  await waitUntil(
    async () => lastArchived() >= finished,
    300_000,
    async () =>
      `last archived ${lastArchived()}, waiting for ${finished}; failures: ${server.psql("SELECT failed_count || ' ' || coalesce(last_failed_wal, '') FROM pg_stat_archiver")}`,
  );
  return finished;
}

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('lifeboat-pitr-'));
  await chmod(dir, 0o755);
  configFile = path.join(dir, 'lifeboat.yaml');
  server = await startPostgres({
    settings: {
      archive_mode: 'on',
      archive_command: archiveCommand(),
      full_page_writes: 'on',
      track_commit_timestamp: 'on',
      wal_level: 'replica',
      max_wal_senders: '5',
    },
  });
  const init = await setUpPitrRepository({ dir, configFile }, server, PASSWORD, [
    '    pitr:',
    '      wal: archive',
    `      spool_dir: ${dir}/spool`,
  ]);
  expect(init.code, init.stderr).toBe(0);
  // archive_command failed (and PostgreSQL kept the segments) until the repository existed.
  server.psql('CREATE TABLE marker (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())');
  const bench = spawnSync(`${PG_BIN}/pgbench`, ['-i', '-s', '1', '-q'], {
    env: { ...process.env, ...server.superuserEnv() },
    encoding: 'utf8',
  });
  expect(bench.status, bench.stderr).toBe(0);
}, 300_000);

afterAll(async () => {
  await server?.stop();
  await cleanup?.();
});

describe('postgres point-in-time recovery', () => {
  const targets: Array<PitrTarget & { expected: ReturnType<typeof stateAt> }> = [];
  let baseId = '';

  it('takes a base backup streamed into the repository and records where its WAL starts and ends', async () => {
    const r = await lb(['--json', 'base-backup', '--source', 'db']);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    baseId = String(s.snapshot);
    expect(s.startLsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    expect(s.stopLsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    expect(s.timeline).toBe(1);
    expect(s.systemIdentifier).toBe(server.psql('SELECT system_identifier FROM pg_control_system()'));
    expect(s.dataChecksums).toBe(false);
    expect(s.startWal).toMatch(/^00000001[0-9A-F]{16}$/);
    expect(Number(s.tarBytes)).toBeGreaterThan(1_000_000);
  }, 600_000);

  it('a second base backup after 1 % of the rows changed adds a few per cent of the tar (relation pages deduplicate)', async () => {
    // Measured at this scale (pgbench 1, a 40 MB tar): 1.4 % of the tar added with page-aligned chunks,
    // 14 % with content-defined chunks of the whole tar, as before ADR 0044. The bound lies between,
    // with room so that it cannot flake. The restores below start from this base backup, so they
    // read page-cut data.
    const rows = Number(server.psql('SELECT count(*) FROM pgbench_accounts'));
    // New row versions go to the end of the table (fillfactor 100): the file grows. The balances stay
    // as they are: the restores below check that every balance is the sum of the history deltas.
    server.psql(`UPDATE pgbench_accounts SET filler = filler WHERE aid <= ${rows / 100}`);
    server.psql('CHECKPOINT');
    const r = await lb(['--json', 'base-backup', '--source', 'db']);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout.trim().split('\n').pop()!) as { added: { addedBytes: number }; tarBytes: number };
    expect(s.tarBytes).toBeGreaterThan(10_000_000);
    expect(s.added.addedBytes).toBeLessThan(s.tarBytes * 0.05);
  }, 600_000);

  it('archives WAL while pgbench and a marker writer run, and restores to 5 random moments: every transaction committed by then, whole', async () => {
    const writer = await client();
    const bench = spawn(`${PG_BIN}/pgbench`, ['-c', '2', '-T', '40', '--rate=40', '-n'], {
      env: { ...process.env, ...server.superuserEnv() },
      stdio: 'ignore',
    });
    const benchDone = new Promise((r) => bench.once('exit', r));
    const stopAt = Date.now() + 40_000;
    const startedAt = Date.now();
    let switched = 0;
    while (Date.now() < stopAt) {
      await writer.query('INSERT INTO marker DEFAULT VALUES');
      // A new segment every ~5 s, as a busy server would fill them.
      if (Date.now() - startedAt > (switched + 1) * 5_000) {
        switched++;
        await writer.query('SELECT pg_switch_wal()');
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    await benchDone;
    await writer.end();
    await archiveCurrent();
    for (const t of pickTargets(server.psql, 5)) targets.push({ ...t, expected: stateAt(server.psql, t.time) });
    for (const t of targets) expect(t.expected.marker, t.time).toBe(t.marker);
    expect(targets[0]!.expected.history).toBeGreaterThan(10);
    for (const [i, t] of targets.entries()) {
      const dataDir = path.join(dir, `restore-${i}`);
      const r = await lb(['restore', 'latest', '--source', 'db', '--target', dataDir, '--to-time', t.time, '--verify']);
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(/restored and verified/);
      await withRestoredServer(dataDir, async (psql) => {
        // The newest marker was committed by the target, at most 1 s before it: the last one before
        // the target, or (when a concurrent commit reached the WAL first, see checkRestoredAt) one before it.
        const age = Number(psql(`SELECT extract(epoch FROM '${t.time}'::timestamptz - max(at)) FROM marker`));
        expect(age).toBeGreaterThan(0);
        expect(age).toBeLessThanOrEqual(1);
        const marker = restoredState(psql).marker;
        expect(marker).toBeLessThanOrEqual(t.expected.marker);
        expect(marker).toBeGreaterThan(t.expected.marker - 10); // markers are 100 ms apart: within 1 s
        // Every pgbench transaction committed by then, whole: none after the target, all but those
        // within 1 s of it for certain, and balances that add up.
        expect(checkRestoredAt(server.psql, psql, t.time).problems, t.time).toEqual([]);
      });
    }
  }, 1_800_000);

  it('restorePointInTime of the library reports the base backup written and stops through its signal, leaving the directory empty', async () => {
    const { openConfig, openRepository, pitr } = await import('../../src/index.js');
    const repo = await openRepository(openConfig(configFile), 'main', { cacheRoot: path.join(dir, 'lib-cache') });
    try {
      const stoppedDir = path.join(dir, 'lib-stopped');
      const controller = new AbortController();
      const err = await pitr
        .restorePointInTime(repo, {
          source: 'db',
          base: baseId,
          target: { kind: 'latest' },
          dataDir: stoppedDir,
          restoreCommand: 'false',
          signal: controller.signal,
          onProgress: () => controller.abort(),
        })
        .catch((e: unknown) => e);
      expect((err as { code?: string }).code, String(err)).toBe('interrupted');
      expect(await readdir(stoppedDir)).toEqual([]);

      const reports: Array<{ bytes: number; totalBytes: number }> = [];
      const done = await pitr.restorePointInTime(repo, {
        source: 'db',
        base: baseId,
        target: { kind: 'latest' },
        dataDir: path.join(dir, 'lib-whole'),
        restoreCommand: 'false',
        onProgress: (p) => reports.push(p),
      });
      expect(done.written).toBe(true);
      expect(reports.length).toBeGreaterThan(1);
      expect(reports.at(-1)!.bytes).toBe(reports.at(-1)!.totalBytes);
      for (let i = 1; i < reports.length; i++) expect(reports[i]!.bytes).toBeGreaterThan(reports[i - 1]!.bytes);
    } finally {
      await repo.close();
    }
  }, 600_000);

  it('reports a gap found by `wal check` and refuses a restore past it before writing anything', async () => {
    const ok = await lb(['wal', 'check', '--source', 'db']);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/no gaps/);
    // Remove the WAL snapshot of a segment archived after the third target.
    const list = await lb(['--json', 'snapshots']);
    expect(list.code, list.stderr).toBe(0);
    const snaps = (
      JSON.parse(list.stdout) as {
        snapshots: Array<{
          id: string;
          source: string;
          metadata: { pitr?: { files: Array<{ name: string; archivedAt: string }> } };
        }>;
      }
    ).snapshots.filter((s) => s.source === 'db:pitr-wal');
    const after = snaps
      .flatMap((s) => s.metadata.pitr!.files.map((f) => ({ id: s.id, ...f })))
      .filter((f) => /^[0-9A-F]{24}$/.test(f.name) && new Date(f.archivedAt) > new Date(targets[2]!.ms + 3_000))
      .sort((a, b) => (a.name < b.name ? -1 : 1));
    const victim = after[0]!;
    await rm(path.join(dir, 'repo', 'snapshots', victim.id));
    const check = await lb(['wal', 'check', '--source', 'db']);
    expect(check.code).toBe(1);
    expect(check.stdout).toContain(victim.name);
    const dataDir = path.join(dir, 'restore-past-gap');
    const past = await lb(['restore', 'latest', '--source', 'db', '--target', dataDir, '--to-time', targets[4]!.time]);
    expect(past.code).toBe(1);
    expect(past.stderr).toContain(victim.name);
    expect(past.stderr).toMatch(/nothing was written/);
    expect(existsSync(dataDir)).toBe(false);
    const before = await lb([
      'restore',
      baseId.slice(0, 8),
      '--source',
      'db',
      '--target',
      dataDir,
      '--to-time',
      targets[0]!.time,
      '--dry-run',
    ]);
    expect(before.code, before.stderr).toBe(0);
    expect(existsSync(dataDir)).toBe(false);
  }, 600_000);

  it('acknowledges the same segment twice, refuses different content under a stored name, and a killed push stores nothing truncated', async () => {
    const work = path.join(dir, 'push-work');
    await mkdir(work);
    const segment = lastArchived();
    const copy = path.join(work, segment);
    spawnSync('chown', ['-R', `${postgresOwner.uid}:${postgresOwner.gid}`, work]);
    const got = await lb(['wal-fetch', '--source', 'db', segment, copy]);
    expect(got.code, got.stderr).toBe(0);
    const again = await lb(['wal-push', '--source', 'db', copy]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/already archived with the same content/);
    const changed = Buffer.from(await readFile(copy));
    changed[changed.length - 1] = changed[changed.length - 1]! ^ 0xff;
    await writeFile(copy, changed);
    const conflict = await lb(['wal-push', '--source', 'db', copy]);
    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toMatch(/different content.*never overwritten/);

    // A segment name never archived, killed at several points of its push: either absent or whole.
    const fresh = path.join(work, 'FFFFFFFF0000000000000001');
    await writeFile(fresh, changed);
    spawnSync('chown', ['-R', `${postgresOwner.uid}:${postgresOwner.gid}`, work]);
    for (const delay of [300, 900, 1_500]) {
      const child = spawnLbAsPostgres({ dir, configFile }, ['wal-push', '--source', 'db', fresh], 'ignore');
      // Listen for the exit before the kill: on a quiet machine the push may end before it.
      const exited = new Promise((r) => {
        child.once('exit', r);
        child.once('error', r);
      });
      await new Promise((r) => setTimeout(r, delay));
      child.kill('SIGKILL');
      await exited;
      const out = path.join(work, `fetched-${delay}`);
      const fetched = await lb(['wal-fetch', '--source', 'db', 'FFFFFFFF0000000000000001', out]);
      if (fetched.code === 0) expect(Buffer.compare(await readFile(out), changed)).toBe(0);
      else expect(existsSync(out)).toBe(false);
    }
    const finish = await lb(['wal-push', '--source', 'db', fresh]);
    expect(finish.code, finish.stderr).toBe(0);
    const out = path.join(work, 'fetched-final');
    expect((await lb(['wal-fetch', '--source', 'db', 'FFFFFFFF0000000000000001', out])).code).toBe(0);
    expect(Buffer.compare(await readFile(out), changed)).toBe(0);
  }, 600_000);
});
