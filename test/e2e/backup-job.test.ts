import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir, type CliResult } from '../helpers/cli.js';
import { cliEnvFor, jsonLines } from '../helpers/e2e.js';

/** `backup --job NAME`: a job's backups (its sources into `to`) and nothing after them. */
describe('lifeboat backup --job', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let config: string;
  const lb = (args: string[]): Promise<CliResult> =>
    runCli(['--config', config, ...args], { env: cliEnvFor(path.join(dir, 'cache'), undefined) });
  const show = (r: CliResult) => `exit ${r.code}\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`;
  const snapshots = async (repo: string) => {
    const r = await lb(['--json', 'snapshots', '--repo', repo]);
    expect(r.code, show(r)).toBe(0);
    return (JSON.parse(r.stdout) as { snapshots: Array<{ source?: string; tags: string[]; reason?: string }> })
      .snapshots;
  };

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('lifeboat-e2e-backup-job-'));
    for (const d of ['etc', 'www']) {
      mkdirSync(path.join(dir, d));
      writeFileSync(path.join(dir, d, 'a.txt'), `${d}\n`);
    }
    writeFileSync(path.join(dir, 'repo.pass'), 'job passphrase\n', { mode: 0o600 });
    config = path.join(dir, 'lifeboat.yaml');
    writeFileSync(
      config,
      `version: 1
state_dir: ./state
repositories:
  local:   { url: ./repo, password_file: repo.pass }
  offsite: { url: ./offsite, password_file: repo.pass, retention: { keep_daily: 30, keep_weekly: 12, keep_monthly: 12 } }
sources:
  etc: { type: files, paths: [./etc] }
  www: { type: files, paths: [./www] }
  web-missing: { type: files, paths: [./nowhere] }
jobs:
  nightly: { sources: [etc, www], to: local, copy_to: [offsite], keep_last: 1, then: [forget, check, verify] }
  copy-only: { copy_to: [offsite] }
  broken: { sources: [etc, web-missing], to: local }
`,
    );
    for (const repo of ['local', 'offsite']) {
      const r = await lb(['init', '--repo', repo]);
      expect(r.code, show(r)).toBe(0);
    }
  });
  afterAll(() => cleanup());

  it("runs the job's backups only: one snapshot per source in `to`, no copy, no `then` steps", async () => {
    const r = await lb(['--json', 'backup', '--job', 'nightly', '--tag', 'manual', '--reason', 'before upgrade']);
    expect(r.code, show(r)).toBe(0);
    const steps = jsonLines(r.stdout).filter((l) => l.type === 'step');
    expect(steps.map((s) => [s.step, s.source, s.outcome])).toEqual([
      ['backup', 'etc', 'ok'],
      ['backup', 'www', 'ok'],
    ]);
    expect(jsonLines(r.stdout).at(-1)).toMatchObject({ type: 'summary', job: 'nightly', outcome: 'ok' });
    const local = await snapshots('local');
    expect(local.map((s) => s.source).sort()).toEqual(['etc', 'www']);
    expect(local.every((s) => s.tags.includes('manual') && s.reason === 'before upgrade')).toBe(true);
    expect(await snapshots('offsite')).toEqual([]);
    const text = await lb(['backup', '--job', 'nightly']);
    expect(text.code, show(text)).toBe(0);
    expect(text.stdout + text.stderr).toContain('backups of job nightly: ok');
    expect((await snapshots('local')).length).toBe(4); // forget (keep_last 1) did not run
  });

  it('fails with the step named when a source of the job fails', async () => {
    const r = await lb(['--json', 'backup', '--job', 'broken']);
    expect(r.code, show(r)).toBe(1);
    const failed = jsonLines(r.stdout).find((l) => l.type === 'step' && l.source === 'web-missing') as {
      outcome: string;
      error: string;
    };
    expect(failed).toMatchObject({ outcome: 'failed' });
    expect(failed.error).toContain('nowhere: does not exist');
  });

  it('refuses a job without backups, an unknown job, and mixing with paths or --source', async () => {
    expect((await lb(['backup', '--job', 'copy-only'])).code).toBe(2);
    expect((await lb(['backup', '--job', 'nope'])).code).toBe(2);
    expect((await lb(['backup', '--job', 'nightly', '--source', 'etc'])).code).toBe(2);
    expect((await lb(['backup', '--job', 'nightly', path.join(dir, 'etc')])).code).toBe(2);
  });
});
