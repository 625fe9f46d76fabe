import { readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initRepo } from '../../../test/helpers/repo-lib.js';
import { startMariadb, type MariadbServer } from '../../../test/helpers/servers/mariadb.js';
import type { SourceConfigOf } from '../../config/source-schemas.js';
import type { Repository } from '../../repository/repository.js';
import { backupSource } from '../../sources/run-source.js';
import { runDrill } from '../drill.js';

/**
 * MySQL/MariaDB drills: by default into a throwaway MariaDB server of the
 * dump's release (the production server untouched), else a temporary database
 * on the configured server, always dropped.
 */
const PASSWORD = 'my-drill-Secret-77ae';

describe('restore drills (mysql)', () => {
  let server: MariadbServer;
  let dir: string;
  let repo: Repository;

  beforeAll(async () => {
    server = await startMariadb();
    dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-drill-my-'));
    await server.sql(
      `CREATE USER 'lifeboat'@'127.0.0.1' IDENTIFIED BY '${PASSWORD}'; GRANT ALL PRIVILEGES ON *.* TO 'lifeboat'@'127.0.0.1'; CREATE DATABASE shop;`,
    );
    await server.sql(
      `CREATE TABLE events (id INT AUTO_INCREMENT PRIMARY KEY, created_at DATETIME NOT NULL);
      INSERT INTO events (created_at) VALUES (UTC_TIMESTAMP()), (UTC_TIMESTAMP() - INTERVAL 5 MINUTE), (UTC_TIMESTAMP() - INTERVAL 1 DAY);`,
      'shop',
    );
    repo = await initRepo(path.join(dir, 'repo'), 'repo-password');
  }, 120_000);

  afterAll(async () => {
    await repo?.close();
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  }, 60_000);

  const productionDrillDatabases = async () =>
    (await server.sql(
      `SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'lifeboat%'`,
    )) as unknown[];

  it('into a throwaway server by default: the smoke command sees the restored rows there while the production server holds no drill database; all removed', async () => {
    const passwordFile = path.join(dir, 'my.pass');
    await writeFile(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
    const scratch = path.join(dir, 'scratch-throwaway');
    await mkdir(scratch);
    const config: SourceConfigOf<'mysql'> = {
      type: 'mysql',
      url: `mysql://lifeboat@127.0.0.1:${server.port}/shop`,
      password_file: passwordFile,
      recent_data: { table: 'events', column: 'created_at' },
      smoke: [
        // The restored copy, on the throwaway server's socket: its three rows.
        `mariadb --no-defaults --socket="$LIFEBOAT_DRILL_HOST" -u "$LIFEBOAT_DRILL_USER" -N -e 'SELECT count(*) FROM events' "$LIFEBOAT_DRILL_DATABASE" | grep -qx 3`,
        `test "$LIFEBOAT_DRILL_HOST" != '${server.socket}'`,
        // The production server, at that very moment: no drill database on it.
        `test -z "$(mariadb --no-defaults --socket='${server.socket}' -u root -N -e "SHOW DATABASES LIKE 'lifeboat%'")"`,
      ].join(' && '),
    };
    await backupSource(repo, 'shop', config);
    const { report } = await runDrill(repo, { source: 'shop', config, tempBase: scratch });
    expect(report.reasons).toEqual([]);
    expect(report.verdict).toBe('PASS');
    expect(report.isolation).toMatchObject({ server: 'throwaway' });
    expect(report.restoredTo).toMatch(/^mysql:\/\/root@localhost:3306\/lifeboat_drill_[0-9a-f]{12}\?socket=/);
    expect(report.smoke).toMatchObject({ ok: true, exitCode: 0 });
    expect(report.checks.map((c) => c.name)).toEqual(['restore', 'tables', 'schemaHash', 'recent data']);
    expect(JSON.stringify(report)).not.toContain(PASSWORD);
    expect(await productionDrillDatabases()).toEqual([]);
    expect(readdirSync(scratch)).toEqual([]);
  }, 180_000);

  it('falls back to a scratch database when the binaries are missing, and says so; drill.server: throwaway refuses instead', async () => {
    const passwordFile = path.join(dir, 'my.pass');
    const missing = path.join(dir, 'no-binaries-here');
    const config: SourceConfigOf<'mysql'> = {
      type: 'mysql',
      url: `mysql://lifeboat@127.0.0.1:${server.port}/shop`,
      password_file: passwordFile,
      drill: { bin_dir: missing },
      smoke: `echo "$LIFEBOAT_DRILL_DATABASE" | grep -q '^lifeboat_drill_' && test "$LIFEBOAT_DRILL_PORT" = ${server.port}`,
    };
    await backupSource(repo, 'shop', config);
    const { report } = await runDrill(repo, { source: 'shop', config, store: false });
    expect(report.reasons).toEqual([]);
    expect(report.isolation).toEqual({
      server: 'scratch_database',
      detail: `no throwaway server (no mariadb-install-db and mariadbd in ${missing}), so a scratch database on the configured server`,
    });
    expect(report.smoke).toMatchObject({ ok: true });
    expect(await productionDrillDatabases()).toEqual([]);
    await expect(
      runDrill(repo, {
        source: 'shop',
        config: { ...config, drill: { server: 'throwaway', bin_dir: missing } },
        store: false,
      }),
    ).rejects.toThrow(/no throwaway server for the drill: no mariadb-install-db and mariadbd in/);
  }, 180_000);

  it('passes: row counts, schema hash and recent data on a temporary database, which is dropped', async () => {
    const passwordFile = path.join(dir, 'my.pass');
    const scratch = path.join(dir, 'scratch');
    await mkdir(scratch);
    const config: SourceConfigOf<'mysql'> = {
      drill: { server: 'scratch_database' },
      type: 'mysql',
      url: `mysql://lifeboat@127.0.0.1:${server.port}/shop`,
      password_file: passwordFile,
      recent_data: { table: 'events', column: 'created_at' },
      rpo: '1h',
      smoke: `test "$LIFEBOAT_DRILL_DATABASE" != shop && echo "$LIFEBOAT_DRILL_DATABASE" | grep -q '^lifeboat_drill_'`,
    };
    await backupSource(repo, 'shop', config);
    const { report } = await runDrill(repo, { source: 'shop', config, tempBase: scratch });
    expect(report.reasons).toEqual([]);
    expect(report.verdict).toBe('PASS');
    expect(report.checks.map((c) => c.name)).toEqual(['restore', 'tables', 'schemaHash', 'recent data']);
    expect(report.checks[1]).toMatchObject({ expected: { events: 3 }, actual: { events: 3 } });
    expect(report.rpo).toMatchObject({
      ok: true,
      basis: 'snapshot time minus the newest events.created_at in the restored copy',
    });
    expect(report.rpo.measuredSeconds).toBeLessThan(600);
    expect(report.isolation).toEqual({ server: 'scratch_database', detail: 'drill.server: scratch_database' });
    const left = (await server.sql(
      `SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'lifeboat%'`,
    )) as unknown[];
    expect(left).toEqual([]);
    expect(readdirSync(scratch)).toEqual([]);
  }, 120_000);
});
