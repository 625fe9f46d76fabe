import { describe, expect, it } from 'vitest';
import type { StepRecord } from '../state/history.js';
import { evaluateRules, type AlertFacts } from './rules.js';

const settings = {
  overdueAfterMs: 36 * 3_600_000,
  sizeChangePct: 50,
  freeWarningPct: 20,
  freeCriticalPct: 10,
  maxBackupMs: 3_600_000,
};
const NOW = Date.parse('2026-02-10T12:00:00Z');

function step(s: Partial<StepRecord> & Pick<StepRecord, 'step' | 'startedAt'>): StepRecord {
  return { runId: 'r', job: 'nightly', durationMs: 1000, outcome: 'ok', ...s };
}
function facts(f: Partial<AlertFacts>): AlertFacts {
  return { now: NOW, watchedSince: NOW - 3_600_000, scheduledSources: [], steps: [], space: [], ...f };
}
const rules = (f: Partial<AlertFacts>) => evaluateRules(facts(f), settings).map((c) => c.key);

describe('alert rules', () => {
  it('backup failed: the newest backup of a job, source and repository decides', () => {
    const failed = step({
      step: 'backup',
      source: 'db',
      repository: 'local',
      startedAt: '2026-02-10T03:00:00Z',
      outcome: 'failed',
      error: 'disk full',
    });
    expect(evaluateRules(facts({ steps: [failed] }), settings)).toEqual([
      expect.objectContaining({
        key: 'backup_failed/nightly/db/local',
        rule: 'backup_failed',
        severity: 'critical',
        message: expect.stringContaining('disk full'),
      }),
    ]);
    expect(
      rules({
        steps: [failed, step({ step: 'backup', source: 'db', repository: 'local', startedAt: '2026-02-10T04:00:00Z' })],
      }),
    ).toEqual([]);
  });

  it('hook failed: the newest run of each phase of a source or job decides, and a good run resolves it', () => {
    const failedFinally = step({
      step: 'hook:finally',
      source: 'db',
      repository: 'local',
      startedAt: '2026-02-10T03:00:00Z',
      outcome: 'failed',
      error: '"systemctl start app" exited with status 1',
    });
    const failedJobAfter = step({ step: 'hook:after', startedAt: '2026-02-10T03:05:00Z', outcome: 'failed' });
    // Newest first.
    expect(evaluateRules(facts({ steps: [failedFinally, failedJobAfter] }), settings)).toEqual([
      expect.objectContaining({
        key: 'hook_failed/nightly//after',
        message: expect.stringContaining('after hook of job nightly'),
      }),
      expect.objectContaining({
        key: 'hook_failed/nightly/db/finally',
        rule: 'hook_failed',
        severity: 'critical',
        message: expect.stringContaining(
          'finally hook of source db (job nightly) failed at 2026-02-10T03:00:00Z: "systemctl',
        ),
      }),
    ]);
    const laterOk = step({
      step: 'hook:finally',
      source: 'db',
      repository: 'local',
      startedAt: '2026-02-11T03:00:00Z',
    });
    expect(rules({ steps: [failedFinally, laterOk] })).toEqual([]);
  });

  it('backup overdue says how long as people write it, not in whole hours', () => {
    const old = step({ step: 'backup', source: 'db', repository: 'local', startedAt: '2026-02-08T21:48:00Z' });
    const [overdue] = evaluateRules(facts({ scheduledSources: ['db'], steps: [old] }), settings);
    expect(overdue!.message).toBe('no successful backup of db for 1d 14h (last 2026-02-08T21:48:00Z)');
    const [fresh] = evaluateRules(
      facts({ scheduledSources: ['new'], watchedSince: NOW - 36 * 3_600_000 - 90_000 }),
      settings,
    );
    expect(fresh!.message).toBe('no successful backup of new yet, 1d 12h after watching began');
  });

  it('replication lag says how far behind as people write it', () => {
    const [lag] = evaluateRules(
      facts({ replication: [{ source: 'app', lagSeconds: 3725.4, limitSeconds: 300 }] }),
      settings,
    );
    expect(lag!.message).toBe(
      'continuous protection of app is 1h 2m behind, past its limit of 5m (nothing shipped yet)',
    );
  });

  it('backup overdue: per scheduled source, from its last success or from when watching began', () => {
    const old = step({ step: 'backup', source: 'db', repository: 'local', startedAt: '2026-02-08T11:00:00Z' });
    expect(rules({ scheduledSources: ['db'], steps: [old] })).toEqual(['backup_overdue/db']);
    expect(rules({ scheduledSources: ['db'], steps: [{ ...old, startedAt: '2026-02-09T03:00:00Z' }] })).toEqual([]);
    expect(rules({ scheduledSources: ['new'], watchedSince: NOW - 3_600_000 })).toEqual([]);
    expect(rules({ scheduledSources: ['new'], watchedSince: NOW - 40 * 3_600_000 })).toEqual(['backup_overdue/new']);
    // a failure is not a success
    expect(
      rules({
        scheduledSources: ['db'],
        steps: [
          old,
          step({
            step: 'backup',
            source: 'db',
            repository: 'local',
            startedAt: '2026-02-10T03:00:00Z',
            outcome: 'failed',
          }),
        ],
      }),
    ).toContain('backup_overdue/db');
  });

  it('size change: the newest backup against the median of the previous ones', () => {
    const sizes = [100, 110, 90, 105];
    const history = sizes.map((bytes, i) =>
      step({ step: 'backup', source: 'db', repository: 'local', startedAt: `2026-02-0${i + 1}T03:00:00Z`, bytes }),
    );
    const latest = (bytes: number) =>
      step({ step: 'backup', source: 'db', repository: 'local', startedAt: '2026-02-09T03:00:00Z', bytes });
    expect(rules({ steps: [...history, latest(140)] })).toEqual([]); // +35 % of median 102.5
    expect(rules({ steps: [...history, latest(160)] })).toEqual(['size_change/db/local']);
    expect(rules({ steps: [...history, latest(40)] })).toEqual(['size_change/db/local']);
    expect(rules({ steps: [...history.slice(0, 2), latest(1000)] })).toEqual([]); // too little history
  });

  it('verification, drill and copy failures', () => {
    const steps = [
      step({
        step: 'check',
        repository: 'local',
        startedAt: '2026-02-10T03:10:00Z',
        outcome: 'failed',
        error: 'pack damaged',
      }),
      step({ step: 'drill', source: 'db', repository: 'local', startedAt: '2026-02-10T05:00:00Z', outcome: 'failed' }),
      step({ step: 'copy', source: 'db', repository: 'usb', startedAt: '2026-02-10T04:00:00Z', outcome: 'failed' }),
      step({ step: 'copy', source: 'db', repository: 'offsite', startedAt: '2026-02-10T04:00:00Z', outcome: 'ok' }),
    ];
    expect(rules({ steps }).sort()).toEqual(['copy_failed/db/usb', 'drill_failed/db', 'verification_failed/local/']);
    expect(
      rules({ steps: [...steps, step({ step: 'check', repository: 'local', startedAt: '2026-02-10T06:00:00Z' })] }),
    ).not.toContain('verification_failed/local/');
  });

  it('free space: warning under 20 %, critical under 10 %, for repositories and the state directory that report it', () => {
    const out = evaluateRules(
      facts({
        space: [
          { repository: 'full', connected: true, availableBytes: 5, totalBytes: 100 },
          { repository: 'tight', connected: true, availableBytes: 15, totalBytes: 100 },
          { repository: 'fine', connected: true, availableBytes: 50, totalBytes: 100 },
          { repository: 'usb', connected: false },
          { repository: 's3', connected: true },
          { repository: 'state_dir', path: '/var/lib/lifeboat', connected: true, availableBytes: 9, totalBytes: 100 },
        ],
      }),
      settings,
    );
    expect(out.map((c) => [c.key, c.severity])).toEqual([
      ['low_free_space/full', 'critical'],
      ['low_free_space/tight', 'warning'],
      ['low_free_space/state_dir', 'critical'],
    ]);
    expect(out[2]!.message).toBe(
      'the state directory /var/lib/lifeboat has 9.0% free (9 bytes); the critical limit is 10%',
    );
  });

  it('backup slow: a backup job running longer than the limit, and a backup step that took longer', () => {
    const took = (ms: number) =>
      step({ step: 'backup', source: 'db', repository: 'local', startedAt: '2026-02-10T03:00:00Z', durationMs: ms });
    expect(rules({ steps: [took(3_600_000)] })).toEqual([]);
    const out = evaluateRules(facts({ steps: [took(3_720_000)] }), settings);
    expect(out).toEqual([
      expect.objectContaining({
        key: 'backup_slow/nightly/db/local',
        severity: 'warning',
        message: expect.stringContaining('took 1h 2m, longer than the limit of 1h'),
      }),
    ]);
    expect(rules({ running: [{ job: 'nightly', runId: 'r9', startedAt: '2026-02-10T11:30:00Z' }] })).toEqual([]);
    // backups over, the run's check goes on: not a slow backup
    expect(
      rules({
        running: [{ job: 'nightly', runId: 'r9', startedAt: '2026-02-10T10:45:00Z' }],
        steps: [step({ runId: 'r9', step: 'check', repository: 'local', startedAt: '2026-02-10T10:50:00Z' })],
      }),
    ).toEqual([]);
    expect(
      evaluateRules(facts({ running: [{ job: 'nightly', runId: 'r9', startedAt: '2026-02-10T10:45:00Z' }] }), settings),
    ).toEqual([
      expect.objectContaining({
        key: 'backup_slow/running/nightly',
        severity: 'warning',
        message: 'job nightly has been backing up for 1h 15m (since 2026-02-10T10:45:00Z), longer than the limit of 1h',
      }),
    ]);
  });

  it('3-2-1-1-0 violated when copies, media, offsite, immutable or errors checks fail', () => {
    const compliance = [
      { source: 'db', check: 'copies', status: 'fail' as const, reason: '2 copies' },
      { source: 'db', check: 'offsite', status: 'fail' as const, reason: 'no offsite' },
      { source: 'db', check: 'drill', status: 'fail' as const, reason: 'no drill' },
      { source: 'web', check: 'copies', status: 'pass' as const, reason: '3 copies' },
      { source: 'web', check: 'immutable', status: 'fail' as const, reason: 'no immutable or offline copy' },
      { source: 'app', check: 'errors', status: 'fail' as const, reason: 'usb: never verified' },
    ];
    const out = evaluateRules(facts({ compliance }), settings);
    expect(out.map((c) => c.key)).toEqual(['compliance_321/db', 'compliance_321/web', 'compliance_321/app']);
    expect(out[0]!.message).toBe('3-2-1-1-0 violated for db: 2 copies; no offsite');
    expect(out[2]!.message).toBe('3-2-1-1-0 violated for app: usb: never verified');
  });
});
