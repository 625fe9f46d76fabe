import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../errors/index.js';
import { expectThrowsCode } from '../repository/testing/helpers.js';
import { parseDrillReport, type DrillReport } from './report.js';

/** Stored drill reports are validated before the list, the API and the dashboard read them. */
describe('parseDrillReport', () => {
  const report: DrillReport = {
    format: 1,
    id: '20261207T010000-abcd1234',
    verdict: 'PASS',
    reasons: [],
    source: { name: 'app-db', type: 'sqlite' },
    snapshot: {
      id: 'ab'.repeat(32),
      time: '2026-12-01T00:00:00.000Z',
      host: 'h',
      files: 1,
      bytes: 2,
      selectedBy: 'latest',
      candidates: 1,
      seed: 3,
      within: null,
    },
    repository: 'r',
    restoredTo: null,
    mode: 'm',
    checks: [{ name: 'restore', ok: true, expected: 'a', actual: 'a' }],
    rto: { measuredSeconds: 1, targetSeconds: null, ok: null, basis: 'b' },
    rpo: { measuredSeconds: null, targetSeconds: 3600, ok: null, basis: 'not measured' },
    smoke: null,
    cleanup: { ok: true },
    startedAt: '2026-12-07T01:00:00.000Z',
    finishedAt: '2026-12-07T01:00:01.000Z',
    host: 'h',
    user: 'u',
    tool: 'lifeboat test',
    job: null,
  };
  const bytes = (v: unknown) => Buffer.from(JSON.stringify(v));

  it('reads a valid report, with or without freshness, and keeps unknown fields', () => {
    expect(parseDrillReport(bytes(report), 'drill/x')).toEqual(report);
    const withMore = {
      ...report,
      freshness: { newestSnapshot: null, ageSeconds: null, targetSeconds: null, ok: null },
      extra: 1,
    };
    expect(parseDrillReport(bytes(withMore), 'drill/x')).toEqual(withMore);
  });

  it('refuses a malformed one as corrupt, naming the object and the field', () => {
    for (const [bad, field] of [
      [{ ...report, rpo: null }, 'rpo'],
      [{ ...report, checks: [{ name: 'x' }] }, 'checks.0.ok'],
      [{ ...report, verdict: 'MAYBE' }, 'verdict'],
      [{ ...report, snapshot: null }, 'snapshot'],
      [null, '(top)'],
    ] as const) {
      const err = expectThrowsCode(() => parseDrillReport(bytes(bad), 'drill/x'), ErrorCode.Corrupt);
      expect(err.message).toContain('drill/x');
      expect(err.message).toContain(field);
    }
  });
});
