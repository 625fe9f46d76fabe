import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastJson, runCli, tempDir, type CliResult } from '../helpers/cli.js';
import { cliEnvFor, jsonLines } from '../helpers/e2e.js';

/**
 * `lifeboat copy` through the built CLI: two repositories of one lifeboat.yaml,
 * each opened with its own password file; a plain location opened with
 * LIFEBOAT_TO_PASSWORD; repeated runs copy nothing; source restores from the
 * copy pass their recorded checks.
 */
describe('copy through the CLI', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let config: string;
  const noSecrets = {
    LIFEBOAT_TO_PASSWORD: undefined,
    LIFEBOAT_TO_PASSWORD_FILE: undefined,
    LIFEBOAT_TO_PASSWORD_COMMAND: undefined,
    LIFEBOAT_TO_KEY_FILE: undefined,
  };
  const lb = (args: string[], extra: Record<string, string | undefined> = {}): Promise<CliResult> =>
    runCli(['--config', config, ...args], {
      env: cliEnvFor(path.join(dir, 'cache'), undefined, { ...noSecrets, ...extra }),
    });
  const show = (r: CliResult) => `exit ${r.code}\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('lifeboat-e2e-copy-'));
    mkdirSync(path.join(dir, 'app', 'conf'), { recursive: true });
    writeFileSync(path.join(dir, 'app', 'conf', 'app.yaml'), 'port: 8080\n');
    writeFileSync(path.join(dir, 'app', 'conf', 'big.txt'), 'line of configuration\n'.repeat(50_000));
    const db = new Database(path.join(dir, 'app', 'app.db'));
    db.exec(
      "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('a'), ('b'), ('c');",
    );
    db.close();
    writeFileSync(path.join(dir, 'local.pass'), 'the local passphrase\n', { mode: 0o600 });
    writeFileSync(path.join(dir, 'usb.pass'), 'a different usb passphrase\n', { mode: 0o600 });
    config = path.join(dir, 'lifeboat.yaml');
    writeFileSync(
      config,
      `version: 1
repositories:
  local: { url: ./local, password_file: local.pass }
  usb:   { url: ./usb, password_file: usb.pass, retention: { keep_last: 3 } }
sources:
  app-db: { type: sqlite, path: app/app.db }
  config: { type: files, paths: [app/conf] }
`,
    );
    for (const repo of ['local', 'usb']) {
      const init = await lb(['init', '--repo', repo]);
      expect(init.code, show(init)).toBe(0);
    }
    const backup = await lb(['--repo', 'local', 'backup', '--source', 'app-db,config', '--tag', 'nightly']);
    expect(backup.code, show(backup)).toBe(0);
  });
  afterAll(() => cleanup());

  it('lists what it would copy with --dry-run and writes nothing', async () => {
    const r = await lb(['--json', 'copy', '--from', 'local', '--to', 'usb', '--dry-run']);
    expect(r.code, show(r)).toBe(0);
    const lines = jsonLines(r.stdout);
    expect(
      lines
        .filter((l) => l.type === 'pending')
        .map((l) => (l.snapshot as { source: string }).source)
        .sort(),
    ).toEqual(['app-db', 'config']);
    expect(lastJson(r.stdout)).toMatchObject({ type: 'summary', dryRun: true, copied: 0, wouldCopy: 2, skipped: 0 });
    const listed = await lb(['--json', '--repo', 'usb', 'snapshots']);
    expect((JSON.parse(listed.stdout) as { snapshots: unknown[] }).snapshots).toEqual([]);
  });

  it('copies one source with --source, then the rest; a second run copies nothing', async () => {
    const one = await lb(['copy', '--from', 'local', '--to', 'usb', '--source', 'config']);
    expect(one.code, show(one)).toBe(0);
    expect(one.stdout).toMatch(
      /^copied [0-9a-f]{8} → [0-9a-f]{8}, .+ read from the source, \d+ file\(s\) \(.+\) reused from an earlier copy, .+ new$/m,
    );
    expect(one.stdout).toContain('copied 1 snapshot(s)');

    const rest = await lb(['--json', 'copy', '--from', 'local', '--to', 'usb']);
    expect(rest.code, show(rest)).toBe(0);
    const lines = jsonLines(rest.stdout);
    expect(lines.filter((l) => l.type === 'copied').map((l) => (l.from as { source: string }).source)).toEqual([
      'app-db',
    ]);
    expect(lastJson(rest.stdout)).toMatchObject({ type: 'summary', copied: 1, skipped: 1 });
    // A first copy of this source: everything read, nothing to copy against.
    const copied = lines.find((l) => l.type === 'copied')!;
    expect(copied.bytesRead).toBeGreaterThan(0);
    expect(copied.base).toBeNull();
    expect(lastJson(rest.stdout)).toMatchObject({ bytesRead: copied.bytesRead, filesReused: copied.filesReused });

    const again = await lb(['--json', 'copy', '--from', 'local', '--to', 'usb']);
    expect(again.code, show(again)).toBe(0);
    expect(lastJson(again.stdout)).toEqual({
      type: 'summary',
      copied: 0,
      skipped: 2,
      bytesAdded: 0,
      storedBytes: 0,
      bytesRead: 0,
      filesReused: 0,
      bytesReused: 0,
    });
    const listed = await lb(['--json', '--repo', 'usb', 'snapshots', '--tag', 'nightly']);
    expect(
      (JSON.parse(listed.stdout) as { snapshots: Array<{ source: string }> }).snapshots.map((s) => s.source).sort(),
    ).toEqual(['app-db', 'config']);
  });

  it('restores the SQLite source from the copy, with its recorded checks passing there', async () => {
    const out = path.join(dir, 'from-usb.db');
    const r = await lb(['--repo', 'usb', 'restore', 'latest', '--source', 'app-db', '--to-file', out]);
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toMatch(/ok +tables/);
    const rows = new Database(out, { readonly: true }).prepare('SELECT count(*) AS n FROM notes').get() as {
      n: number;
    };
    expect(rows.n).toBe(3);
    const check = await lb(['--repo', 'usb', 'check']);
    expect(check.code, show(check)).toBe(0);
  });

  it('copies to a plain location with LIFEBOAT_TO_PASSWORD, and refuses a wrong one with exit 12', async () => {
    const offsite = path.join(dir, 'offsite');
    const init = await runCli(['init', '--repo', offsite], {
      env: cliEnvFor(path.join(dir, 'cache'), 'offsite passphrase', noSecrets),
    });
    expect(init.code, show(init)).toBe(0);
    const wrong = await lb(['copy', '--from', 'usb', '--to', offsite], { LIFEBOAT_TO_PASSWORD: 'not it' });
    expect(wrong.code, show(wrong)).toBe(12);
    const none = await lb(['copy', '--from', 'usb', '--to', offsite]);
    expect(none.code, show(none)).toBe(12);
    expect(none.stderr).toContain('LIFEBOAT_TO_PASSWORD');

    const r = await lb(['--json', 'copy', '--from', 'usb', '--to', offsite], {
      LIFEBOAT_TO_PASSWORD: 'offsite passphrase',
    });
    expect(r.code, show(r)).toBe(0);
    expect(lastJson(r.stdout)).toMatchObject({ type: 'summary', copied: 2, skipped: 0 });
    // A copy of a copy: the local originals count as present in both directions.
    const back = await lb(['--json', 'copy', '--from', 'local', '--to', offsite], {
      LIFEBOAT_TO_PASSWORD: 'offsite passphrase',
    });
    expect(lastJson(back.stdout)).toMatchObject({ type: 'summary', copied: 0, skipped: 2 });
  });

  it('needs --to (exit 2)', async () => {
    const r = await lb(['copy', '--from', 'local']);
    expect(r.code).toBe(2);
  });
});
