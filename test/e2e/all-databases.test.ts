import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastJson, runCli, tempDir, type CliResult } from '../helpers/cli.js';
import { cliEnvFor } from '../helpers/e2e.js';
import { configIn } from '../helpers/leftovers.js';
import { startMariadb, type MariadbServer } from '../helpers/servers/mariadb.js';
import { startPostgres, type PostgresServer } from '../helpers/servers/postgres.js';

/**
 * A postgres or mysql source whose URL names no database backs up every
 * database of the server, listed at each run: a database created after the
 * config was written is in the next snapshot, one is restored with
 * `--database NAME`, and a database that cannot be dumped fails the source by name.
 */
const PASSWORD = 'all-dbs-Secret-41d9';
const show = (r: CliResult) => `exit ${r.code}\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`;

async function setup(prefix: string, sources: (dir: string) => string) {
  const { dir, cleanup } = await tempDir(prefix);
  writeFileSync(path.join(dir, 'db.pass'), `${PASSWORD}\n`, { mode: 0o600 });
  const config = configIn(dir, 'lifeboat.yaml', sources(dir));
  mkdirSync(path.join(dir, 'tmp'));
  const env = cliEnvFor(path.join(dir, 'cache'), undefined, { TMPDIR: path.join(dir, 'tmp') });
  const lb = (args: string[]): Promise<CliResult> => runCli(['--config', config, ...args], { env });
  return { dir, cleanup, lb };
}

describe('every database of a PostgreSQL server', () => {
  let server: PostgresServer;
  let ctx: Awaited<ReturnType<typeof setup>>;
  const rows = (database: string) =>
    server.psql("SELECT string_agg(body, ',' ORDER BY id) FROM notes", database).trim();

  beforeAll(async () => {
    server = await startPostgres();
    server.psql(`CREATE ROLE lifeboat_backup LOGIN SUPERUSER PASSWORD '${PASSWORD}'`);
    server.psql(`CREATE ROLE lifeboat_reader LOGIN PASSWORD '${PASSWORD}'`);
    server.psql('CREATE DATABASE app');
    server.psql(
      "CREATE TABLE notes (id serial PRIMARY KEY, body text); INSERT INTO notes (body) VALUES ('a'), ('b');",
      'app',
    );
    ctx = await setup('lifeboat-e2e-alldb-pg-', () => {
      const base = `postgres://%s@127.0.0.1:${server.port}`;
      return [
        `  pg: { type: postgres, url: "${base.replace('%s', 'lifeboat_backup')}", password_file: db.pass }`,
        `  pg-reader: { type: postgres, url: "${base.replace('%s', 'lifeboat_reader')}/", password_file: db.pass, globals: false, databases: [open_db, locked_db] }`,
        `  pg-none: { type: postgres, url: "${base.replace('%s', 'lifeboat_backup')}", password_file: db.pass, databases: ["nothing_*"] }`,
        '',
      ].join('\n');
    });
    const validate = await ctx.lb(['config', 'validate']);
    expect(validate.code, show(validate)).toBe(0);
    expect((await ctx.lb(['init', '--repo', 'local'])).code).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await ctx?.cleanup();
  });

  it('backs up a database created after the config was written, and restores it alone with --database', async () => {
    server.psql('CREATE DATABASE late');
    server.psql(
      "CREATE TABLE notes (id serial PRIMARY KEY, body text); INSERT INTO notes (body) VALUES ('x'), ('y'), ('z');",
      'late',
    );
    const backup = await ctx.lb(['--json', 'backup', '--source', 'pg']);
    expect(backup.code, show(backup)).toBe(0);

    const all = await ctx.lb(['restore', 'latest', '--source', 'pg']);
    expect(all.code, show(all)).toBe(2);
    expect(all.stderr).toMatch(/holds \d+ databases \(.*app.*late.*\).*--database NAME/);

    const restored = await ctx.lb([
      '--json',
      'restore',
      'latest',
      '--source',
      'pg',
      '--database',
      'late',
      '--to-database',
      'late_copy',
    ]);
    expect(restored.code, show(restored)).toBe(0);
    expect(lastJson<{ ok: boolean; location: string }>(restored.stdout)).toMatchObject({
      ok: true,
      location: expect.stringContaining('/late_copy'),
    });
    expect(rows('late_copy')).toBe('x,y,z');
    const app = await ctx.lb(['restore', 'latest', '--source', 'pg', '--database', 'app', '--to-database', 'app_copy']);
    expect(app.code, show(app)).toBe(0);
    expect(rows('app_copy')).toBe('a,b');

    const missing = await ctx.lb(['restore', 'latest', '--source', 'pg', '--database', 'nope', '--to-database', 'x']);
    expect(missing.code, show(missing)).toBe(1);
    expect(missing.stderr).toContain('holds no database "nope"');
  }, 180_000);

  it('verifies and drills each database of the snapshot in its own scratch copy', async () => {
    const verify = await ctx.lb(['--json', 'verify', 'latest', '--source', 'pg']);
    expect(verify.code, show(verify)).toBe(0);
    const checks = lastJson<{ checks: Array<{ name: string; ok: boolean }> }>(verify.stdout).checks.map((c) => c.name);
    expect(checks).toEqual(
      expect.arrayContaining(['app: restore', 'app: tables', 'late: restore', 'late: tables', 'late: schemaHash']),
    );
    const drill = await ctx.lb(['--json', 'drill', '--source', 'pg']);
    expect(drill.code, show(drill)).toBe(0);
    expect(drill.stdout).toContain('late: tables');
    expect(server.psql(`SELECT count(*) FROM pg_database WHERE datname LIKE 'lifeboat\\_%'`).trim()).toBe('0');
  }, 180_000);

  it('fails the source with the name of a database it cannot dump, and saves no snapshot', async () => {
    server.psql('CREATE DATABASE open_db OWNER lifeboat_reader');
    server.psql('CREATE DATABASE locked_db');
    server.psql('REVOKE CONNECT ON DATABASE locked_db FROM PUBLIC');
    const backup = await ctx.lb(['backup', '--source', 'pg-reader']);
    expect(backup.code, show(backup)).toBe(1);
    expect(backup.stderr + backup.stdout).toContain('locked_db');
    const none = await ctx.lb(['backup', '--source', 'pg-none']);
    expect(none.code, show(none)).toBe(1);
    expect(none.stderr + none.stdout).toContain('no database of the postgres server matches');
    const list = await ctx.lb(['--json', 'snapshots']);
    const sources = (JSON.parse(list.stdout) as { snapshots: Array<{ source?: string }> }).snapshots.map(
      (s) => s.source,
    );
    expect(sources).not.toContain('pg-reader');
    expect(sources).not.toContain('pg-none');
  }, 180_000);
});

