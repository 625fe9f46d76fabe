import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastJson, runCli, tempDir, type CliResult } from '../helpers/cli.js';
import { cliEnvFor } from '../helpers/e2e.js';
import {
  configIn,
  killStartedGroups,
  ledgerRecords,
  pollUntil,
  running,
  startCliGroup,
  type GroupRun,
} from '../helpers/leftovers.js';
import { startPostgres, type PostgresServer } from '../helpers/servers/postgres.js';

/**
 * A drill killed with kill -9 while its smoke command runs leaves a
 * lifeboat_drill_* database on the server, the smoke command's process group
 * and its run directory: `lifeboat cleanup` and the next drill remove them,
 * and never what a running drill still uses.
 */
const PASSWORD = 'leftovers-pg-Secret-77c1';

describe('leftovers of killed PostgreSQL drills', () => {
  let server: PostgresServer;
  let dir: string;
  let cleanup: () => Promise<void>;
  let config: string;
  let env: Record<string, string | undefined>;
  let block: string;
  const lb = (args: string[]): Promise<CliResult> => runCli(['--config', config, ...args], { env });
  const show = (r: CliResult) => `exit ${r.code}\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`;
  const drillDatabases = () =>
    server.psql(`SELECT datname FROM pg_database WHERE datname LIKE 'lifeboat\\_%'`).split('\n').filter(Boolean);
  const ledger = () => ledgerRecords(path.join(dir, 'state', 'leftovers'));
  const smoke = () => ledger().find((r) => r.resource.label === 'smoke command')?.resource.pid;
  const runDirs = () => readdirSync(path.join(dir, 'tmp')).filter((n) => n.startsWith('lifeboat-'));

  /** A drill whose smoke command blocks, once its database and its smoke command exist. */
  async function blockedDrill(): Promise<{ drill: GroupRun; database: string; smokePid: number }> {
    writeFileSync(block, '');
    const drill = startCliGroup(['--config', config, 'drill', '--source', 'pg'], env);
    await pollUntil(
      () => drillDatabases().length === 1 && smoke() !== undefined && running(smoke()!),
      30_000,
      drill.output,
    );
    return { drill, database: drillDatabases()[0]!, smokePid: smoke()! };
  }

  beforeAll(async () => {
    server = await startPostgres();
    ({ dir, cleanup } = await tempDir('lifeboat-e2e-leftovers-pg-'));
    server.psql(`CREATE ROLE lifeboat_backup LOGIN SUPERUSER PASSWORD '${PASSWORD}'`);
    server.psql('CREATE DATABASE app');
    server.psql(
      "CREATE TABLE notes (id serial PRIMARY KEY, body text); INSERT INTO notes (body) VALUES ('a'), ('b');",
      'app',
    );
    writeFileSync(path.join(dir, 'pg.pass'), `${PASSWORD}\n`, { mode: 0o600 });
    block = path.join(dir, 'block');
    config = configIn(
      dir,
      'lifeboat.yaml',
      `  pg: { type: postgres, url: "postgres://lifeboat_backup@127.0.0.1:${server.port}/app", password_file: pg.pass, smoke: 'while [ -e "${block}" ]; do sleep 0.05; done' }\n`,
    );
    // Run directories go to a private temp base, so no other test's sweep sees them.
    env = cliEnvFor(path.join(dir, 'cache'), undefined, { TMPDIR: path.join(dir, 'tmp') });
    mkdirSync(path.join(dir, 'tmp'));
    expect((await lb(['init', '--repo', 'local'])).code).toBe(0);
    const backup = await lb(['backup', '--source', 'pg']);
    expect(backup.code, show(backup)).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await killStartedGroups();
    if (config) await lb(['cleanup']); // what a failed test left (throwaway servers, smoke commands)
    await server?.stop();
    await cleanup?.();
  }, 60_000);

  it('kill -9 leaves the database, the smoke command and the run directory; cleanup removes them (nothing with --dry-run)', async () => {
    const { drill, database, smokePid } = await blockedDrill();
    await drill.killGroup();
    expect(drillDatabases()).toEqual([database]);
    expect(running(smokePid)).toBe(true);
    expect(runDirs()).toHaveLength(1);

    const dry = await lb(['--json', 'cleanup', '--dry-run']);
    expect(dry.code, show(dry)).toBe(0);
    const plan = lastJson<{ dryRun: boolean; removed: Array<{ kind: string; what: string }> }>(dry.stdout);
    expect(plan.removed.map((r) => r.kind).sort()).toEqual(['database', 'directory', 'process']);
    expect(plan.removed.find((r) => r.kind === 'database')!.what).toBe(
      `PostgreSQL database ${database} on 127.0.0.1:${server.port}`,
    );
    expect([drillDatabases(), running(smokePid), runDirs().length]).toEqual([[database], true, 1]);

    const r = await lb(['cleanup']);
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toContain(`removed PostgreSQL database ${database} on 127.0.0.1:${server.port} (left by process`);
    expect(r.stdout).toMatch(/removed 3 leftover\(s\)/);
    expect(drillDatabases()).toEqual([]);
    expect(running(smokePid)).toBe(false);
    expect(runDirs()).toEqual([]);
    expect(ledger()).toEqual([]);
    expect(r.stdout + r.stderr).not.toContain(PASSWORD);
  }, 60_000);

  it('a running drill keeps its database through a concurrent cleanup; once killed, the next drill removes it first', async () => {
    const { drill, database } = await blockedDrill();
    const records = readdirSync(path.join(dir, 'state', 'leftovers')).map((f) =>
      readFileSync(path.join(dir, 'state', 'leftovers', f), 'utf8'),
    );
    expect(records.join('\n')).toContain(`"database":"${database}"`);
    expect(records.join('\n')).not.toContain(PASSWORD);

    const concurrent = await lb(['--json', 'cleanup']);
    expect(concurrent.code, show(concurrent)).toBe(0);
    expect(lastJson(concurrent.stdout)).toMatchObject({ removed: [], kept: [], live: 3 });
    expect(drillDatabases()).toEqual([database]);
    expect(drill.child.exitCode).toBeNull();

    await drill.killGroup();
    rmSync(block);
    expect(existsSync(block)).toBe(false);
    const next = await lb(['--verbose', 'drill', '--source', 'pg']);
    expect(next.code, show(next)).toBe(0);
    expect(next.stderr).toContain(
      `removed PostgreSQL database ${database} on 127.0.0.1:${server.port}, left by process`,
    );
    expect(next.stdout).toMatch(/^PASS pg \(postgres\)/);
    expect(drillDatabases()).toEqual([]);
    expect(runDirs()).toEqual([]);
    expect(ledger()).toEqual([]);
  }, 60_000);
});
