import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../test/helpers/servers/free-port.js';
import { startMariadb, type MariadbServer } from '../../../test/helpers/servers/mariadb.js';
import type { SourceConfigOf } from '../../config/source-schemas.js';
import { ErrorCode, LifeboatError } from '../../errors/index.js';
import { Repository } from '../../repository/repository.js';
import { openStorage } from '../../storage/registry.js';
import { expectCode } from '../../storage/testing/conformance.js';
import { backupSource, restoreSource } from '../run-source.js';
import { describeSourceConformance } from '../testing/source-suite.js';
import { mysqlSource } from './driver.js';

/** Quotes, a backslash, a comment sign and spaces: all must survive the option file. */
const PASSWORD = `my"Sec'ret #1 \\x-5b2e`;

interface Env {
  server: MariadbServer;
  dir: string;
  config: SourceConfigOf<'mysql'>;
  url: (database: string) => string;
}

const SHOP = `
  CREATE TABLE accounts (id INT PRIMARY KEY, balance BIGINT NOT NULL DEFAULT 0, owner VARCHAR(40) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin);
  INSERT INTO accounts (id, owner) SELECT seq, CONCAT('owner ', seq) FROM seq_1_to_200;
  CREATE TABLE events (id BIGINT AUTO_INCREMENT PRIMARY KEY, created_at DATETIME(6) NOT NULL, note TEXT, KEY by_time (created_at));
  INSERT INTO events (created_at, note) SELECT '2024-05-06 07:08:09.123456' - INTERVAL seq MINUTE, REPEAT('e', 200) FROM seq_1_to_20000;
  CREATE TABLE \`odd\`\`name\` (id INT PRIMARY KEY, s VARCHAR(100), b VARBINARY(16));
  INSERT INTO \`odd\`\`name\` VALUES (1, 'a),(b', 0x0028292C3B27), (2, 'it\\'s', NULL), (3, '\\\\', 0x5C), (4, '";(', 0xFF), (5, 'line\\nbreak', '');
  CREATE TABLE empty_one (id INT PRIMARY KEY);
  CREATE TABLE ledger (id INT PRIMARY KEY, account INT NOT NULL, CONSTRAINT ledger_account FOREIGN KEY (account) REFERENCES accounts (id) ON DELETE CASCADE);
  INSERT INTO ledger VALUES (1, 1), (2, 2);
  CREATE VIEW rich AS SELECT id, balance FROM accounts WHERE balance > 100;
  CREATE TRIGGER touch BEFORE UPDATE ON accounts FOR EACH ROW SET NEW.owner = COALESCE(NEW.owner, OLD.owner);
  CREATE PROCEDURE refill()
BEGIN
INSERT INTO \`empty_one\` VALUES (1),(2),(3);
END;
`;