describe('every database of a MariaDB server', () => {
  let server: MariadbServer;
  let ctx: Awaited<ReturnType<typeof setup>>;

  beforeAll(async () => {
    server = await startMariadb();
    await server.sql(
      `CREATE USER 'lifeboat'@'127.0.0.1' IDENTIFIED BY '${PASSWORD}'; GRANT ALL PRIVILEGES ON *.* TO 'lifeboat'@'127.0.0.1'; CREATE DATABASE shop;`,
    );
    await server.sql(
      'CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, total INT); INSERT INTO orders (total) VALUES (1), (2), (3);',
      'shop',
    );
    ctx = await setup(
      'lifeboat-e2e-alldb-my-',
      () => `  my: { type: mysql, url: "mysql://lifeboat@127.0.0.1:${server.port}", password_file: db.pass }\n`,
    );
    const init = await ctx.lb(['init', '--repo', 'local']);
    expect(init.code, show(init)).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await ctx?.cleanup();
  });

  it('backs up a database created after the config was written, and restores it alone with --database', async () => {
    await server.sql(
      "CREATE DATABASE late; CREATE TABLE late.items (id INT PRIMARY KEY, name TEXT); INSERT INTO late.items VALUES (1, 'p'), (2, 'q');",
    );
    const backup = await ctx.lb(['backup', '--source', 'my']);
    expect(backup.code, show(backup)).toBe(0);
    const restored = await ctx.lb([
      'restore',
      'latest',
      '--source',
      'my',
      '--database',
      'late',
      '--to-database',
      'late_copy',
    ]);
    expect(restored.code, show(restored)).toBe(0);
    const rows = (await server.sql('SELECT GROUP_CONCAT(name ORDER BY id) AS names FROM late_copy.items')) as Array<{
      names: string;
    }>;
    expect(rows[0]!.names).toBe('p,q');
    const shop = await ctx.lb([
      'restore',
      'latest',
      '--source',
      'my',
      '--database',
      'shop',
      '--to-database',
      'shop_copy',
    ]);
    expect(shop.code, show(shop)).toBe(0);
    const verify = await ctx.lb(['verify', 'latest', '--source', 'my']);
    expect(verify.code, show(verify)).toBe(0);
  }, 180_000);
});
