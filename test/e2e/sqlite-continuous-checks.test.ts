import { type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lastJson, runCli, startCli, tempDir, type CliResult } from '../helpers/cli.js';
import { cliEnvFor } from '../helpers/e2e.js';

/**
 * The source's own checks (`smoke`, `recent_data`) on a point-in-time restored
 * SQLite file, through the built CLI: a few seconds of writes streamed by a
 * real `lifeboat replicate` process, then `drill` and `restore --to-time` with
 * a smoke command that passes and one that fails.
 */
const PASSING_SMOKE = `[ "$(head -c 15 "$LIFEBOAT_DRILL_FILE")" = "SQLite format 3" ] && echo "usable: $LIFEBOAT_DRILL_SOURCE"`;
const FAILING_SMOKE = `echo "the application cannot open $LIFEBOAT_DRILL_FILE" >&2; exit 4`;

describe("a continuous sqlite source's smoke and recent_data on restored points", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let config: string;
  const env = () => cliEnvFor(path.join(dir, 'cache'), undefined, { LIFEBOAT_STATE_DIR: path.join(dir, 'state') });
  const lb = (args: string[]): Promise<CliResult> =>
    runCli(['--config', config, ...args], { env: env(), timeoutMs: 120_000 });
  const show = (r: CliResult) => `exit ${r.code}\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`;
  const children: ChildProcess[] = [];
  const writeConfig = (smoke: string) =>
    writeFileSync(
      config,
      `version: 1
repositories:
  local: { url: ./repo, password_file: repo.pass }
sources:
  app:
    type: sqlite
    path: app.db
    continuous: { interval: 1s }
    recent_data: { table: events, column: created_at }
    smoke: ${JSON.stringify(smoke)}
`,
    );

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir('lifeboat-e2e-wal-checks-'));
    writeFileSync(path.join(dir, 'repo.pass'), 'a long repository passphrase\n', { mode: 0o600 });
    config = path.join(dir, 'lifeboat.yaml');
    writeConfig(PASSING_SMOKE);
    expect((await lb(['init', '--repo', 'local'])).code).toBe(0);
  });

  afterEach(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    children.length = 0;
    await cleanup();
  });

  it('drill and restore --to-time run the smoke command and the recent-data check; a failing smoke fails both, --no-smoke skips it', async () => {
    const db = new Database(path.join(dir, 'app.db'));
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE events (n INTEGER PRIMARY KEY, created_at TEXT NOT NULL)');
    const rep = startCli(['--config', config, 'replicate', '--source', 'app'], { env: env() });
    children.push(rep);
    let repErr = '';
    rep.stderr!.setEncoding('utf8').on('data', (d: string) => (repErr += d));
    rep.stdout!.resume();
    const until = Date.now() + 60_000;
    while (!/replicating app/.test(repErr)) {
      if (Date.now() > until) throw new Error(`replicator did not start: ${repErr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    // About three seconds of writes, each row stamped with the time it was written.
    for (let i = 1; i <= 30; i++) {
      db.prepare('INSERT INTO events (n, created_at) VALUES (?, ?)').run(i, new Date().toISOString());
      await new Promise((r) => setTimeout(r, 100));
    }
    db.close();
    await new Promise((r) => setTimeout(r, 2500));
    rep.kill('SIGTERM');
    expect((await once(rep, 'exit'))[0], repErr).toBe(0);

    const drill = await lb(['--json', 'drill', '--source', 'app']);
    expect(drill.code, show(drill)).toBe(0);
    const d = JSON.parse(drill.stdout.split('\n').find((l) => l.includes('"continuous":true'))!) as {
      verdict: string;
      smoke: { ok: boolean; exitCode: number; output: string };
      checks: Array<{ name: string; ok: boolean }>;
    };
    expect(d.verdict).toBe('PASS');
    expect(d.smoke).toMatchObject({ ok: true, exitCode: 0, output: 'usable: app\n' });
    expect(d.checks).toEqual([expect.objectContaining({ name: 'recent data', ok: true })]);

    const file = path.join(dir, 'restored.db');
    const restored = await lb([
      '--json',
      'restore',
      'latest',
      '--source',
      'app',
      '--to-file',
      file,
      '--to-time',
      new Date().toISOString(),
    ]);
    expect(restored.code, show(restored)).toBe(0);
    expect(lastJson(restored.stdout)).toMatchObject({
      ok: true,
      smoke: 'ran',
      checks: [
        { field: 'integrity', ok: true },
        { field: 'smoke', ok: true, actual: 'exit 0' },
      ],
    });

    writeConfig(FAILING_SMOKE);
    const failed = await lb([
      'restore',
      'latest',
      '--source',
      'app',
      '--to-file',
      file,
      '--to-time',
      new Date().toISOString(),
      '--force',
    ]);
    expect(failed.code, show(failed)).toBe(1);
    expect(failed.stdout + failed.stderr).toMatch(
      /FAIL smoke: "smoke command exited with status 4: the application cannot open/,
    );
    expect(failed.stderr).toMatch(/fails the smoke command; .*restored\.db is left in place/);
    expect(existsSync(file)).toBe(true);

    const skipped = await lb([
      '--json',
      'restore',
      'latest',
      '--source',
      'app',
      '--to-file',
      file,
      '--force',
      '--no-smoke',
      '--to-time',
      new Date().toISOString(),
    ]);
    expect(skipped.code, show(skipped)).toBe(0);
    expect(lastJson(skipped.stdout)).toMatchObject({
      ok: true,
      smoke: 'skipped (--no-smoke)',
      checks: [{ field: 'integrity' }],
    });

    const failedDrill = await lb(['--json', 'drill', '--source', 'app']);
    expect(failedDrill.code, show(failedDrill)).toBe(1);
    expect(failedDrill.stdout).toMatch(/smoke command failed \(exit 4\): .*the application cannot open/);
  }, 120_000);
});
