import { execFileSync, spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastJson, runCli, tempDir, type CliResult } from '../helpers/cli.js';
import { cliEnvFor, jsonLines } from '../helpers/e2e.js';

/**
 * lifeboat.yaml end to end through the built CLI: a configured repository
 * opened by name with its password file, `backup --source`, restores through
 * each source's driver, and config errors with exit code 2.
 */
describe('configured sources through the CLI', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let config: string;
  let identity: string;
  const lb = (args: string[], extra: Record<string, string | undefined> = {}): Promise<CliResult> =>
    runCli(['--config', config, ...args], { env: cliEnvFor(path.join(dir, 'cache'), undefined, extra) });
  const show = (r: CliResult) => `exit ${r.code}\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('lifeboat-e2e-config-'));
    const app = path.join(dir, 'app');
    mkdirSync(path.join(app, 'conf'), { recursive: true });
    writeFileSync(path.join(app, 'conf', 'app.yaml'), 'port: 8080\n');
    writeFileSync(path.join(app, 'secrets.yaml'), 'token: hunter2-secret\n', { mode: 0o600 });
    // A private directory of secrets with a nanosecond mtime: a sealed restore must bring back both.
    mkdirSync(path.join(app, 'vault'), { mode: 0o700 });
    writeFileSync(path.join(app, 'vault', '.env.production'), 'API_KEY=abc\n', { mode: 0o600 });
    execFileSync('touch', ['-m', '-d', '@1700000000.123456789', path.join(app, 'vault', '.env.production')]);
    execFileSync('touch', ['-m', '-d', '@1690000000.987654321', path.join(app, 'vault')]);
    const db = new Database(path.join(app, 'app.db'));
    db.exec(
      "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('a'), ('b'), ('c');",
    );
    db.close();
    identity = path.join(dir, 'offline.key');
    const keygen = spawnSync('age-keygen', ['-o', identity], { encoding: 'utf8' });
    const recipient = /Public key: (age1[0-9a-z]+)/.exec(keygen.stderr)![1]!;
    writeFileSync(path.join(dir, 'repo.pass'), 'a long repository passphrase\n', { mode: 0o600 });
    config = path.join(dir, 'lifeboat.yaml');
    writeFileSync(
      config,
      `version: 1
repositories:
  local: { url: ./repo, password_file: repo.pass }
sources:
  app-db:  { type: sqlite, path: app/app.db, rpo: 24h }
  config:  { type: files, paths: [app/conf] }
  secrets: { type: files, paths: [app/secrets.yaml, app/vault], seal_to: [${recipient}] }
  version: { type: command, backup: "echo release-42" }
  broken:  { type: command, backup: "echo 'server unreachable' >&2; exit 7" }
jobs:
  daily: { sources: [app-db, config, secrets], to: local }
`,
    );
  });
  afterAll(() => cleanup());

  it('validates the config and creates the configured repository with its password file', async () => {
    const valid = await lb(['config', 'validate']);
    expect(valid.code, show(valid)).toBe(0);
    expect(valid.stdout).toContain('5 sources');
    const init = await lb(['init', '--repo', 'local']);
    expect(init.code, show(init)).toBe(0);
  });

  it('backs up each source into its own snapshot, and reports a failing one without stopping the rest', async () => {
    const r = await lb([
      '--json',
      'backup',
      '--source',
      'app-db,config',
      '--source',
      'secrets',
      '--source',
      'broken',
      '--source',
      'version',
    ]);
    expect(r.code, show(r)).toBe(1);
    const summary = lastJson<{ sources: Array<{ source: string; ok: boolean; error?: { message: string } }> }>(
      r.stdout,
    );
    expect(summary.sources.map((s) => [s.source, s.ok])).toEqual([
      ['app-db', true],
      ['config', true],
      ['secrets', true],
      ['broken', false],
      ['version', true],
    ]);
    expect(summary.sources[3]!.error!.message).toContain('server unreachable');
    const list = await lb(['--json', 'snapshots']);
    const snaps = (JSON.parse(list.stdout) as { snapshots: Array<{ source?: string }> }).snapshots;
    expect(snaps.map((s) => s.source).sort()).toEqual(['app-db', 'config', 'secrets', 'version']);
  });

  it('restores the SQLite source to a file and prints the recorded checks', async () => {
    const out = path.join(dir, 'restored.db');
    const r = await lb(['restore', 'latest', '--source', 'app-db', '--to-file', out]);
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toMatch(/ok +tables/);
    const again = await lb(['restore', 'latest', '--source', 'app-db', '--to-file', out]);
    expect(again.code, show(again)).toBe(1);
    expect(again.stderr).toContain('--force');
    const rows = new Database(out, { readonly: true }).prepare('SELECT count(*) AS n FROM notes').get() as {
      n: number;
    };
    expect(rows.n).toBe(3);
  });

  it('restores a files source with --force into a directory holding other files, and checks only what it restored', async () => {
    const target = path.join(dir, 'config-out');
    mkdirSync(path.join(target, 'already', 'there'), { recursive: true });
    writeFileSync(path.join(target, 'already', 'there', 'other.txt'), 'not from the snapshot\n');
    const r = await lb(['restore', 'latest', '--source', 'config', '--target', target, '--force']);
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toMatch(/ok +files/);
    expect(readFileSync(path.join(target, dir, 'app', 'conf', 'app.yaml'), 'utf8')).toBe('port: 8080\n');
    expect(readFileSync(path.join(target, 'already', 'there', 'other.txt'), 'utf8')).toBe('not from the snapshot\n');
  });

  it('restores sealed secrets only with the identity', async () => {
    const target = path.join(dir, 'secrets-out');
    const without = await lb(['restore', 'latest', '--source', 'secrets', '--target', target]);
    expect(without.code, show(without)).toBe(2);
    expect(without.stderr).toContain('--identity');
    const withKey = await lb(['restore', 'latest', '--source', 'secrets', '--target', target, '--identity', identity]);
    expect(withKey.code, show(withKey)).toBe(0);
    expect(readFileSync(path.join(target, dir, 'app', 'secrets.yaml'), 'utf8')).toBe('token: hunter2-secret\n');
    const vault = lstatSync(path.join(target, dir, 'app', 'vault'), { bigint: true });
    expect(Number(vault.mode) & 0o777).toBe(0o700);
    expect(vault.mtimeNs).toBe(1690000000987654321n);
    const env = lstatSync(path.join(target, dir, 'app', 'vault', '.env.production'), { bigint: true });
    expect(Number(env.mode) & 0o777).toBe(0o600);
    expect(env.mtimeNs).toBe(1700000000123456789n);
    expect(readFileSync(path.join(target, dir, 'app', 'vault', '.env.production'), 'utf8')).toBe('API_KEY=abc\n');
  });

  it('streams a command source back with dump', async () => {
    const r = await lb(['dump', 'latest', '/command/version.out']);
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toBe('release-42\n');
  });

  it('rejects a broken config with exit code 2, the line and a hint', async () => {
    const bad = path.join(dir, 'bad.yaml');
    writeFileSync(bad, 'version: 1\nsources:\n  db: { type: sqlite, path: /x.db, rpo: 1day }\n');
    const r = await runCli(['--config', bad, 'config', 'validate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${bad}:3:`);
    const j = await runCli(['--json', '--config', bad, 'backup', '--source', 'db']);
    expect(j.code).toBe(2);
    expect(jsonLines(j.stdout).at(-1)).toMatchObject({ type: 'error', error: { code: 'config' } });
  });

  it('writes a config template that validates, and never overwrites one', async () => {
    const file = path.join(dir, 'template.yaml');
    const first = await runCli(['init', '--config-template', file]);
    expect(first.code, show(first)).toBe(0);
    const second = await runCli(['init', '--config-template', file]);
    expect(second.code).toBe(1);
    const schema = await runCli(['config', 'schema']);
    expect(JSON.parse(schema.stdout).title).toBe('lifeboat.yaml');
  });
});
