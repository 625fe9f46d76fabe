import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastJson, runCli, tempDir, type CliResult } from '../helpers/cli.js';
import { cliEnvFor } from '../helpers/e2e.js';
import { configIn, killStartedGroups, ledgerRecords, pollUntil, running, startCliGroup } from '../helpers/leftovers.js';
import { startMariadb, type MariadbServer } from '../helpers/servers/mariadb.js';

/**
 * A MariaDB drill killed with kill -9 leaves its lifeboat_drill_* database.
 * Without the source configured there are no credentials: cleanup keeps the
 * record and says how to drop it by hand; with the source, the next source
 * backup drops it before it starts. A drill killed in its throwaway server
 * leaves that server and its directory, never a database on production, and
 * cleanup removes both.
 */
const PASSWORD = 'leftovers-my-Secret-0d2e';

describe('leftovers of a killed MariaDB drill', () => {
  let server: MariadbServer;
  let dir: string;
  let cleanup: () => Promise<void>;
  let env: Record<string, string | undefined>;
  let config: string;
  let withoutSource: string;
  let throwaway: string;
  const lb = (file: string, args: string[]): Promise<CliResult> => runCli(['--config', file, ...args], { env });
  const show = (r: CliResult) => `exit ${r.code}\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`;
  const drillDatabases = async () =>
    ((await server.sql(`SHOW DATABASES LIKE 'lifeboat\\_%'`)) as Array<Record<string, string>>).map(
      (row) => Object.values(row)[0]!,
    );
  const ledger = () => ledgerRecords(path.join(dir, 'state', 'leftovers'));

  beforeAll(async () => {
    server = await startMariadb();
    ({ dir, cleanup } = await tempDir('lifeboat-e2e-leftovers-my-'));
    await server.sql(
      `CREATE USER 'lifeboat'@'127.0.0.1' IDENTIFIED BY '${PASSWORD}'; GRANT ALL PRIVILEGES ON *.* TO 'lifeboat'@'127.0.0.1'; CREATE DATABASE shop;`,
    );
    await server.sql(
      `CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, total INT); INSERT INTO orders (total) VALUES (1), (2), (3);`,
      'shop',
    );
    writeFileSync(path.join(dir, 'my.pass'), `${PASSWORD}\n`, { mode: 0o600 });
    writeFileSync(path.join(dir, 'block'), '');
    config = configIn(
      dir,
      'lifeboat.yaml',
      `  shop: { type: mysql, url: "mysql://lifeboat@127.0.0.1:${server.port}/shop", password_file: my.pass, drill: { server: scratch_database }, smoke: 'while [ -e "${path.join(dir, 'block')}" ]; do sleep 0.05; done' }\n`,
    );
    throwaway = configIn(
      dir,
      'throwaway.yaml',
      `  shop: { type: mysql, url: "mysql://lifeboat@127.0.0.1:${server.port}/shop", password_file: my.pass, drill: { server: throwaway }, smoke: 'while [ -e "${path.join(dir, 'block')}" ]; do sleep 0.05; done' }\n`,
    );
    withoutSource = configIn(dir, 'other.yaml', `  notes: { type: files, paths: [./repo.pass] }\n`);
    mkdirSync(path.join(dir, 'tmp'));
    env = cliEnvFor(path.join(dir, 'cache'), undefined, { TMPDIR: path.join(dir, 'tmp') });
    expect((await lb(config, ['init', '--repo', 'local'])).code).toBe(0);
    const backup = await lb(config, ['backup', '--source', 'shop']);
    expect(backup.code, show(backup)).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await killStartedGroups();
    if (config) await lb(config, ['cleanup']); // what a failed test left (throwaway servers, smoke commands)
    await server?.stop();
    await cleanup?.();
  }, 60_000);

  it('keeps the database while the source is not configured (with the command to drop it), and the next backup drops it', async () => {
    const drill = startCliGroup(['--config', config, 'drill', '--source', 'shop'], env);
    await pollUntil(
      async () => (await drillDatabases()).length === 1 && ledger().some((r) => r.resource.label === 'smoke command'),
      30_000,
      drill.output,
    );
    const [database] = await drillDatabases();
    await drill.killGroup();

    const unconfigured = await lb(withoutSource, ['--json', 'cleanup']);
    expect(unconfigured.code, show(unconfigured)).toBe(1);
    const report = lastJson<{ kept: Array<{ what: string; why: string; hint: string; record: string }> }>(
      unconfigured.stdout,
    );
    expect(report.kept).toHaveLength(1);
    expect(report.kept[0]).toMatchObject({
      what: `MySQL database ${database} on 127.0.0.1:${server.port}`,
      why: 'no mysql source named "shop" is configured, so there are no credentials for its server',
      hint: `mariadb -h 127.0.0.1 -P ${server.port} -u lifeboat -p -e 'DROP DATABASE IF EXISTS \`${database}\`'`,
    });
    expect(await drillDatabases()).toEqual([database]);
    expect(ledger().map((r) => r.resource.database)).toEqual([database]);
    const text = await lb(withoutSource, ['cleanup']);
    expect(text.stderr).toContain(`remove it by hand: mariadb -h 127.0.0.1 -P ${server.port} -u lifeboat -p -e`);
    expect(text.stderr).toContain(`then remove its record: rm ${report.kept[0]!.record}`);

    rmSync(path.join(dir, 'block'));
    const backup = await lb(config, ['--verbose', 'backup', '--source', 'shop']);
    expect(backup.code, show(backup)).toBe(0);
    expect(backup.stderr).toContain(`removed MySQL database ${database} on 127.0.0.1:${server.port}, left by process`);
    expect(await drillDatabases()).toEqual([]);
    expect(ledger()).toEqual([]);
    expect(backup.stdout + backup.stderr + unconfigured.stdout + text.stderr).not.toContain(PASSWORD);
  }, 60_000);

  it('a drill killed in its throwaway server leaves that server and its directory, not a database on production; cleanup removes them', async () => {
    writeFileSync(path.join(dir, 'block'), '');
    const serverRecord = () => ledger().find((r) => r.resource.label === 'mariadbd (drill throwaway server)');
    const drill = startCliGroup(['--config', throwaway, 'drill', '--source', 'shop'], env);
    // Generous: a MariaDB server is installed and started, then the dump restored, on a shared machine.
    await pollUntil(async () => ledger().some((r) => r.resource.label === 'smoke command'), 120_000, drill.output);
    const pid = serverRecord()!.resource.pid as number;
    await drill.killGroup();
    expect(await drillDatabases()).toEqual([]);
    expect(ledger().some((r) => r.resource.kind === 'database')).toBe(false);
    expect(readdirSync(path.join(dir, 'tmp')).filter((n) => n.startsWith('lifeboat-drill-my-'))).toHaveLength(1);
    expect(running(pid)).toBe(true); // its own process group outlived the drill

    const swept = await lb(throwaway, ['cleanup']);
    expect(swept.code, show(swept)).toBe(0);
    expect(readdirSync(path.join(dir, 'tmp')).filter((n) => n.startsWith('lifeboat-drill-'))).toEqual([]);
    expect(running(pid)).toBe(false);
    expect(ledger()).toEqual([]);
    rmSync(path.join(dir, 'block'));
  }, 300_000);
});
