import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir, type CliResult } from '../helpers/cli.js';
import { cliEnvFor, jsonLines } from '../helpers/e2e.js';

/** `lifeboat guard`: a verified pre-migration backup, then the command; never the command without the backup. */
describe('lifeboat guard', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let config: string;
  const lb = (args: string[]): Promise<CliResult> =>
    runCli(['--config', config, ...args], { env: cliEnvFor(path.join(dir, 'cache'), undefined) });
  const show = (r: CliResult) => `exit ${r.code}\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-1500)}`;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('lifeboat-e2e-guard-'));
    const db = new Database(path.join(dir, 'app.db'));
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t DEFAULT VALUES;');
    db.close();
    writeFileSync(path.join(dir, 'repo.pass'), 'guard passphrase\n', { mode: 0o600 });
    config = path.join(dir, 'lifeboat.yaml');
    writeFileSync(
      config,
      `version: 1
state_dir: ./state
repositories:
  local: { url: ./repo, password_file: repo.pass }
sources:
  db:      { type: sqlite, path: app.db }
  missing: { type: sqlite, path: nowhere/app.db }
jobs:
  pre-migration: { sources: [db], to: local, keep_last: 2 }
`,
    );
    expect((await lb(['init', '--repo', 'local'])).code).toBe(0);
  });
  afterAll(() => cleanup());

  it('backs up, verifies, runs the command and passes its exit code through; keeps the last N pre-migration snapshots', async () => {
    for (const code of [0, 0, 7]) {
      const marker = path.join(dir, `ran-${code}-${Date.now()}`);
      const r = await lb([
        'guard',
        '--reason',
        'before migration 048',
        '--',
        'sh',
        '-c',
        `touch ${marker}; exit ${code}`,
      ]);
      expect(r.code, show(r)).toBe(code);
      expect(existsSync(marker)).toBe(true);
    }
    const list = await lb(['--json', 'snapshots', '--tag', 'pre-migration']);
    const snaps = (JSON.parse(list.stdout) as { snapshots: Array<{ reason?: string; source?: string }> }).snapshots;
    expect(snaps).toHaveLength(2);
    expect(snaps.every((s) => s.reason === 'before migration 048' && s.source === 'db')).toBe(true);
  });

  it('never runs the command when the backup fails', async () => {
    const marker = path.join(dir, 'must-not-exist');
    const r = await lb(['--json', 'guard', '--source', 'missing', '--reason', 'risky change', '--', 'touch', marker]);
    expect(r.code, show(r)).toBe(1);
    expect(existsSync(marker)).toBe(false);
    expect(jsonLines(r.stdout).at(-1)).toMatchObject({ type: 'error', error: { code: 'source_failed' } });
  });

  it('needs a reason', async () => {
    const r = await lb(['guard', '--', 'true']);
    expect(r.code).toBe(2);
  });
});
