import { writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir, type CliResult } from '../helpers/cli.js';
import { cliEnvFor, jsonLines } from '../helpers/e2e.js';
import { startS3Server, type S3Server } from '../helpers/servers/s3.js';

/**
 * Two configured repositories (a local disk and an S3 bucket) and no --repo:
 * `backup --source all` sends each source where its jobs say, the read-only
 * commands go through both repositories, grouped by name, and the commands
 * that change or restore from one repository name the choices and ask for
 * --repo. Also: `forget` flags add to the configured retention.
 */
describe('several configured repositories', () => {
  let server: S3Server;
  let dir: string;
  let cleanup: () => Promise<void>;
  let config: string;
  const lb = (args: string[]): Promise<CliResult> =>
    runCli(['--config', config, ...args], {
      env: cliEnvFor(path.join(dir, 'cache'), undefined, {
        LIFEBOAT_STATE_DIR: undefined,
        AWS_ACCESS_KEY_ID: undefined,
        AWS_SECRET_ACCESS_KEY: undefined,
      }),
    });
  const show = (r: CliResult) => `exit ${r.code}\n${r.stdout.slice(-2500)}\n${r.stderr.slice(-1500)}`;

  beforeAll(async () => {
    server = await startS3Server();
    ({ dir, cleanup } = await tempDir('lifeboat-e2e-repos-'));
    const db = new Database(path.join(dir, 'app.db'));
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t (v) VALUES ('a');");
    db.close();
    writeFileSync(path.join(dir, 'notes.txt'), 'notes kept off-site\n');
    writeFileSync(path.join(dir, 'loose.txt'), 'in no job\n');
    writeFileSync(path.join(dir, 'repo.pass'), 'several repositories passphrase\n', { mode: 0o600 });
    config = path.join(dir, 'lifeboat.yaml');
    writeFileSync(
      config,
      `version: 1
state_dir: ./state
repositories:
  local:   { url: ./repo, password_file: repo.pass, retention: { keep_last: 2 } }
  offsite: { url: "s3://several/site-1", endpoint: "${server.endpoint}", region: us-east-1, path_style: true,
             credentials_file: "${server.credentialsFile}", password_file: repo.pass }
sources:
  db:    { type: sqlite, path: app.db }
  notes: { type: files, paths: [notes.txt] }
  loose: { type: files, paths: [loose.txt] }
jobs:
  nightly: { sources: [db], to: local }
  papers:  { sources: [notes], to: offsite }
`,
    );
    for (const repo of ['local', 'offsite']) {
      const init = await lb(['init', '--repo', repo]);
      expect(init.code, show(init)).toBe(0);
    }
  }, 120_000);
  afterAll(async () => {
    await cleanup?.();
    await server?.stop();
  });

  it('backup --source all sends each source to the repository its jobs name, and refuses one no job sends anywhere', async () => {
    const r = await lb(['--json', 'backup', '--source', 'all']);
    expect(r.code, show(r)).toBe(1);
    const lines = jsonLines(r.stdout).filter((l) => l.type === 'source');
    expect(lines.find((l) => l.source === 'db')).toMatchObject({ ok: true, repositoryName: 'local' });
    expect(lines.find((l) => l.source === 'notes')).toMatchObject({ ok: true, repositoryName: 'offsite' });
    expect(lines.find((l) => l.source === 'loose')).toMatchObject({ ok: false, error: { code: 'usage' } });
    expect(r.stderr).toContain('no job sends source "loose" to a repository');

    const both = await lb(['backup', '--source', 'db,notes']);
    expect(both.code, show(both)).toBe(0);
    expect(both.stdout).toContain('repository local:');
    expect(both.stdout).toContain('repository offsite:');
  }, 180_000);

  it('snapshots and check read every configured repository, grouped by name', async () => {
    const list = await lb(['--json', 'snapshots']);
    expect(list.code, show(list)).toBe(0);
    const docs = jsonLines(list.stdout) as Array<{ repositoryName: string; snapshots: Array<{ source?: string }> }>;
    expect(docs.map((d) => d.repositoryName)).toEqual(['local', 'offsite']);
    expect(docs[0]!.snapshots.map((s) => s.source)).toEqual(['db', 'db']);
    expect(docs[1]!.snapshots.map((s) => s.source)).toEqual(['notes', 'notes']);

    const text = await lb(['snapshots']);
    expect(text.code, show(text)).toBe(0);
    expect(text.stdout.indexOf('repository local:')).toBeLessThan(text.stdout.indexOf('repository offsite:'));

    const check = await lb(['check']);
    expect(check.code, show(check)).toBe(0);
    expect(check.stdout.match(/no errors found/g)).toHaveLength(2);
  }, 120_000);

  it('verify and drill act where the source is held', async () => {
    const verify = await lb(['--json', 'verify', 'latest', '--source', 'notes']);
    expect(verify.code, show(verify)).toBe(0);
    const summaries = jsonLines(verify.stdout).filter((l) => l.type === 'summary');
    expect(summaries).toHaveLength(1);
    expect(summaries[0]).toMatchObject({ repositoryName: 'offsite', ok: true });

    const drill = await lb(['--json', 'drill', '--source', 'db']);
    expect(drill.code, show(drill)).toBe(0);
    expect(
      jsonLines(drill.stdout)
        .filter((l) => l.type === 'drill')
        .map((l) => [l.repositoryName, l.verdict]),
    ).toEqual([['local', 'PASS']]);

    const none = await lb(['verify', 'latest', '--source', 'loose']);
    expect(none.code, show(none)).toBe(1);
    expect(none.stderr).toContain('no configured repository holds a snapshot matching "latest" of source "loose"');
  }, 180_000);

  it('forget and restore name the choices and ask for --repo', async () => {
    const forget = await lb(['forget', '--dry-run']);
    expect(forget.code, show(forget)).toBe(2);
    expect(forget.stderr).toContain('name the repository with --repo NAME (configured: local, offsite)');
    const restore = await lb(['restore', 'latest', '--source', 'db', '--to-file', path.join(dir, 'restored.db')]);
    expect(restore.code, show(restore)).toBe(2);
    expect(restore.stderr).toContain('name the repository with --repo NAME (configured: local, offsite)');
  });

  it('forget flags add to the configured retention; --replace-policy makes them replace it', async () => {
    const more = await lb(['backup', '--source', 'db']);
    expect(more.code, show(more)).toBe(0);
    const r = await lb(['--json', 'forget', '--repo', 'local', '--max-age', '90d', '--dry-run']);
    expect(r.code, show(r)).toBe(0);
    const summary = jsonLines(r.stdout).at(-1) as {
      policy: { rules: string; origin: string };
      plan: Array<{ source: string; decisions: Array<{ action: string }> }>;
    };
    expect(summary.policy).toEqual({
      rules: 'last 2, max age 90d',
      origin: 'retention of repository "local" with the flags added',
    });
    expect(summary.plan.find((g) => g.source === 'db')!.decisions.map((d) => d.action)).toEqual([
      'keep',
      'keep',
      'remove',
    ]);

    const text = await lb(['forget', '--repo', 'local', '--max-age', '90d', '--dry-run']);
    expect(text.stdout).toContain('policy: last 2, max age 90d (retention of repository "local" with the flags added)');

    const replaced = await lb(['forget', '--repo', 'local', '--max-age', '90d', '--replace-policy', '--dry-run']);
    expect(replaced.code, show(replaced)).toBe(2);
    expect(replaced.stderr).toContain('no retention rule says what to keep');
  }, 120_000);
});
