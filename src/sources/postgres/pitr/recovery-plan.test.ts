import { describe, expect, it } from 'vitest';
import type { SnapshotEntry } from '../../../repository/format/index.js';
import { catalogFrom, type ArchivedFile, type BaseBackupRecord } from './catalog.js';
import { planRecovery } from './recovery-plan.js';
import { planWalPrune } from './wal-prune.js';
import { walGaps } from './wal-check.js';
import { parseHistory, segmentName, type TimelineSwitch } from './wal-names.js';

const SEG = 16 * 1024 * 1024;
const T0 = Date.parse('2026-12-01T00:00:00Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();

function snapshot(id: string, source: string, pitr: unknown, minutes: number): SnapshotEntry {
  return {
    id,
    version: 1,
    time: at(minutes),
    host: 'h',
    username: 'u',
    paths: [],
    source,
    tags: [],
    tree: '00',
    summary: {} as SnapshotEntry['summary'],
    program: 't',
    metadata: { pitr },
  };
}

function base(id: string, tli: number, startSeg: number, stopSeg: number, minutes: number): SnapshotEntry {
  const rec: BaseBackupRecord = {
    kind: 'base',
    format: 1,
    source: 'db',
    startLsn: `0/${(startSeg * SEG + 40).toString(16).toUpperCase()}`,
    stopLsn: `0/${(stopSeg * SEG + 256).toString(16).toUpperCase()}`,
    timeline: tli,
    startWal: segmentName(tli, BigInt(startSeg), SEG),
    stopWal: segmentName(tli, BigInt(stopSeg), SEG),
    startTime: at(minutes - 1),
    stopTime: at(minutes),
    serverVersion: '15',
    serverVersionNum: 150000,
    systemIdentifier: '1',
    dataChecksums: false,
    walSegmentSize: SEG,
    tarBytes: 1,
    tarSha256: 'x',
  };
  return snapshot(id, 'db:pitr-base', rec, minutes);
}

/** One WAL snapshot per segment; segment n holds transactions ending at minute n. */
function wal(tli: number, segs: number[], extra: Partial<ArchivedFile> = {}): SnapshotEntry[] {
  return segs.map((n) => {
    const f: ArchivedFile = {
      name: segmentName(tli, BigInt(n), SEG),
      size: SEG,
      sha256: 'h',
      archivedAt: at(n + 0.5),
      summarized: true,
      firstXactEnd: at(n - 0.9),
      lastXactEnd: at(n),
      ...extra,
    };
    return snapshot(`w${tli}-${n}`, 'db:pitr-wal', { kind: 'wal', format: 1, source: 'db', files: [f] }, n + 0.5);
  });
}

const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

describe('planRecovery', () => {
  const snaps = [base('b1', 1, 2, 3, 3.2), base('b2', 1, 10, 10, 10.2), ...wal(1, range(2, 20))];
  const cat = catalogFrom('db', snaps);
  const none = new Map<number, TimelineSwitch[]>();

  it('picks the newest base backup that ended before the target and needs WAL up to the first transaction past it', () => {
    const p = planRecovery(cat, none, { kind: 'time', time: new Date(at(7.5)) });
    expect(p.base.snapshot.id).toBe('b1');
    expect(p.files[0]).toBe(segmentName(1, 2n, SEG));
    expect(p.lastSegment).toBe(segmentName(1, 8n, SEG));
    expect(planRecovery(cat, none, { kind: 'time', time: new Date(at(12.5)) }).base.snapshot.id).toBe('b2');
  });

  it('refuses a target before the oldest base backup ended, and a target past the archive', () => {
    expect(() => planRecovery(cat, none, { kind: 'time', time: new Date(at(3)) })).toThrow(
      /before the end of the oldest base backup/,
    );
    expect(() => planRecovery(cat, none, { kind: 'time', time: new Date(at(25)) })).toThrow(/does not reach/);
  });

  it('refuses to replay across a missing segment, but reaches targets before it', () => {
    const gap = catalogFrom(
      'db',
      snaps.filter((s) => s.id !== 'w1-14'),
    );
    expect(() => planRecovery(gap, none, { kind: 'time', time: new Date(at(16.5)) })).toThrow(
      /00000001000000000000000E is missing/,
    );
    expect(() => planRecovery(gap, none, { kind: 'latest' })).toThrow(/missing/);
    expect(planRecovery(gap, none, { kind: 'time', time: new Date(at(12.5)) }).lastSegment).toBe(
      segmentName(1, 13n, SEG),
    );
    expect(walGaps(gap, none).gaps).toEqual([{ timeline: 1, missing: [segmentName(1, 14n, SEG)] }]);
    expect(walGaps(cat, none).gaps).toEqual([]);
  });

  it('follows an archived timeline switch: segments from the switch on come from the new timeline', () => {
    const history = parseHistory(
      `1\t0/${(12 * SEG + 100).toString(16).toUpperCase()}\tbefore 2026-12-01 00:12:00+00\n`,
    );
    const snaps2 = [
      ...snaps.filter((s) => !/^w1-(1[2-9]|20)$/.test(s.id)),
      ...wal(2, range(12, 15)),
      snapshot(
        'h2',
        'db:pitr-wal',
        {
          kind: 'wal',
          format: 1,
          source: 'db',
          files: [{ name: '00000002.history', size: 1, sha256: 'h', archivedAt: at(12) }],
        },
        12,
      ),
    ];
    const cat2 = catalogFrom('db', snaps2);
    const p = planRecovery(cat2, new Map([[2, history]]), { kind: 'latest' });
    expect(p.timeline).toBe(2);
    expect(p.files).toContain('00000002.history');
    expect(p.files).toContain(segmentName(1, 11n, SEG));
    expect(p.files).toContain(segmentName(2, 12n, SEG));
    expect(p.lastSegment).toBe(segmentName(2, 15n, SEG));
    expect(walGaps(cat2, new Map([[2, history]])).gaps).toEqual([]);
  });

  it('stops at the segment holding a restore point or an LSN', () => {
    const named = catalogFrom('db', [
      ...snaps.filter((s) => s.id !== 'w1-9'),
      ...wal(1, [9], { restorePoints: ['before-migration'] }),
    ]);
    expect(planRecovery(named, none, { kind: 'name', name: 'before-migration' }).lastSegment).toBe(
      segmentName(1, 9n, SEG),
    );
    expect(planRecovery(cat, none, { kind: 'lsn', lsn: 6n * BigInt(SEG) + 5n }).lastSegment).toBe(
      segmentName(1, 6n, SEG),
    );
  });
});

describe('partial segments (stream mode)', () => {
  const partial = (n: number, minutes: number, id: string): SnapshotEntry => {
    const f: ArchivedFile = {
      name: `${segmentName(1, BigInt(n), SEG)}.partial`,
      size: SEG,
      sha256: id,
      archivedAt: at(minutes),
      summarized: true,
      lastXactEnd: at(minutes - 0.1),
    };
    return snapshot(id, 'db:pitr-wal', { kind: 'wal', format: 1, source: 'db', files: [f] }, minutes);
  };
  const snaps = [base('b1', 1, 2, 3, 3.2), ...wal(1, range(2, 9)), partial(10, 10.2, 'p1'), partial(10, 10.4, 'p2')];
  const none = new Map<number, TimelineSwitch[]>();

  it('the newest partial copy stands for its segment while the complete segment is absent', () => {
    const cat = catalogFrom('db', snaps);
    const seg = segmentName(1, 10n, SEG);
    expect(cat.files.get(seg)).toMatchObject({ name: `${seg}.partial`, snapshot: 'p2' });
    const p = planRecovery(cat, none, { kind: 'time', time: new Date(at(10.25)) });
    expect(p.lastSegment).toBe(seg);
    expect(walGaps(cat, none).gaps).toEqual([]);
    // Past what the newest partial holds, the archive does not reach.
    expect(() => planRecovery(cat, none, { kind: 'time', time: new Date(at(10.35)) })).toThrow(/does not reach/);
    const complete = catalogFrom('db', [...snaps, ...wal(1, [10])]);
    expect(complete.files.get(seg)).toMatchObject({ name: seg, snapshot: 'w1-10' });
  });

  it('superseded partial copies are pruned at once; the newest stays until the complete segment is archived', () => {
    const now = new Date(at(11));
    const week = 7 * 86400;
    expect(planWalPrune(catalogFrom('db', snaps), week, now).remove.map((s) => s.id)).toEqual(['p1']);
    const complete = catalogFrom('db', [...snaps, ...wal(1, [10])]);
    expect(
      planWalPrune(complete, week, now)
        .remove.map((s) => s.id)
        .sort(),
    ).toEqual(['p1', 'p2']);
  });
});

describe('planWalPrune', () => {
  it('never removes WAL a kept base backup needs, and removes old WAL nobody needs (random scenarios)', () => {
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let round = 0; round < 200; round++) {
      const n = 5 + Math.floor(rand() * 40);
      const segs = range(1, n).filter(() => rand() > 0.05);
      const bases = range(1, n)
        .filter(() => rand() < 0.1)
        .map((s) => base(`b${s}`, 1, s, s, s + 0.2));
      const cat = catalogFrom('db', [...bases, ...wal(1, segs)]);
      const retentionMinutes = Math.floor(rand() * n);
      const now = new Date(T0 + n * 60_000 + 60_000);
      const plan = planWalPrune(cat, retentionMinutes * 60, now);
      const oldestStart = Math.min(...bases.map((b) => Number(b.id.slice(1))));
      for (const s of plan.remove) {
        const seg = Number(s.id.split('-')[1]);
        expect(
          seg < oldestStart || bases.length === 0,
          `round ${round}: segment ${seg} removed though base from ${oldestStart} needs it`,
        ).toBe(true);
        expect(new Date(at(seg + 0.5)).getTime()).toBeLessThan(now.getTime() - retentionMinutes * 60_000);
      }
      for (const s of plan.keep) {
        const seg = Number(s.id.split('-')[1]);
        const old = new Date(at(seg + 0.5)).getTime() < now.getTime() - retentionMinutes * 60_000;
        if (old)
          expect(seg >= oldestStart && bases.length > 0, `round ${round}: old unneeded segment ${seg} kept`).toBe(true);
      }
    }
  });
});
