import { describe, expect, it } from 'vitest';
import type { DrillReport } from '../drill/report.js';
import { lastDrills } from './drills.js';

function report(source: string, startedAt: string, verdict: 'PASS' | 'FAIL'): DrillReport {
  return {
    source: { name: source, type: 'sqlite' },
    startedAt,
    verdict,
    reasons: verdict === 'FAIL' ? ['smoke command failed (exit 1)'] : [],
    snapshot: { id: 'f'.repeat(64) },
    rto: { measuredSeconds: 12, targetSeconds: 3600, ok: true, basis: '' },
    rpo: { measuredSeconds: 7200, targetSeconds: 86400, ok: true, basis: 'newest row' },
  } as unknown as DrillReport;
}

describe('lastDrills', () => {
  it('takes the newest drill per source, with measurements from stored reports', () => {
    const drills = lastDrills(
      [
        { repository: 'local', report: report('db', '2026-01-01T00:00:00.000Z', 'FAIL') },
        { repository: 'usb', report: report('db', '2026-01-03T00:00:00.000Z', 'PASS') },
        { repository: 'local', report: report('db', '2026-01-02T00:00:00.000Z', 'FAIL') },
      ],
      new Map([['db', { time: '2026-01-02T12:00:00.000Z', passed: false }]]),
    );
    expect(drills.get('db')).toMatchObject({
      verdict: 'PASS',
      origin: 'repository',
      repository: 'usb',
      rto: { measuredSeconds: 12, targetSeconds: 3600, ok: true },
      rpo: { measuredSeconds: 7200, basis: 'newest row' },
    });
  });

  it('falls back to the local history when it knows a newer drill, or the only one', () => {
    const drills = lastDrills(
      [{ repository: 'local', report: report('db', '2026-01-01T00:00:00.000Z', 'PASS') }],
      new Map([
        ['db', { time: '2026-02-01T00:00:00.000Z', passed: false }],
        ['files', { time: '2026-02-01T00:00:00.000Z', passed: true }],
      ]),
    );
    expect(drills.get('db')).toEqual({
      time: '2026-02-01T00:00:00.000Z',
      verdict: 'FAIL',
      origin: 'history',
      reasons: [],
    });
    expect(drills.get('files')!.verdict).toBe('PASS');
    expect(drills.has('other')).toBe(false);
  });
});
