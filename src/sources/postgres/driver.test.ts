import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../test/helpers/servers/free-port.js';
import { startPostgres, PG_BIN, type PostgresServer } from '../../../test/helpers/servers/postgres.js';
import type { SourceConfigOf } from '../../config/source-schemas.js';
import { ErrorCode, LifeboatError } from '../../errors/index.js';
import { Repository } from '../../repository/repository.js';
import { openStorage } from '../../storage/registry.js';
import { expectCode } from '../../storage/testing/conformance.js';
import { backupSource, restoreSource } from '../run-source.js';
import { readSnapshotFile, snapshotFileNode } from '../snapshot-file.js';
import { describeSourceConformance } from '../testing/source-suite.js';
import { postgresSource } from './driver.js';

const PASSWORD = 'pg-Secret:with\\odd chars-7c1e';
const READER_PASSWORD = 'reader-pass-93ad0b';

interface Env {
  server: PostgresServer;
  dir: string;
  config: SourceConfigOf<'postgres'>;
  url: (database: string, user?: string) => string;
}

/** One cluster for the whole file: a superuser with a password, a pgbench database and an events table. */
let shared: Promise<Env> | undefined;
function environment(): Promise<Env> {
  shared ??= (async () => {
    const server = await startPostgres();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-pgtest-'));
    const sqlPassword = PASSWORD.replace(/'/g, "''");
    server.psql(`CREATE ROLE lifeboat_backup LOGIN SUPERUSER PASSWORD '${sqlPassword}'`);
    server.psql('CREATE DATABASE app');
    const init = spawnSync(`${PG_BIN}/pgbench`, ['-i', '-s', '3', '-q'], {
      env: { ...process.env, ...server.superuserEnv('app') },
      encoding: 'utf8',
    });
    if (init.status !== 0) throw new Error(`pgbench -i failed: ${init.stderr}`);
    server.psql(
      `CREATE TABLE events (id bigserial PRIMARY KEY, created_at timestamptz NOT NULL, "Odd ""name""" text);
       INSERT INTO events (created_at) SELECT '2024-05-06 07:08:09.123456+02'::timestamptz - g * interval '1 hour' FROM generate_series(0, 99) g;
       CREATE VIEW recent_events AS SELECT * FROM events WHERE created_at > '2024-01-01';`,
      'app',
    );
    // May read the application's tables, but not pg_authid (so not the roles pg_dumpall --globals-only needs).
    server.psql(
      `CREATE ROLE lifeboat_reader LOGIN PASSWORD '${READER_PASSWORD}';
       GRANT SELECT ON ALL TABLES IN SCHEMA public TO lifeboat_reader; GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO lifeboat_reader;`,
      'app',
    );
    const passwordFile = path.join(dir, 'pg.pass');
    await writeFile(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
    const url = (database: string, user = 'lifeboat_backup') =>
      `postgres://${user}@127.0.0.1:${server.port}/${database}`;
    const config: SourceConfigOf<'postgres'> = {
      type: 'postgres',
      url: url('app'),
      password_file: passwordFile,
      recent_data: { table: 'pgbench_history', column: 'mtime' },
    };
    return { server, dir, config, url };
  })();
  return shared;
}

afterAll(async () => {
  if (!shared) return;
  const env = await shared;
  await env.server.stop();
  await rm(env.dir, { recursive: true, force: true });
}, 60_000);

let restoredCount = 0;

describeSourceConformance('postgres', async () => {
  const env = await environment();
  const port = await freePort(); // nothing listens there
  return {
    config: env.config,
    secrets: [PASSWORD],
    // pgbench's TPC-B transactions update accounts, tellers and branches and insert history rows during the backup.
    startWriter: async () => {
      const writer = spawn(`${PG_BIN}/pgbench`, ['-n', '-c', '2', '-T', '120'], {
        env: { ...process.env, ...env.server.superuserEnv('app') },
        stdio: 'ignore',
      });
      await new Promise((r) => setTimeout(r, 500));
      return async () => {
        const exited = new Promise((r) => writer.once('exit', r));
        writer.kill('SIGTERM');
        await exited;
      };
    },
    restoreTarget: async () => ({ toDatabase: `restored_${++restoredCount}` }),
    unreachable: {
      type: 'postgres',
      url: `postgres://lifeboat_backup@127.0.0.1:${port}/app`,
      password_file: env.config.password_file,
    },
    recordedFields: ['tables', 'schemaHash', 'serverVersion', 'recentData', 'url', 'dump', 'globals'],
    cleanup: async () => {},
  };
});

describe('postgres source', () => {
  let env: Env;
  let repo: Repository;
  let work: string;

  beforeAll(async () => {
    env = await environment();
    work = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-pgrepo-'));
    repo = await Repository.init(await openStorage(path.join(work, 'repo'), { create: true }), Buffer.from('pw'));
  }, 120_000);

  afterAll(async () => {
    await repo?.close();
    await rm(work, { recursive: true, force: true });
  });

  it('records the newest value of recent_data, row counts and the server version, and a restore reproduces them', async () => {
    const config = { ...env.config, recent_data: { table: 'public.events', column: 'created_at' } };
    const { snapshot, record } = await backupSource(repo, 'events', config);
    expect(record.recentData).toEqual({
      table: 'public.events',
      column: 'created_at',
      newest: '2024-05-06T05:08:09.123456+00:00',
    });
    expect(record.tables).toMatchObject({
      'public.events': 100,
      'public.pgbench_branches': 3,
      'public.pgbench_accounts': 300_000,
    });
    expect(record.serverVersion).toMatch(/^15\./);
    expect(record.url).toBe(env.url('app'));
    expect(snapshot.paths.sort()).toEqual(['/postgres/app.dump', '/postgres/globals.sql']);

    const result = await restoreSource(repo, snapshot, { config, toDatabase: 'events_copy' });
    expect(result.checks.map((c) => c.field).sort()).toEqual(['recentData', 'schemaHash', 'tables']);
    expect(result.checks.filter((c) => !c.ok)).toEqual([]);
    expect(result.restored.location).toBe(env.url('events_copy'));
    expect(env.server.psql('SELECT count(*) FROM recent_events', 'events_copy')).toBe('100');
  });

  it('stores roles from pg_dumpall --globals-only beside the dump', async () => {
    const { snapshot } = await backupSource(repo, 'globals', env.config);
    const node = await snapshotFileNode(repo, snapshot, '/postgres/globals.sql');
    const parts: Buffer[] = [];
    for await (const part of readSnapshotFile(repo, node, 'globals')) parts.push(part);
    const text = Buffer.concat(parts).toString('utf8');
    expect(text).toContain('CREATE ROLE lifeboat_backup');
    expect(text).toContain('CREATE ROLE lifeboat_reader');
  });

  it('notices a restored copy that differs from the record', async () => {
    const { snapshot } = await backupSource(repo, 'differs', env.config);
    const ctx = {
      repo,
      snapshot,
      sourceName: 'differs',
      config: env.config,
      tempDir: work,
      signal: new AbortController().signal,
      log: () => {},
    };
    const restored = await postgresSource.restore({ ...ctx, toDatabase: 'altered' });
    const same = await postgresSource.inspect(restored, ctx);
    env.server.psql(
      'ALTER TABLE pgbench_branches ADD COLUMN note text; DELETE FROM pgbench_tellers WHERE tid = 1;',
      'altered',
    );
    const changed = await postgresSource.inspect(restored, ctx);
    expect(changed.schemaHash).not.toBe(same.schemaHash);
    expect((changed.tables as Record<string, number>)['public.pgbench_tellers']).toBe(
      (same.tables as Record<string, number>)['public.pgbench_tellers']! - 1,
    );
  });

  it('fails with SourceFailed and a hint when the database does not exist, and saves nothing', async () => {
    const before = (await repo.listSnapshots()).snapshots.length;
    const err = await expectCode(
      backupSource(repo, 'missing', { ...env.config, url: env.url('no_such_db') }),
      ErrorCode.SourceFailed,
    );
    expect(err.message).toContain('"no_such_db" does not exist');
    expect(err.hint).toContain('url');
    expect((await repo.listSnapshots()).snapshots.length).toBe(before);
  });

  it('says so when the password is wrong', async () => {
    const wrong = path.join(work, 'wrong.pass');
    await writeFile(wrong, 'not-the-password\n', { mode: 0o600 });
    const err = await expectCode(
      backupSource(repo, 'wrong', { ...env.config, password_file: wrong }),
      ErrorCode.SourceFailed,
    );
    expect(err.message).toContain('refused the password');
    expect(err.hint).toContain('password_file');
  });

  it('fails a role that may not read roles with a hint to set globals: false, and backs it up without globals', async () => {
    const readerPass = path.join(work, 'reader.pass');
    await writeFile(readerPass, READER_PASSWORD, { mode: 0o600 });
    const config = { ...env.config, url: env.url('app', 'lifeboat_reader'), password_file: readerPass };
    const err = await expectCode(backupSource(repo, 'reader', config), ErrorCode.SourceFailed);
    expect(err.message).toContain('permission denied');
    expect(err.hint).toContain('globals: false');
    const { snapshot, record } = await backupSource(repo, 'reader', { ...config, globals: false });
    expect(snapshot.paths).toEqual(['/postgres/app.dump']);
    expect(record.globals).toBeNull();
    // Restored by the superuser: every role the dump names exists, so ownership is kept.
    const result = await restoreSource(repo, snapshot, { config: env.config, toDatabase: 'reader_copy' });
    expect(result.checks.filter((c) => !c.ok)).toEqual([]);
  });

  it('restores without owners and grants when a role the dump names no longer exists', async () => {
    env.server.psql('CREATE DATABASE owned');
    env.server.psql('CREATE ROLE gone_owner');
    env.server.psql(
      'CREATE TABLE ledger (id int PRIMARY KEY); INSERT INTO ledger VALUES (1), (2); ALTER TABLE ledger OWNER TO gone_owner; GRANT SELECT ON ledger TO lifeboat_reader;',
      'owned',
    );
    const config = { ...env.config, url: env.url('owned'), recent_data: undefined, globals: false };
    const { snapshot, record } = await backupSource(repo, 'owned', config);
    expect(record.roles).toEqual(expect.arrayContaining(['gone_owner', 'lifeboat_reader']));
    env.server.psql('DROP DATABASE owned');
    env.server.psql('DROP ROLE gone_owner');
    const logs: string[] = [];
    const result = await restoreSource(repo, snapshot, { config, toDatabase: 'owned_copy', log: (l) => logs.push(l) });
    expect(result.checks.filter((c) => !c.ok)).toEqual([]);
    expect(logs.join('\n')).toContain('roles missing on this server: gone_owner');
    expect(env.server.psql("SELECT tableowner FROM pg_tables WHERE tablename = 'ledger'", 'owned_copy')).toBe(
      'lifeboat_backup',
    );
  });

  it('replaces an existing database only with --force, ending its sessions', async () => {
    env.server.psql('CREATE DATABASE victim');
    env.server.psql('CREATE TABLE marker (x int); INSERT INTO marker VALUES (1);', 'victim');
    const { snapshot } = await backupSource(repo, 'force', env.config);
    await expectCode(restoreSource(repo, snapshot, { config: env.config, toDatabase: 'victim' }), ErrorCode.Refused);
    expect(env.server.psql('SELECT count(*) FROM marker', 'victim')).toBe('1');

    const session = new pg.Client({
      host: env.server.socketDir,
      port: env.server.port,
      user: 'postgres',
      database: 'victim',
    });
    session.on('error', () => {});
    await session.connect();
    try {
      const result = await restoreSource(repo, snapshot, { config: env.config, toDatabase: 'victim', force: true });
      expect(result.checks.filter((c) => !c.ok)).toEqual([]);
    } finally {
      await session.end().catch(() => {});
    }
    expect(env.server.psql("SELECT count(*) FROM pg_tables WHERE tablename = 'marker'", 'victim')).toBe('0');
    expect(Number(env.server.psql('SELECT count(*) FROM pgbench_branches', 'victim'))).toBe(3);
    expect(env.server.psql("SELECT count(*) FROM pg_database WHERE datname LIKE 'lifeboat_restore_%'")).toBe('0');
  });

  it('requires --to-database', async () => {
    const { snapshot } = await backupSource(repo, 'no-target', { ...env.config, globals: false });
    const err = await expectCode(restoreSource(repo, snapshot, { config: env.config }), ErrorCode.Usage);
    expect(err.message).toContain('--to-database');
  });

  it('restores from the snapshot alone, with the password from PGPASSWORD', async () => {
    const { snapshot } = await backupSource(repo, 'alone', { ...env.config, globals: false });
    process.env.PGPASSWORD = PASSWORD;
    try {
      const result = await restoreSource(repo, snapshot, { toDatabase: 'alone_copy' });
      expect(result.checks.filter((c) => !c.ok)).toEqual([]);
      expect(result.checks.length).toBeGreaterThan(0);
    } finally {
      delete process.env.PGPASSWORD;
    }
  });

  it('never shows the password in ps while backing up and restoring', async () => {
    const seen: string[] = [];
    let running = true;
    const sampler = (async () => {
      while (running) {
        seen.push(execFileSync('ps', ['-eww', '-o', 'args='], { encoding: 'utf8' }));
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    try {
      const { snapshot } = await backupSource(repo, 'ps', env.config);
      await restoreSource(repo, snapshot, { config: env.config, toDatabase: 'ps_copy' });
    } finally {
      running = false;
      await sampler;
    }
    const all = seen.join('\n');
    expect(seen.length).toBeGreaterThan(1);
    expect(all).toMatch(/pg_dump|pg_restore/); // the sampler did see the tools at work
    expect(all).not.toContain(PASSWORD);
  });

  it('stops pg_dump and closes its connection when the backup is aborted', async () => {
    // A session holding an exclusive lock makes pg_dump wait, so it is surely running when aborted.
    const blocker = new pg.Client({
      host: env.server.socketDir,
      port: env.server.port,
      user: 'postgres',
      database: 'app',
    });
    await blocker.connect();
    await blocker.query('BEGIN; LOCK TABLE pgbench_accounts IN ACCESS EXCLUSIVE MODE');
    try {
      await abortWhileDumping();
    } finally {
      await blocker.end();
    }
    const closed = Date.now() + 5_000;
    const lifeboatSessions = () =>
      env.server.psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'lifeboat'");
    while (lifeboatSessions() !== '0' && Date.now() < closed) await new Promise((r) => setTimeout(r, 20));
    expect(lifeboatSessions()).toBe('0');
  });

  async function abortWhileDumping() {
    const abort = new AbortController();
    const running = backupSource(repo, 'aborted', { ...env.config, globals: false }, { signal: abort.signal });
    const dumps = async () => {
      const found: string[] = [];
      for (const pid of (await readdir('/proc')).filter((p) => /^\d+$/.test(p))) {
        const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
        if (cmd.includes('pg_dump') && cmd.includes('--snapshot=')) found.push(pid);
      }
      return found;
    };
    const deadline = Date.now() + 10_000;
    while ((await dumps()).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect((await dumps()).length).toBe(1);
    abort.abort();
    const err = await running.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(LifeboatError);
    expect((err as LifeboatError).code).toBe(ErrorCode.Interrupted);
    const gone = Date.now() + 5_000;
    while ((await dumps()).length > 0 && Date.now() < gone) await new Promise((r) => setTimeout(r, 20));
    expect(await dumps()).toEqual([]);
  }
});
