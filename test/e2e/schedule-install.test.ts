import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../helpers/cli.js';

/**
 * `lifeboat schedule systemd --install/--uninstall` through the built CLI, into
 * a temporary unit directory (`--unit-dir`): it writes the jobs' units, prints
 * them with --dry-run without writing, refuses to replace a unit it did not
 * write, and --uninstall removes exactly what it wrote.
 */
describe('lifeboat schedule systemd --install / --uninstall (built CLI)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let config: string;
  let units: string;
  const writeConfig = (jobs: string) =>
    writeFileSync(
      config,
      `version: 1
repositories: { local: { url: ./repo, password_file: repo.pass } }
sources: { notes: { type: files, paths: [./notes.txt] } }
jobs:
${jobs}`,
    );

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('lifeboat-e2e-schedule-'));
    writeFileSync(path.join(dir, 'repo.pass'), 'schedule e2e\n', { mode: 0o600 });
    writeFileSync(path.join(dir, 'notes.txt'), 'n\n');
    config = path.join(dir, 'lifeboat.yaml');
    units = path.join(dir, 'units');
    mkdirSync(units);
    writeConfig(`  nightly: { schedule: "0 3 * * *", sources: all, to: local }
  weekly: { schedule: "0 4 * * 0", sources: all, to: local }
  manual: { sources: all, to: local }
`);
  });
  afterAll(async () => cleanup());

  it('dry run prints the units and writes nothing', async () => {
    const r = await runCli(['--config', config, 'schedule', 'systemd', '--install', '--dry-run', '--unit-dir', units]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`# ---- ${units}/lifeboat-nightly.timer`);
    expect(r.stdout).toContain(`would write ${units}/lifeboat-weekly.service`);
    expect(r.stdout).toContain('OnCalendar=');
    expect(readdirSync(units)).toEqual([]);
  });

  it('installs the units of scheduled jobs, leaves foreign files alone, and uninstalls exactly what it wrote', async () => {
    writeFileSync(path.join(units, 'other.service'), '[Service]\nExecStart=/bin/true\n');
    writeFileSync(path.join(units, 'lifeboat.service'), '[Service]\nExecStart=/bin/true\n');
    const r = await runCli(['--config', config, 'schedule', 'systemd', '--install', '--unit-dir', units]);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(units).sort()).toEqual([
      'lifeboat-nightly.service',
      'lifeboat-nightly.timer',
      'lifeboat-weekly.service',
      'lifeboat-weekly.timer',
      'lifeboat.service',
      'other.service',
    ]);
    expect(readFileSync(path.join(units, 'lifeboat-nightly.service'), 'utf8')).toContain(
      `--config ${config} run nightly`,
    );
    expect(r.stdout).toContain(`systemctl not run (${units} is not /etc/systemd/system)`);

    // Installing again replaces its own units; a job that lost its schedule loses its units.
    writeConfig(`  nightly: { schedule: "0 2 * * *", sources: all, to: local }
  weekly: { sources: all, to: local }
`);
    const again = await runCli(['--config', config, 'schedule', 'systemd', '--install', '--unit-dir', units]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`removed ${units}/lifeboat-weekly.timer`);
    expect(readFileSync(path.join(units, 'lifeboat-nightly.timer'), 'utf8')).toContain('OnCalendar=*-*-* 2:0:0');
    expect(existsSync(path.join(units, 'lifeboat-weekly.service'))).toBe(false);

    const un = await runCli(['schedule', 'systemd', '--uninstall', '--unit-dir', units, '--json']);
    expect(un.code, un.stderr).toBe(0);
    const doc = JSON.parse(un.stdout.trim().split('\n').pop()!) as { removed: string[] };
    expect(doc.removed).toEqual([
      path.join(units, 'lifeboat-nightly.service'),
      path.join(units, 'lifeboat-nightly.timer'),
    ]);
    expect(readdirSync(units).sort()).toEqual(['lifeboat.service', 'other.service']);
  });

  it('refuses to overwrite a unit it did not write, and writes nothing then', async () => {
    writeFileSync(path.join(units, 'lifeboat-nightly.timer'), '[Timer]\nOnCalendar=daily\n');
    const r = await runCli(['--config', config, 'schedule', 'systemd', '--install', '--unit-dir', units]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`${units}/lifeboat-nightly.timer exists and was not written by lifeboat`);
    expect(readFileSync(path.join(units, 'lifeboat-nightly.timer'), 'utf8')).toBe('[Timer]\nOnCalendar=daily\n');
    expect(existsSync(path.join(units, 'lifeboat-nightly.service'))).toBe(false);
    const un = await runCli(['schedule', 'systemd', '--uninstall', '--unit-dir', units]);
    expect(un.code, un.stderr).toBe(0);
    expect(un.stdout).toContain('nothing removed');
    expect(readFileSync(path.join(units, 'lifeboat-nightly.timer'), 'utf8')).toBe('[Timer]\nOnCalendar=daily\n');
  });
});
