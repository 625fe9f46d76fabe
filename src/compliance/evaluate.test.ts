import { describe, expect, it } from 'vitest';
import type { LifeboatConfig } from '../config/schema.js';
import { evaluateCompliance, isCompleteCopy, type RepositoryView } from './evaluate.js';

const NOW = new Date('2026-11-22T12:00:00Z');
const hoursAgo = (h: number) => new Date(NOW.getTime() - h * 3_600_000).toISOString();

const config: LifeboatConfig = {
  version: 1,
  repositories: {
    local: { url: '/var/backup', media: 'disk', location: 'onsite' },
    usb: { url: '/mnt/usb', media: 'usb', location: 'offsite', require_mount: true },
    offsite: { url: 's3://b/p', media: 'object', location: 'offsite', retention: { keep_daily: 30, max_age: '1y' } },
  },
  sources: { db: { type: 'sqlite', path: '/var/lib/app.db', rpo: '24h' } },
};

const view = (name: string, times: number[], reachable = true): RepositoryView => ({
  name,
  reachable,
  snapshots: times.map((h, i) => ({ id: `${name}${i}`, time: hoursAgo(h), source: 'db' })),
});
const drilled = new Map([['db', { time: hoursAgo(24 * 10), passed: true }]]);
const statusOf = (checks: ReturnType<typeof evaluateCompliance>) =>
  Object.fromEntries(checks.map((c) => [c.check, c.status]));

describe('compliance', () => {
  it('passes with fresh copies on two media, one offsite, within max_age and a recent drill', () => {
    const checks = evaluateCompliance(
      config,
      [view('local', [2]), view('usb', [20]), view('offsite', [5])],
      drilled,
      NOW,
    );
    expect(statusOf(checks)).toEqual({
      copies: 'pass',
      media: 'pass',
      offsite: 'pass',
      encryption: 'pass',
      max_age: 'pass',
      drill: 'pass',
    });
  });

  it('counts only copies within the RPO and only reachable repositories', () => {
    const checks = evaluateCompliance(
      config,
      [view('local', [2]), view('usb', [], false), view('offsite', [30])],
      drilled,
      NOW,
    );
    const copies = checks.find((c) => c.check === 'copies')!;
    expect(copies.status).toBe('fail');
    expect(copies.reason).toContain('2 copies');
    expect(copies.reason).toContain('not reachable: usb');
    expect(checks.find((c) => c.check === 'offsite')!.status).toBe('fail');
  });

  it('needs two kinds of media', () => {
    const diskOnly: LifeboatConfig = {
      ...config,
      repositories: { a: { url: '/a', media: 'disk' }, b: { url: '/b', media: 'disk', location: 'offsite' } },
    };
    const checks = evaluateCompliance(diskOnly, [view('a', [1]), view('b', [1])], drilled, NOW);
    expect(statusOf(checks)).toMatchObject({ copies: 'pass', media: 'fail', offsite: 'pass' });
  });

  it('fails max_age when a repository keeps data longer than allowed', () => {
    const checks = evaluateCompliance(
      config,
      [view('local', [2]), view('usb', [3]), view('offsite', [5, 24 * 400])],
      drilled,
      NOW,
    );
    expect(checks.find((c) => c.check === 'max_age')).toMatchObject({
      status: 'fail',
      reason: 'offsite: 1 snapshot(s) older than 1y',
    });
  });

  it('reports a missing, failed or stale drill', () => {
    const repos = [view('local', [2]), view('usb', [3]), view('offsite', [5])];
    expect(evaluateCompliance(config, repos, new Map(), NOW).find((c) => c.check === 'drill')).toMatchObject({
      status: 'fail',
      reason: 'missing: no restore drill recorded',
    });
    expect(
      evaluateCompliance(config, repos, new Map([['db', { time: hoursAgo(24), passed: false }]]), NOW).find(
        (c) => c.check === 'drill',
      )!.status,
    ).toBe('fail');
    expect(
      evaluateCompliance(config, repos, new Map([['db', { time: hoursAgo(24 * 36), passed: true }]]), NOW).find(
        (c) => c.check === 'drill',
      )!.status,
    ).toBe('fail');
  });

  it('does not count a snapshot with input errors, or one that holds nothing, as a copy', () => {
    const incomplete = (name: string): RepositoryView => ({
      name,
      reachable: true,
      snapshots: [{ id: `${name}0`, time: hoursAgo(1), source: 'db', complete: false }],
    });
    const checks = evaluateCompliance(
      config,
      [view('local', [2]), incomplete('usb'), incomplete('offsite')],
      drilled,
      NOW,
    );
    const copies = checks.find((c) => c.check === 'copies')!;
    expect(copies.status).toBe('fail');
    expect(copies.reason).toContain('2 copies');
    expect(copies.reason).toContain(
      'not counted, its recent snapshots have input errors or hold nothing: usb, offsite',
    );
    expect(checks.find((c) => c.check === 'offsite')!.status).toBe('fail');
  });

  it('tells a complete copy from an empty or partial one', () => {
    const summary = {
      files: 3,
      dirs: 1,
      bytes: 10,
      filesRead: 3,
      addedBytes: 0,
      addedStoredBytes: 0,
      durationMs: 1,
      errors: 0,
    };
    expect(isCompleteCopy({ summary })).toBe(true);
    expect(isCompleteCopy({ summary: { ...summary, errors: 1 } })).toBe(false);
    expect(isCompleteCopy({ summary: { ...summary, files: 0, dirs: 0 } })).toBe(false);
    expect(isCompleteCopy({ summary: { ...summary, files: 0, dirs: 1 } })).toBe(true); // an empty directory backed up
  });
});
