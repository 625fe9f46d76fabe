import { describe, expect, it } from 'vitest';
import type { LifeboatConfig } from '../config/schema.js';
import { evaluateCompliance, isCompleteCopy, type RepositoryView, type Verification } from './evaluate.js';

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
const verified = (repository: string, hours = 24 * 3, passed = true, kind: Verification['kind'] = 'verify') => ({
  repository,
  source: 'db',
  kind,
  time: hoursAgo(hours),
  passed,
});
const allVerified = [verified('local'), verified('usb', 24 * 20, true, 'drill'), verified('offsite')];
const statusOf = (checks: ReturnType<typeof evaluateCompliance>) =>
  Object.fromEntries(checks.map((c) => [c.check, c.status]));

describe('compliance', () => {
  it('passes with fresh copies on two media, one offsite, within max_age and a recent drill', () => {
    const checks = evaluateCompliance(
      config,
      [view('local', [2]), view('usb', [20]), view('offsite', [5])],
      drilled,
      NOW,
      allVerified,
    );
    expect(statusOf(checks)).toEqual({
      copies: 'pass',
      media: 'pass',
      offsite: 'pass',
      immutable: 'pass',
      errors: 'pass',
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

describe('compliance: 1 immutable or offline copy, 0 errors (3-2-1-1-0)', () => {
  const plain: LifeboatConfig = {
    version: 1,
    repositories: {
      local: { url: '/var/backup', media: 'disk' },
      s3: { url: 's3://b/p', media: 'object', location: 'offsite' },
      locked: { url: 's3://vault/p', media: 'object', object_lock: { mode: 'compliance', days: 400 } },
      server: { url: 'lifeboat+https://backup.example:8443/repo', media: 'object' },
      usb: { url: '/mnt/usb', media: 'usb', require_mount: true },
    },
    sources: { db: { type: 'sqlite', path: '/var/lib/app.db', rpo: '24h' } },
  };
  const check = (name: string, views: RepositoryView[], verifications: Verification[] = []) =>
    evaluateCompliance(plain, views, drilled, NOW, verifications).find((c) => c.check === name)!;

  it('fails when no fresh copy is immutable or offline, naming the three ways', () => {
    const c = check('immutable', [view('local', [2]), view('s3', [3])]);
    expect(c.status).toBe('fail');
    expect(c.reason).toBe(
      'no recent copy is immutable or offline: use object_lock on an S3 repository, an append-only repository server token, or a require_mount drive',
    );
  });

  it('passes with an S3 repository under Object Lock, an append-only server token or a require_mount drive', () => {
    expect(check('immutable', [view('local', [2]), view('locked', [3])]).reason).toBe(
      'immutable or offline: locked (S3 Object Lock, compliance, 400 days)',
    );
    expect(check('immutable', [view('server', [3]), view('usb', [5])])).toMatchObject({
      status: 'pass',
      reason: 'immutable or offline: usb (removable drive, require_mount)',
    });
    const append = { ...view('server', [3]), accessRole: 'append' };
    expect(check('immutable', [append]).reason).toBe(
      'immutable or offline: server (append-only repository server token)',
    );
  });

  it('does not count an immutable repository whose copy is stale or that is unreachable', () => {
    expect(check('immutable', [view('local', [2]), view('locked', [48])]).status).toBe('fail');
    expect(check('immutable', [view('local', [2]), view('usb', [], false)]).status).toBe('fail');
    // An admin token can delete: not immutable.
    expect(check('immutable', [{ ...view('server', [3]), accessRole: 'admin' }]).status).toBe('fail');
  });

  it('errors passes when the newest verify or drill of every fresh copy passed within 35 days', () => {
    const c = check(
      'errors',
      [view('local', [2]), view('s3', [3]), view('usb', [100])],
      [verified('local', 24 * 34), verified('s3', 24 * 2, true, 'drill'), verified('s3', 24 * 20, false)],
    );
    expect(c).toMatchObject({
      status: 'pass',
      reason: 'every copy read back without errors within 35 days: local, s3',
    });
    // A drill records the repository's id, not its configured name.
    const byId = check('errors', [{ ...view('s3', [3]), id: 'c0ffee' }], [verified('c0ffee', 24, true, 'drill')]);
    expect(byId.status).toBe('pass');
  });

  it('errors fails for a copy never verified, one whose newest verify failed, and one verified too long ago', () => {
    const c = check(
      'errors',
      [view('local', [2]), view('s3', [3]), view('locked', [4])],
      [
        verified('s3', 24 * 2, false),
        verified('s3', 24 * 5, true),
        verified('locked', 24 * 40, true, 'drill'),
        { ...verified('local', 24), source: 'other' },
      ],
    );
    expect(c.status).toBe('fail');
    expect(c.reason).toBe(
      `local: never verified (no verify step or drill of this source recorded); s3: last verify ${hoursAgo(48).slice(0, 10)} FAILED; locked: last drill ${hoursAgo(24 * 40).slice(0, 10)} passed 40 days ago; at most 35`,
    );
  });

  it('errors fails when there is no fresh copy to verify', () => {
    expect(check('errors', [view('local', [48])])).toMatchObject({
      status: 'fail',
      reason: 'no recent copy to verify',
    });
  });
});
