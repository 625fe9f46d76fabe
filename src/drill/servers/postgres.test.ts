import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initRepo } from '../../../test/helpers/repo-lib.js';
import { PG_BIN, startPostgres, type PostgresServer } from '../../../test/helpers/servers/postgres.js';
import type { SourceConfigOf } from '../../config/source-schemas.js';
import type { Repository } from '../../repository/repository.js';
import { backupSource } from '../../sources/run-source.js';
import { runDrill } from '../drill.js';

/**
 * PostgreSQL drills into a temporary database on the configured server,
 * always dropped (the throwaway server needs a user other than root, see
 * test/e2e/drill-postgres-servers.test.ts).
 */
const PASSWORD = 'pg-drill-Secret-4b1f';

describe('restore drills (postgres)', () => {
  let server: PostgresServer;
  let dir: string;
  let scratch: string;
  let repo: Repository;
  let config: SourceConfigOf<'postgres'>;
  let pgpass: string;
  const drillDatabases = () => server.psql(`SELECT datname FROM pg_database WHERE datname LIKE 'lifeboat\\_%'`).trim();

  beforeAll(async () => {
    server = await startPostgres();
    dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-drill-pg-'));
    scratch = path.join(dir, 'scratch');
    await mkdir(scratch);
    server.psql(`CREATE ROLE lifeboat_backup LOGIN SUPERUSER PASSWORD '${PASSWORD}'`);
    server.psql('CREATE DATABASE app');
    server.psql(
      `CREATE TABLE events (id serial PRIMARY KEY, created_at timestamptz NOT NULL); INSERT INTO events (created_at) SELECT now() - g * interval '1 minute' FROM generate_series(0, 19) g;`,
      'app',
    );
    const passwordFile = path.join(dir, 'pg.pass');
    await writeFile(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
    pgpass = path.join(dir, 'pgpass');
    await writeFile(pgpass, `*:*:*:*:${PASSWORD}\n`, { mode: 0o600 });
    config = {
      type: 'postgres',
      url: `postgres://lifeboat_backup@127.0.0.1:${server.port}/app`,
      password_file: passwordFile,
      recent_data: { table: 'events', column: 'created_at' },
      rpo: '1h',
      rto: '5m',
      smoke: `PGPASSFILE=${pgpass} ${PG_BIN}/psql -X -tAc 'SELECT count(*) FROM events' | grep -qx 20`,
      drill: { server: 'scratch_database' },
    };
    repo = await initRepo(path.join(dir, 'repo'), 'repo-password');
  }, 120_000);

  afterAll(async () => {
    await repo?.close();
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('passes: restored into a temporary database, row counts, schema hash, recent data and a smoke query; the database is dropped', async () => {
    const { snapshot } = await backupSource(repo, 'main-pg', config);
    const { report } = await runDrill(repo, { source: 'main-pg', config, tempBase: scratch });
    expect(report.reasons).toEqual([]);
    expect(report.verdict).toBe('PASS');
    expect(report.snapshot.id).toBe(snapshot.id);
    expect(report.restoredTo).toMatch(
      new RegExp(`^postgres://lifeboat_backup@127\\.0\\.0\\.1:${server.port}/lifeboat_drill_[0-9a-f]{12}$`),
    );
    expect(report.checks.map((c) => c.name)).toEqual(['restore', 'tables', 'schemaHash', 'recentData', 'recent data']);
    expect(report.rpo.basis).toBe('snapshot time minus the newest events.created_at in the restored copy');
    expect(report.smoke).toMatchObject({ ok: true, exitCode: 0 });
    expect(report.isolation).toEqual({ server: 'scratch_database', detail: 'drill.server: scratch_database' });
    expect(JSON.stringify(report)).not.toContain(PASSWORD);
    expect(drillDatabases()).toBe('');
    expect(readdirSync(scratch)).toEqual([]);
  }, 120_000);

  it('falls back to a scratch database when bin_dir has no initdb and postgres, and says so; drill.server: throwaway refuses', async () => {
    const tools = path.join(dir, 'client-tools-only');
    await mkdir(tools);
    for (const tool of ['pg_dump', 'pg_dumpall', 'pg_restore'])
      await symlink(path.join(PG_BIN, tool), path.join(tools, tool));
    const auto = { ...config, bin_dir: tools, drill: undefined };
    await backupSource(repo, 'main-pg', auto);
    const { report } = await runDrill(repo, { source: 'main-pg', config: auto, store: false, tempBase: scratch });
    expect(report.reasons).toEqual([]);
    expect(report.isolation).toEqual({
      server: 'scratch_database',
      detail: `no throwaway server (no initdb in ${tools}), so a scratch database on the configured server`,
    });
    expect(report.restoredTo).toContain(`127.0.0.1:${server.port}/lifeboat_drill_`);
    await expect(
      runDrill(repo, { source: 'main-pg', config: { ...auto, drill: { server: 'throwaway' } }, store: false }),
    ).rejects.toThrow(`no throwaway server for the drill: no initdb in ${tools}`);
    expect(drillDatabases()).toBe('');
  }, 120_000);

  it('fails when the recorded row count was tampered with', async () => {
    const { snapshot } = await backupSource(repo, 'main-pg', config);
    const { id: _id, ...plain } = snapshot;
    void _id;
    const record = (plain.metadata as { record: { tables: Record<string, number> } }).record;
    const tampered = await repo.saveSnapshot({
      ...plain,
      metadata: { ...plain.metadata, record: { ...record, tables: { ...record.tables, 'public.events': 21 } } },
    });
    const { report } = await runDrill(repo, {
      source: 'main-pg',
      config: { ...config, smoke: undefined },
      snapshot: tampered,
      store: false,
      tempBase: scratch,
    });
    expect(report.verdict).toBe('FAIL');
    expect(report.reasons).toEqual([
      expect.stringMatching(/^tables: expected \{"public.events":21\}, found \{"public.events":20\}/),
    ]);
    expect(drillDatabases()).toBe('');
  }, 120_000);

  it('an interrupted drill drops its temporary database and stops the smoke command', async () => {
    const pidFile = path.join(dir, 'smoke.pid');
    const controller = new AbortController();
    // Its own snapshot, named: the newest one of this source may be the tampered copy above (same time), whose drill fails before the smoke command.
    const { snapshot } = await backupSource(repo, 'main-pg', config);
    const drill = runDrill(repo, {
      source: 'main-pg',
      snapshot: snapshot.id,
      config: { ...config, smoke: `echo $$ > ${pidFile}; sleep 30` },
      signal: controller.signal,
      tempBase: scratch,
    });
    let settled = false;
    drill.then(
      () => (settled = true),
      () => (settled = true),
    );
    for (let i = 0; i < 3600 && !settled && !existsSync(pidFile); i++) await new Promise((r) => setTimeout(r, 50)); // a loaded machine restores slowly
    if (settled)
      throw new Error(
        `the drill ended before its smoke command started: ${JSON.stringify((await drill).report.reasons)}`,
      );
    expect(drillDatabases()).toMatch(/^lifeboat_drill_[0-9a-f]{12}$/);
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    controller.abort();
    await expect(drill).rejects.toThrow(/interrupted/);
    expect(drillDatabases()).toBe('');
    expect(readdirSync(scratch)).toEqual([]);
    expect(() => process.kill(pid, 0)).toThrow();
  }, 240_000);
});
