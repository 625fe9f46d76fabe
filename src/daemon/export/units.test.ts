import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Cron } from 'croner';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../config/load.js';
import { onCalendar } from './on-calendar.js';
import { crontab, systemdUnits } from './units.js';

/** What systemd itself says a calendar spec's next elapse is (systemd-analyze calendar). */
function systemdNext(spec: string, after: string): string {
  const out = execFileSync('systemd-analyze', ['calendar', '--iterations=1', `--base-time=${after}`, spec], {
    encoding: 'utf8',
    env: { ...process.env, TZ: 'UTC' },
  });
  const m = /Next elapse: \w+ (\S+ \S+) UTC/.exec(out);
  if (!m) throw new Error(`unexpected output: ${out}`);
  return `${m[1]!.replace(' ', 'T')}.000Z`;
}

describe('schedule export', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lifeboat-units-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('translates cron expressions to OnCalendar specs that fire when croner says', () => {
    const cases = [
      '0 3 * * *',
      '*/15 * * * *',
      '30 4 * * 1-5',
      '0 5 1 * *',
      '0 4 * * 0',
      '0 0 1,15 * 5',
      '10-40/10 2 * * *',
      '0 6 * jan,jul sat',
      '@weekly',
      '15 10 * * 7',
    ];
    const base = '2026-01-10T12:00:00Z';
    for (const expr of cases) {
      const cal = onCalendar(expr);
      if ('error' in cal) throw new Error(cal.error);
      const cron = new Cron(expr, { paused: true, timezone: 'UTC' });
      const ours = cal.lines.map((l) => systemdNext(l, '2026-01-10 12:00:00 UTC')).sort()[0];
      expect(ours, `${expr} → ${cal.lines.join(' | ')}`).toBe(cron.nextRun(new Date(base))!.toISOString());
      cron.stop();
    }
    expect(onCalendar('0 3 * * *', 'Europe/Berlin')).toEqual({ lines: ['*-*-* 3:0:0 Europe/Berlin'] });
    expect(onCalendar('0 3 L * *')).toHaveProperty('error');
  });

  it('prints units that systemd-analyze verify accepts, and crontab lines', () => {
    const file = path.join(dir, 'lifeboat.yaml');
    writeFileSync(path.join(dir, 'repo.pass'), 'x\n');
    const loaded = parseConfig(
      `version: 1
repositories: { local: { url: ./repo, password_file: repo.pass } }
sources: { etc: { type: files, paths: [/etc/hostname] } }
jobs:
  daily:  { schedule: "0 3 * * *", timezone: Europe/Berlin, jitter: 15m, sources: all, to: local }
  weekly: { schedule: "0 4 * * 0", sources: all, to: local, then: [check] }
  manual: { sources: all, to: local }
`,
      file,
    );
    const command = [process.execPath, path.resolve('dist/cli/main.js')];
    const { units, problems } = systemdUnits(loaded, command);
    expect(problems).toEqual([]);
    expect(units.map((u) => u.name)).toEqual([
      'lifeboat-daily.service',
      'lifeboat-daily.timer',
      'lifeboat-weekly.service',
      'lifeboat-weekly.timer',
    ]);
    expect(units[1]!.text).toContain('OnCalendar=*-*-* 3:0:0 Europe/Berlin\nPersistent=true\nRandomizedDelaySec=900\n');
    expect(units[0]!.text).toContain(`ExecStart=${process.execPath} ${command[1]} --config ${file} run daily`);
    for (const u of units) writeFileSync(path.join(dir, u.name), u.text);
    const verify = spawnSync('systemd-analyze', ['verify', ...units.map((u) => path.join(dir, u.name))], {
      encoding: 'utf8',
    });
    expect(
      verify.stderr.split('\n').filter((l) => l.includes('lifeboat-')),
      verify.stderr,
    ).toEqual([]);
    expect(verify.status, verify.stderr).toBe(0);

    const tab = crontab(loaded, ['/usr/bin/lifeboat']);
    expect(tab).toContain(`0 3 * * * /usr/bin/lifeboat --config ${file} run daily\n`);
    expect(tab).toContain(`0 4 * * 0 /usr/bin/lifeboat --config ${file} run weekly\n`);
    expect(tab).toContain('# job daily: the schedule is in Europe/Berlin');
    expect(tab).not.toContain('run manual');
  });
});
