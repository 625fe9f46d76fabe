import { describe, expect, it } from 'vitest';
import type { SnapshotEntry } from '../repository/format/index.js';
import { copiedFromOf, copiedFromRecord, HeldSnapshots, latestOfSeriesBefore } from './lineage.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const C = 'c'.repeat(64);

function snap(id: string, extra: Partial<SnapshotEntry> = {}): SnapshotEntry {
  return {
    version: 1,
    id,
    time: '2026-01-01T00:00:00.000Z',
    host: 'web-1',
    username: 'root',
    paths: ['/srv'],
    tags: [],
    tree: '0'.repeat(64),
    summary: {
      files: 0,
      dirs: 0,
      bytes: 0,
      filesRead: 0,
      addedBytes: 0,
      addedStoredBytes: 0,
      durationMs: 0,
      errors: 0,
    },
    program: 'lifeboat test',
    metadata: {},
    ...extra,
  };
}

/** A copy of `s` (held by `from`) as it is saved in another repository. */
const copyOf = (s: SnapshotEntry, from: string, id: string) =>
  snap(id, { time: s.time, metadata: { ...s.metadata, copiedFrom: copiedFromRecord(s, from) } });

describe('which snapshots a repository already holds', () => {
  const original = snap('1'.repeat(64), { time: '2026-01-01T01:00:00.000Z' });
  const inB = copyOf(original, A, '2'.repeat(64));
  const inC = copyOf(inB, B, '3'.repeat(64));

  it('records the snapshot it came from and the original of the chain', () => {
    expect(copiedFromOf(inB)).toEqual({
      repository: A,
      snapshot: original.id,
      origin: { repository: A, snapshot: original.id },
    });
    expect(copiedFromOf(inC)).toEqual({
      repository: B,
      snapshot: inB.id,
      origin: { repository: A, snapshot: original.id },
    });
    expect(copiedFromOf(original)).toBeUndefined();
    expect(copiedFromOf(snap('x', { metadata: { copiedFrom: { repository: 1 } } }))).toBeUndefined();
  });

  it('finds a copy, a copy of a copy, and the original when copying back', () => {
    expect(new HeldSnapshots(B, [inB]).find(original, A)?.id).toBe(inB.id);
    expect(new HeldSnapshots(C, [inC]).find(original, A)?.id).toBe(inC.id);
    expect(new HeldSnapshots(C, [inC]).find(inB, B)?.id).toBe(inC.id);
    expect(new HeldSnapshots(A, [original]).find(inC, C)?.id).toBe(original.id);
    expect(new HeldSnapshots(B, [inB]).find(inC, C)?.id).toBe(inB.id);
  });

  it('treats equal time, host, source, paths and tags as the same backup, and anything else as missing', () => {
    const twin = snap('4'.repeat(64), { time: original.time, tags: [] });
    expect(new HeldSnapshots(B, [twin]).find(original, A)?.id).toBe(twin.id);
    for (const other of [
      { time: '2026-01-01T01:00:00.001Z' },
      { host: 'web-2' },
      { source: 'db' },
      { paths: ['/srv', '/etc'] },
      { tags: ['x'] },
    ]) {
      expect(
        new HeldSnapshots(B, [snap('5'.repeat(64), { time: original.time, ...other })]).find(original, A),
      ).toBeUndefined();
    }
    expect(new HeldSnapshots(B, []).find(original, A)).toBeUndefined();
  });

  it('names the newest earlier snapshot of the same series', () => {
    const older = snap('6'.repeat(64), { time: '2026-01-01T00:30:00.000Z' });
    const newer = snap('7'.repeat(64), { time: '2026-01-01T00:40:00.000Z' });
    const otherHost = snap('8'.repeat(64), { time: '2026-01-01T00:50:00.000Z', host: 'web-2' });
    const later = snap('9'.repeat(64), { time: '2026-01-01T02:00:00.000Z' });
    expect(latestOfSeriesBefore(original, [older, newer, otherHost, later])?.id).toBe(newer.id);
    expect(latestOfSeriesBefore(original, [older, newer, otherHost, later], (s) => s !== newer)?.id).toBe(older.id);
  });

  it('finds a direct copy only: not a copy of a copy, not an equal backup', () => {
    const direct = snap('6'.repeat(64), { metadata: { copiedFrom: copiedFromRecord(original, A) } });
    expect(new HeldSnapshots(B, [direct]).directCopyOf(original, A)?.id).toBe(direct.id);
    const viaC = snap('7'.repeat(64), {
      metadata: {
        copiedFrom: { repository: C, snapshot: '8'.repeat(64), origin: { repository: A, snapshot: original.id } },
      },
    });
    const equal = snap('9'.repeat(64), { time: original.time });
    const held = new HeldSnapshots(B, [viaC, equal]);
    expect(held.find(original, A)).toBeDefined();
    expect(held.directCopyOf(original, A)).toBeUndefined();
  });
});
