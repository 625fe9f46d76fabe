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

/** MySQL/MariaDB drills: a temporary database on the configured server, always dropped. */
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

  it('passes: row counts, schema hash and recent data on a temporary database, which is dropped', async () => {
    const passwordFile = path.join(dir, 'my.pass');
    await writeFile(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
    const scratch = path.join(dir, 'scratch');
    await mkdir(scratch);
    const config: SourceConfigOf<'mysql'> = {
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
    const left = (await server.sql(
      `SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'lifeboat%'`,
    )) as unknown[];
    expect(left).toEqual([]);
    expect(readdirSync(scratch)).toEqual([]);
  }, 120_000);
});
