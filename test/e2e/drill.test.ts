import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastJson, runCli, tempDir, type CliResult } from '../helpers/cli.js';
import { cliEnvFor } from '../helpers/e2e.js';

/** `backup --source` with its post-backup check, `verify` and `drill` through the built CLI: output, reports, exit codes. */
describe('verify and drill through the CLI', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let config: string;
  const lb = (args: string[]): Promise<CliResult> =>
    runCli(['--config', config, ...args], {
      env: cliEnvFor(path.join(dir, 'cache'), undefined, { LIFEBOAT_STATE_DIR: path.join(dir, 'state') }),
    });
  const show = (r: CliResult) => `exit ${r.code}\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('lifeboat-e2e-drill-'));
    const db = new Database(path.join(dir, 'app.db'));
    db.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('a'), ('b');");
    db.close();
    writeFileSync(path.join(dir, 'repo.pass'), 'a long repository passphrase\n', { mode: 0o600 });
    config = path.join(dir, 'lifeboat.yaml');
    writeFileSync(
      config,
      `version: 1
repositories:
  local: { url: ./repo, password_file: repo.pass }
sources:
  app-db: { type: sqlite, path: app.db, rpo: 24h, rto: 1h, smoke: 'test -s "$LIFEBOAT_DRILL_FILE"' }
  broken-app: { type: sqlite, path: app.db, smoke: 'exit 1' }
`,
    );
    expect((await lb(['init', '--repo', 'local'])).code).toBe(0);
  });
  afterAll(() => cleanup());

  it('reports the backup as verified right after it is written', async () => {
    const r = await lb(['--json', 'backup', '--source', 'app-db,broken-app']);
    expect(r.code, show(r)).toBe(0);
    const summary = lastJson<{
      sources: Array<{ source: string; verified: boolean; verification: { reasons: string[] } }>;
    }>(r.stdout);
    expect(summary.sources.map((s) => [s.source, s.verified, s.verification.reasons])).toEqual([
      ['app-db', true, []],
      ['broken-app', true, []],
    ]);
  });

  it('verify restores to scratch and compares with the record', async () => {
    const r = await lb(['verify', 'latest', '--source', 'app-db']);
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toContain('ok   tables');
    expect(r.stdout).toMatch(/verified: sqlite source "app-db", snapshot [0-9a-f]{8}/);
  });

  it('drill writes the report, exits 0 on PASS and 1 on FAIL, and --list shows the history from the repository', async () => {
    const reports = path.join(dir, 'reports');
    const pass = await lb(['drill', '--source', 'app-db', '--report', reports]);
    expect(pass.code, show(pass)).toBe(0);
    expect(pass.stdout).toMatch(/^PASS app-db \(sqlite\) snapshot [0-9a-f]{8}/);
    const html = /report: (\S+\.html)/.exec(pass.stdout)![1]!;
    expect(existsSync(html)).toBe(true);
    expect(readFileSync(html.replace(/\.html$/, '.md'), 'utf8')).toContain('| smoke | exit 0 | exit 0 | ok |');

    const fail = await lb(['--json', 'drill', '--source', 'broken-app']);
    expect(fail.code, show(fail)).toBe(1);
    const drill = JSON.parse(fail.stdout.trim().split('\n')[0]!) as { verdict: string; reasons: string[] };
    expect(drill.verdict).toBe('FAIL');
    expect(drill.reasons[0]).toMatch(/^smoke command failed \(exit 1\)/);

    const list = await lb(['drill', '--list']);
    expect(list.code, show(list)).toBe(0);
    const lines = list.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain('FAIL broken-app');
    expect(lines[1]).toContain('PASS app-db');
  });
});