let shared: Promise<Env> | undefined;
function environment(): Promise<Env> {
  shared ??= (async () => {
    const server = await startMariadb();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-mytest-'));
    const root = await server.rootConnection();
    try {
      await root.query('CREATE USER ?@? IDENTIFIED BY ?', ['lifeboat', '127.0.0.1', PASSWORD]);
      await root.query('GRANT ALL PRIVILEGES ON *.* TO ?@?', ['lifeboat', '127.0.0.1']);
      await root.query('CREATE DATABASE shop');
    } finally {
      await root.end();
    }
    await server.sql(SHOP, 'shop');
    const passwordFile = path.join(dir, 'my.pass');
    await writeFile(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
    const url = (database: string) => `mysql://lifeboat@127.0.0.1:${server.port}/${database}`;
    return { server, dir, url, config: { type: 'mysql', url: url('shop'), password_file: passwordFile } };
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

describeSourceConformance('mysql', async () => {
  const env = await environment();
  const port = await freePort(); // nothing listens there
  return {
    config: env.config,
    secrets: [PASSWORD],
    // Inserts events and moves balances as fast as it can while the backup runs.
    startWriter: async () => {
      const writer = await env.server.rootConnection('shop');
      let running = true;
      let writes = 0;
      const loop = (async () => {
        while (running) {
          await writer.query("INSERT INTO events (created_at, note) VALUES (NOW(6), 'w),(\\'x')");
          await writer.query('UPDATE accounts SET balance = balance + 1 WHERE id = ?', [1 + (writes++ % 200)]);
        }
      })();
      while (writes < 20) await new Promise((r) => setTimeout(r, 5));
      return async () => {
        running = false;
        await loop;
        await writer.end();
        expect(writes).toBeGreaterThan(20);
      };
    },
    restoreTarget: async () => ({ toDatabase: `restored_${++restoredCount}` }),
    unreachable: {
      type: 'mysql',
      url: `mysql://lifeboat@127.0.0.1:${port}/shop`,
      password_file: env.config.password_file,
    },
    recordedFields: ['tables', 'schemaHash', 'serverVersion', 'url', 'dump'],
    cleanup: async () => {},
  };
});

describe('mysql source', () => {
  let env: Env;
  let repo: Repository;
  let work: string;

  beforeAll(async () => {
    env = await environment();
    work = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-myrepo-'));
    repo = await Repository.init(await openStorage(path.join(work, 'repo'), { create: true }), Buffer.from('pw'));
  }, 120_000);

  afterAll(async () => {
    await repo?.close();
    await rm(work, { recursive: true, force: true });
  });

  it('counts the rows of every table from the dump, tricky names and strings included, and restores them all', async () => {
    const { snapshot, record } = await backupSource(repo, 'shop', {
      ...env.config,
      recent_data: { table: 'events', column: 'created_at' },
    });
    expect(snapshot.paths).toEqual(['/mysql/shop.sql']);
    const tables = record.tables as Record<string, number>;
    expect(tables).toMatchObject({ 'odd`name': 5, empty_one: 0, ledger: 2, accounts: 200 });
    expect(tables.events).toBeGreaterThanOrEqual(20_000);
    expect(Object.keys(tables).sort()).toEqual(['accounts', 'empty_one', 'events', 'ledger', 'odd`name']);
    expect(record.serverVersion).toMatch(/MariaDB/);
    expect(record.recentData).toMatchObject({ table: 'events', column: 'created_at' });

    const result = await restoreSource(repo, snapshot, { config: env.config, toDatabase: 'shop_copy' });
    expect(result.checks.map((c) => c.field).sort()).toEqual(['schemaHash', 'tables']);
    expect(result.checks.filter((c) => !c.ok)).toEqual([]);
    expect(await env.server.sql('SELECT s, HEX(b) AS b FROM `odd``name` ORDER BY id', 'shop_copy')).toEqual([
      { s: 'a),(b', b: '0028292C3B27' },
      { s: "it's", b: null },
      { s: '\\', b: '5C' },
      { s: '";(', b: 'FF' },
      { s: 'line\nbreak', b: '' },
    ]);
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
    const restored = await mysqlSource.restore({ ...ctx, toDatabase: 'altered' });
    const same = await mysqlSource.inspect(restored, ctx);
    await env.server.sql('ALTER TABLE ledger ADD COLUMN note TEXT; DELETE FROM accounts WHERE id = 200;', 'altered');
    const changed = await mysqlSource.inspect(restored, ctx);
    expect(changed.schemaHash).not.toBe(same.schemaHash);
    expect((changed.tables as Record<string, number>).accounts).toBe(199);
  });

  it('fails with SourceFailed and a hint when the password is wrong', async () => {
    const wrong = path.join(work, 'wrong.pass');
    await writeFile(wrong, 'nope', { mode: 0o600 });
    const err = await expectCode(
      backupSource(repo, 'wrong', { ...env.config, password_file: wrong }),
      ErrorCode.SourceFailed,
    );
    expect(err.message).toContain('refused user "lifeboat"');
    expect(err.hint).toContain('password_file');
  });

  it('fails with SourceFailed when the database does not exist, and saves nothing', async () => {
    const before = (await repo.listSnapshots()).snapshots.length;
    const err = await expectCode(
      backupSource(repo, 'missing', { ...env.config, url: env.url('no_such_db') }),
      ErrorCode.SourceFailed,
    );
    expect(err.message).toContain('"no_such_db" does not exist');
    expect((await repo.listSnapshots()).snapshots.length).toBe(before);
  });

  it('replaces an existing database only with --force', async () => {
    await env.server.sql(
      'CREATE DATABASE victim; CREATE TABLE victim.marker (x INT); INSERT INTO victim.marker VALUES (1);',
    );
    const { snapshot } = await backupSource(repo, 'force', env.config);
    await expectCode(restoreSource(repo, snapshot, { config: env.config, toDatabase: 'victim' }), ErrorCode.Refused);
    expect(await env.server.sql('SELECT COUNT(*) AS n FROM victim.marker')).toEqual([{ n: 1 }]);
    const result = await restoreSource(repo, snapshot, { config: env.config, toDatabase: 'victim', force: true });
    expect(result.checks.filter((c) => !c.ok)).toEqual([]);
    expect(
      await env.server.sql(
        "SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'victim' AND TABLE_NAME = 'marker'",
      ),
    ).toEqual([{ n: 0 }]);
  });

  it('requires --to-database, and restores from the snapshot alone with MYSQL_PWD', async () => {
    const { snapshot } = await backupSource(repo, 'alone', env.config);
    await expectCode(restoreSource(repo, snapshot, { config: env.config }), ErrorCode.Usage);
    process.env.MYSQL_PWD = PASSWORD;
    try {
      const result = await restoreSource(repo, snapshot, { toDatabase: 'alone_copy' });
      expect(result.checks.length).toBe(2);
      expect(result.checks.filter((c) => !c.ok)).toEqual([]);
    } finally {
      delete process.env.MYSQL_PWD;
    }
  });

  it('drops a half-restored database when the client fails', async () => {
    await env.server.sql(
      'CREATE DATABASE breaks; CREATE TABLE breaks.t (id INT PRIMARY KEY); INSERT INTO breaks.t VALUES (1);',
    );
    const config = { ...env.config, url: env.url('breaks') };
    const { snapshot } = await backupSource(repo, 'breaks', config);
    // The restoring user may create and drop databases and tables, but not lock or fill them.
    await env.server.sql(
      "CREATE USER 'weak'@'127.0.0.1' IDENTIFIED BY 'weak-pass'; GRANT CREATE, DROP ON *.* TO 'weak'@'127.0.0.1';",
    );
    const weakPass = path.join(work, 'weak.pass');
    await writeFile(weakPass, 'weak-pass', { mode: 0o600 });
    const err = await expectCode(
      restoreSource(repo, snapshot, {
        config: { ...config, url: `mysql://weak@127.0.0.1:${env.server.port}/breaks`, password_file: weakPass },
        toDatabase: 'breaks_copy',
      }),
      ErrorCode.SourceFailed,
    );
    expect(err.message).toMatch(/denied/i);
    expect(
      await env.server.sql("SELECT COUNT(*) AS n FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'breaks_copy'"),
    ).toEqual([{ n: 0 }]);
  });

  it('stops the dump tool when the backup is aborted', async () => {
    // A session holding a write lock makes the dump wait at that table, so it is surely running when aborted.
    const blocker = await env.server.rootConnection('shop');
    await blocker.query('LOCK TABLES events WRITE');
    try {
      await abortWhileDumping();
    } finally {
      await blocker.end();
    }
  });

  async function abortWhileDumping() {
    const abort = new AbortController();
    const running = backupSource(repo, 'aborted', env.config, { signal: abort.signal });
    const dumps = async () => {
      const found: string[] = [];
      for (const pid of (await readdir('/proc')).filter((p) => /^\d+$/.test(p))) {
        const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
        if (/(mariadb-dump|mysqldump)\0/.test(cmd) && cmd.includes('--single-transaction')) found.push(pid);
      }
      return found;
    };
    const deadline = Date.now() + 10_000;
    while ((await dumps()).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
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
