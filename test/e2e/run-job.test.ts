import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonLines } from '../helpers/e2e.js';
import { runCli, tempDir, type CliResult } from '../helpers/cli.js';
import { cliEnvFor } from '../helpers/e2e.js';

/**
 * `lifeboat run JOB` end to end: backups per source, a failing source that
 * fails the job without stopping the others, retention, check, the run
 * history, and a USB repository that is skipped while its drive is not
 * mounted (a real tmpfs mount stands in for the drive).
 */
describe('lifeboat run', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let config: string;
  let usb: string;
  const lb = (args: string[]): Promise<CliResult> =>
    runCli(['--config', config, ...args], {
      env: cliEnvFor(path.join(dir, 'cache'), undefined, { LIFEBOAT_STATE_DIR: undefined }),
    });
  const show = (r: CliResult) => `exit ${r.code}\n${r.stdout.slice(-2500)}\n${r.stderr.slice(-1500)}`;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('lifeboat-e2e-run-'));
    const db = new Database(path.join(dir, 'app.db'));
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t (v) VALUES ('a'), ('b');");
    db.close();
    writeFileSync(path.join(dir, 'repo.pass'), 'job test passphrase\n', { mode: 0o600 });
    usb = path.join(dir, 'usb');
    mkdirSync(usb);
    config = path.join(dir, 'lifeboat.yaml');
    writeFileSync(
      config,
      `version: 1
state_dir: ./state
repositories:
  local: { url: ./repo, password_file: repo.pass, retention: { keep_last: 2 } }
  usb:   { url: ./usb/lifeboat, password_file: repo.pass, media: usb, location: offsite, require_mount: true, mount_point: ./usb }
sources:
  db:     { type: sqlite, path: app.db }
  broken: { type: command, backup: "echo 'vault is sealed' >&2; exit 2" }
jobs:
  nightly: { sources: [db, broken], to: local, then: [forget, prune, check] }
  monthly: { sources: [db], to: local, then: [verify], drill: { within: 30d } }
  to-usb:  { sources: [db], to: usb }
  copy-usb: { sources: [db], copy_to: [usb], to: local }
`,
    );
    const init = await lb(['init', '--repo', 'local']);
    expect(init.code, show(init)).toBe(0);
  });
  afterAll(async () => {
    try {
      execFileSync('umount', [usb], { stdio: 'ignore' });
    } catch {
      // not mounted
    }
    await cleanup();
  });

  it('runs every source, fails the job for the broken one, applies retention and checks', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await lb(['--json', 'run', 'nightly']);
      expect(r.code, show(r)).toBe(1);
      const summary = jsonLines(r.stdout).at(-1) as {
        outcome: string;
        steps: Array<{ step: string; source?: string; outcome: string; error?: string }>;
      };
      expect(summary.outcome).toBe('failed');
      const by = (step: string, source?: string) => summary.steps.find((s) => s.step === step && s.source === source);
      expect(by('backup', 'db')!.outcome).toBe('ok');
      expect(by('backup', 'broken')).toMatchObject({ outcome: 'failed' });
      expect(by('backup', 'broken')!.error).toContain('vault is sealed');
      expect(by('forget', 'db')!.outcome).toBe('ok');
      expect(by('prune')!.outcome).toBe('ok');
      expect(by('check')!.outcome).toBe('ok');
    }
    const list = await lb(['--repo', 'local', '--json', 'snapshots']);
    const snaps = (
      JSON.parse(list.stdout) as { snapshots: Array<{ source?: string; metadata: { run?: { job: string } } }> }
    ).snapshots;
    expect(snaps).toHaveLength(2); // keep_last 2
    expect(snaps.every((s) => s.source === 'db' && s.metadata.run?.job === 'nightly')).toBe(true);
    const history = new Database(path.join(dir, 'state', 'state.db'), { readonly: true });
    const runs = history.prepare("SELECT outcome FROM runs WHERE job = 'nightly'").all() as Array<{ outcome: string }>;
    history.close();
    expect(runs.map((r) => r.outcome)).toEqual(['failed', 'failed', 'failed']);
  });

  it('skips a USB repository whose drive is not mounted, and uses it once it is', async () => {
    const absent = await lb(['run', 'to-usb']);
    expect(absent.code, show(absent)).toBe(1);
    expect(absent.stdout).toMatch(/skipped backup source db → usb .*not connected/);
    const initAbsent = await lb(['init', '--repo', 'usb']);
    expect(initAbsent.code).toBe(1);
    expect(initAbsent.stderr).toContain('not connected');

    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64m', 'tmpfs', usb]);
    const init = await lb(['init', '--repo', 'usb']);
    expect(init.code, show(init)).toBe(0);
    const present = await lb(['run', 'to-usb']);
    expect(present.code, show(present)).toBe(0);
    expect(present.stdout).toMatch(/ok +backup source db → usb/);

    // 3-2-1: the local snapshots of db are copied to the drive; a second run copies nothing new.
    const copied = await lb(['--json', 'run', 'copy-usb']);
    expect(copied.code, show(copied)).toBe(0);
    const copyStep = (
      jsonLines(copied.stdout).at(-1) as { steps: Array<{ step: string; detail?: { copied: number } }> }
    ).steps.find((s) => s.step === 'copy')!;
    expect(copyStep.detail!.copied).toBeGreaterThan(0);
    const again = await lb(['--json', 'run', 'copy-usb']);
    const second = (
      jsonLines(again.stdout).at(-1) as { steps: Array<{ step: string; detail?: { copied: number } }> }
    ).steps.find((s) => s.step === 'copy')!;
    expect(second.detail!.copied).toBe(1); // only the snapshot this run's backup just made
  });

  it('verifies the newest snapshot and runs a drill as job steps, and the drill shows in compliance', async () => {
    const r = await lb(['--json', 'run', 'monthly']);
    expect(r.code, show(r)).toBe(0);
    const steps = (
      jsonLines(r.stdout).at(-1) as { steps: Array<{ step: string; outcome: string; detail?: { verdict?: string } }> }
    ).steps;
    expect(steps.find((s) => s.step === 'verify')!.outcome).toBe('ok');
    expect(steps.find((s) => s.step === 'drill')).toMatchObject({ outcome: 'ok', detail: { verdict: 'PASS' } });
    const compliance = await lb(['--json', 'compliance']);
    const doc = jsonLines(compliance.stdout).at(-1) as {
      checks: Array<{ source: string; check: string; status: string; reason: string }>;
    };
    const of = (check: string) => doc.checks.find((c) => c.source === 'db' && c.check === check)!;
    expect(of('drill').status).toBe('pass');
    // 3-2-1-1-0: the require_mount drive is the offline copy; it was never verified, local was just now.
    expect(of('immutable')).toMatchObject({
      status: 'pass',
      reason: expect.stringContaining('usb (removable drive, require_mount)'),
    });
    expect(of('errors').status).toBe('fail');
    expect(of('errors').reason).toBe('usb: never verified (no verify step or drill of this source recorded)');
    expect(compliance.code).toBe(1);
  });

  it('refuses an unknown job with a usage error', async () => {
    const r = await lb(['run', 'nope']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('nightly');
  });

  it('runs a job of twelve sources without a listener-leak warning on stderr', async () => {
    // Each backup used to leave an abort listener on the job's signal: past ten, Node printed MaxListenersExceededWarning.
    const many = path.join(dir, 'many');
    mkdirSync(many);
    const names = Array.from({ length: 12 }, (_, i) => `part${i + 1}`);
    for (const n of names) writeFileSync(path.join(many, `${n}.txt`), `${n}\n`);
    const manyConfig = path.join(many, 'lifeboat.yaml');
    writeFileSync(path.join(many, 'repo.pass'), 'many sources passphrase\n', { mode: 0o600 });
    writeFileSync(
      manyConfig,
      [
        'version: 1',
        'state_dir: ./state',
        'repositories:',
        '  local: { url: ./repo, password_file: repo.pass }',
        'sources:',
        ...names.map((n) => `  ${n}: { type: files, paths: [./${n}.txt] }`),
        'jobs:',
        '  wide: { sources: all, to: local }',
        '',
      ].join('\n'),
    );
    const env = cliEnvFor(path.join(dir, 'cache'), undefined, { LIFEBOAT_STATE_DIR: undefined });
    const init = await runCli(['--config', manyConfig, 'init', '--repo', 'local'], { env });
    expect(init.code, show(init)).toBe(0);
    const r = await runCli(['--config', manyConfig, 'run', 'wide'], { env });
    expect(r.code, show(r)).toBe(0);
    for (const n of names) expect(r.stdout + r.stderr).toContain(`backup source ${n} → local`);
    expect(r.stderr).not.toMatch(/MaxListenersExceededWarning|Warning:/);
  });
});
