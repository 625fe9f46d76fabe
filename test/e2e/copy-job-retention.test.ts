import { writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir, type CliResult } from '../helpers/cli.js';
import { cliEnvFor, jsonLines } from '../helpers/e2e.js';
import { startS3Server, type S3Server } from '../helpers/servers/s3.js';

interface Step {
  step: string;
  source?: string;
  repository?: string;
  outcome: string;
  error?: string;
  detail?: { copied?: number; skipped?: number; removed?: string[]; kept?: number };
}

/**
 * A job that only copies (local disk → an off-site S3 bucket) applies the
 * copy target's own retention to what it copied, says what each step did,
 * and a step with nothing to act on is recorded as `nothing_to_do`, never
 * as a plain `ok`.
 */
describe("a copy job applies the copy target's retention", () => {
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
  const summaryOf = (r: CliResult) => jsonLines(r.stdout).at(-1) as { outcome: string; steps: Step[] };

  beforeAll(async () => {
    server = await startS3Server();
    ({ dir, cleanup } = await tempDir('lifeboat-e2e-copyjob-'));
    const db = new Database(path.join(dir, 'app.db'));
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t (v) VALUES ('a');");
    db.close();
    writeFileSync(path.join(dir, 'other.txt'), 'not backed up yet\n');
    writeFileSync(path.join(dir, 'repo.pass'), 'copy job passphrase\n', { mode: 0o600 });
    config = path.join(dir, 'lifeboat.yaml');
    writeFileSync(
      config,
      `version: 1
state_dir: ./state
repositories:
  local:   { url: ./repo, password_file: repo.pass }
  offsite: { url: "s3://offsite/site-1", endpoint: "${server.endpoint}", region: us-east-1, path_style: true,
             credentials_file: "${server.credentialsFile}", password_file: repo.pass, location: offsite,
             retention: { keep_last: 3 } }
sources:
  db:    { type: sqlite, path: app.db }
  other: { type: files, paths: [other.txt] }
jobs:
  nightly:  { sources: [db], to: local }
  sync:     { copy_to: [offsite], then: [forget] }
  sync-one: { sources: [other], copy_to: [offsite], then: [forget] }
`,
    );
    for (const repo of ['local', 'offsite']) {
      const init = await lb(['init', '--repo', repo]);
      expect(init.code, show(init)).toBe(0);
    }
    for (let i = 0; i < 4; i++) {
      const r = await lb(['run', 'nightly']);
      expect(r.code, show(r)).toBe(0);
    }
  }, 180_000);
  afterAll(async () => {
    await cleanup?.();
    await server?.stop();
  });

  it('copies off-site only what the off-site policy keeps, forgets there by that policy, and says what each step did', async () => {
    const first = await lb(['--json', 'run', 'sync']);
    expect(first.code, show(first)).toBe(0);
    const summary = summaryOf(first);
    expect(summary.outcome).toBe('ok');
    // keep_last 3 off-site: of the 4 local snapshots the oldest is not copied at all.
    expect(summary.steps.find((s) => s.step === 'copy')).toMatchObject({
      outcome: 'ok',
      repository: 'offsite',
      detail: { copied: 3, skipped: 0, outsideRetention: 1 },
    });
    expect(summary.steps.find((s) => s.step === 'forget')).toMatchObject({
      outcome: 'ok',
      repository: 'offsite',
      detail: { kept: 3, removed: [] },
    });

    const nightly = await lb(['run', 'nightly']);
    expect(nightly.code, show(nightly)).toBe(0);
    const r = await lb(['--json', 'run', 'sync']);
    expect(r.code, show(r)).toBe(0);
    const second = summaryOf(r);
    expect(second.steps.find((s) => s.step === 'copy')).toMatchObject({
      outcome: 'ok',
      detail: { copied: 1, skipped: 3, outsideRetention: 1 },
    });
    const forget = second.steps.find((s) => s.step === 'forget')!;
    expect(forget, show(r)).toMatchObject({ outcome: 'ok', repository: 'offsite', detail: { kept: 3 } });
    expect(forget.detail!.removed).toHaveLength(1);

    const offsite = await lb(['--repo', 'offsite', '--json', 'snapshots']);
    expect((JSON.parse(offsite.stdout) as { snapshots: unknown[] }).snapshots).toHaveLength(3);
    const local = await lb(['--repo', 'local', '--json', 'snapshots']);
    expect((JSON.parse(local.stdout) as { snapshots: unknown[] }).snapshots).toHaveLength(5); // the copy job never touches its origin

    const text = await lb(['run', 'sync']);
    expect(text.code, show(text)).toBe(0);
    expect(text.stdout).toMatch(
      /ok +copy → offsite \(.*0 snapshot\(s\) copied from local, 3 already there, 2 outside its retention \(not copied\)/,
    );
    expect(text.stdout).toMatch(/ok +forget → offsite \(.*0 snapshot\(s\) forgotten, 3 kept \(last 3\)/);
  }, 180_000);

  it('config validate refuses a copy job whose target has no retention to apply, before any run', async () => {
    const bad = path.join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      `version: 1
repositories:
  local:   { url: ./repo, password_file: repo.pass }
  offsite: { url: ./offsite, password_file: repo.pass }
jobs:
  sync: { copy_to: [offsite], then: [forget] }
`,
    );
    const r = await runCli(['--config', bad, 'config', 'validate'], {
      env: cliEnvFor(path.join(dir, 'cache'), undefined),
    });
    expect(r.code, show(r)).toBe(2);
    expect(r.stderr).toContain('the `forget` step has no retention policy for copy target "offsite"');
    expect(r.stderr).toContain('repositories.offsite');
  });

  it('copy and forget on the command line say when nothing matches, with exit 1', async () => {
    const copy = await lb(['--json', 'copy', '--from', 'local', '--to', 'offsite', '--source', 'dbb']);
    expect(copy.code, show(copy)).toBe(1);
    expect(jsonLines(copy.stdout).at(-1)).toMatchObject({ type: 'summary', nothingToDo: true, copied: 0 });
    const copyText = await lb(['copy', '--from', 'local', '--to', 'offsite', '--source', 'dbb']);
    expect(copyText.stdout).toContain('nothing to copy: the origin repository holds no snapshot of source "dbb"');
    const forget = await lb(['forget', '--repo', 'offsite', '--source', 'dbb', '--dry-run']);
    expect(forget.code, show(forget)).toBe(1);
    expect(forget.stdout).toContain('nothing to do: the repository holds no snapshot of source "dbb"');
  }, 120_000);

  it('records a step with nothing to act on as nothing_to_do, in the output, the exit code and the run history', async () => {
    const r = await lb(['--json', 'run', 'sync-one']);
    expect(r.code, show(r)).toBe(1);
    const summary = summaryOf(r);
    expect(summary.outcome).toBe('nothing_to_do');
    expect(summary.steps.find((s) => s.step === 'copy')).toMatchObject({
      outcome: 'nothing_to_do',
      source: 'other',
      error: 'local holds no snapshot of "other" to copy',
    });
    expect(summary.steps.find((s) => s.step === 'forget')).toMatchObject({
      outcome: 'nothing_to_do',
      source: 'other',
      error: 'offsite holds no snapshot of "other" to apply retention to',
    });

    const text = await lb(['run', 'sync-one']);
    expect(text.code, show(text)).toBe(1);
    expect(text.stdout).toMatch(
      /nothing to do copy source other → offsite .*: local holds no snapshot of "other" to copy/,
    );
    expect(text.stdout).toContain('job sync-one: nothing_to_do, 2 step(s) had nothing to do');

    const history = new Database(path.join(dir, 'state', 'state.db'), { readonly: true });
    const runs = history.prepare("SELECT outcome FROM runs WHERE job = 'sync-one'").all() as Array<{ outcome: string }>;
    const steps = history
      .prepare("SELECT step, outcome, error FROM steps WHERE job = 'sync-one' AND step = 'forget'")
      .all() as Array<{ outcome: string; error: string }>;
    history.close();
    expect(runs.map((x) => x.outcome)).toEqual(['nothing_to_do', 'nothing_to_do']);
    expect(steps.every((s) => s.outcome === 'nothing_to_do' && s.error.includes('no snapshot of "other"'))).toBe(true);
  }, 180_000);
});
