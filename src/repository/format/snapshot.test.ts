import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../errors/index.js';
import {
  matchesFilter,
  parseSnapshot,
  resolveSnapshotRef,
  sortByTime,
  type Snapshot,
  type SnapshotEntry,
} from './snapshot.js';
import { expectThrowsCode } from '../testing/helpers.js';

function snap(id: string, time: string, extra: Partial<Snapshot> = {}): SnapshotEntry {
  return {
    id,
    version: 1,
    time,
    host: 'web1',
    username: 'root',
    paths: ['/srv/app'],
    tags: [],
    tree: 'ee'.repeat(32),
    summary: {
      files: 1,
      dirs: 1,
      bytes: 1,
      filesRead: 1,
      addedBytes: 1,
      addedStoredBytes: 1,
      durationMs: 1,
      errors: 0,
    },
    program: 'lifeboat test',
    metadata: {},
    ...extra,
  };
}

const A = `deadbeef00${'1'.repeat(54)}`;
const B = `deadbeef01${'2'.repeat(54)}`;
const C = `cafebabe00${'3'.repeat(54)}`;
const D = `0123456789${'4'.repeat(54)}`;
const list: SnapshotEntry[] = [
  snap(A, '2024-03-01T10:00:00.000Z', { host: 'web1', tags: ['daily'], source: 'files' }),
  snap(C, '2024-03-03T10:00:00.000Z', {
    host: 'db1',
    tags: ['daily', 'db'],
    source: 'postgres',
    paths: ['/postgres/app.dump'],
  }),
  snap(B, '2024-03-02T10:00:00.000Z', {
    host: 'web1',
    tags: ['weekly'],
    source: 'files',
    paths: ['/srv/app', '/etc/app'],
  }),
  snap(D, '2024-02-01T10:00:00.000Z', { host: 'db1', tags: [], source: 'files' }),
];

describe('resolveSnapshotRef', () => {
  it('latest is the newest snapshot whatever the list order', () => {
    expect(resolveSnapshotRef(list, 'latest').id).toBe(C);
    expect(resolveSnapshotRef([...list].reverse(), 'latest').id).toBe(C);
  });

  it('latest honours filters', () => {
    expect(resolveSnapshotRef(list, 'latest', { host: 'web1' }).id).toBe(B);
    expect(resolveSnapshotRef(list, 'latest', { tags: ['daily'] }).id).toBe(C);
    expect(resolveSnapshotRef(list, 'latest', { tags: ['daily'], host: 'web1' }).id).toBe(A);
    expect(resolveSnapshotRef(list, 'latest', { source: 'files' }).id).toBe(B);
    expect(resolveSnapshotRef(list, 'latest', { paths: ['/srv/app'] }).id).toBe(B);
    expect(resolveSnapshotRef(list, 'latest', { host: 'db1', source: 'files' }).id).toBe(D);
  });

  it('latest with nothing matching → not_found', () => {
    expectThrowsCode(() => resolveSnapshotRef(list, 'latest', { host: 'nowhere' }), ErrorCode.NotFound);
    expectThrowsCode(() => resolveSnapshotRef([], 'latest'), ErrorCode.NotFound);
  });

  it('a full id or a unique prefix of at least 8 hex digits', () => {
    expect(resolveSnapshotRef(list, A).id).toBe(A);
    expect(resolveSnapshotRef(list, 'cafebabe').id).toBe(C);
    expect(resolveSnapshotRef(list, 'deadbeef00').id).toBe(A);
    expect(resolveSnapshotRef(list, 'deadbeef01').id).toBe(B);
    expect(resolveSnapshotRef(list, '01234567').id).toBe(D);
  });

  it('an unknown id or prefix → not_found', () => {
    expectThrowsCode(() => resolveSnapshotRef(list, 'feedface'), ErrorCode.NotFound);
    expectThrowsCode(() => resolveSnapshotRef(list, 'f'.repeat(64)), ErrorCode.NotFound);
  });

  it('an ambiguous prefix → usage', () => {
    const err = expectThrowsCode(() => resolveSnapshotRef(list, 'deadbeef'), ErrorCode.Usage);
    expect(err.message).toContain('2');
    expectThrowsCode(() => resolveSnapshotRef(list, 'deadbeef0'), ErrorCode.Usage);
  });

  it.each([
    ['too short', 'deadbee'],
    ['empty', ''],
    ['upper case', 'DEADBEEF'],
    ['non-hex', 'deadbeeg'],
    ['longer than an id', 'a'.repeat(65)],
    ['with whitespace', ' deadbeef'],
    ['a path', '../deadbeef'],
    ['Latest', 'Latest'],
  ])('a reference that is not an id → usage (%s)', (_name, ref) => {
    expectThrowsCode(() => resolveSnapshotRef(list, ref), ErrorCode.Usage);
  });
});

describe('matchesFilter', () => {
  const s = snap(A, '2024-01-01T00:00:00Z', { host: 'h', source: 'files', tags: ['a', 'b'], paths: ['/x', '/y'] });

  it('an empty filter matches everything', () => {
    expect(matchesFilter(s, {})).toBe(true);
    expect(matchesFilter(s, { tags: [], paths: [] })).toBe(true);
  });

  it('host and source must be equal', () => {
    expect(matchesFilter(s, { host: 'h' })).toBe(true);
    expect(matchesFilter(s, { host: 'H' })).toBe(false);
    expect(matchesFilter(s, { host: 'h2' })).toBe(false);
    expect(matchesFilter(s, { source: 'files' })).toBe(true);
    expect(matchesFilter(s, { source: 'postgres' })).toBe(false);
    expect(matchesFilter(snap(A, 't'), { source: 'files' })).toBe(false);
  });

  it('every requested tag and path must be present', () => {
    expect(matchesFilter(s, { tags: ['a'] })).toBe(true);
    expect(matchesFilter(s, { tags: ['b', 'a'] })).toBe(true);
    expect(matchesFilter(s, { tags: ['a', 'c'] })).toBe(false);
    expect(matchesFilter(s, { paths: ['/y'] })).toBe(true);
    expect(matchesFilter(s, { paths: ['/x', '/z'] })).toBe(false);
    expect(matchesFilter(s, { paths: ['/x/'] })).toBe(false);
  });

  it('all criteria must hold together', () => {
    expect(matchesFilter(s, { host: 'h', source: 'files', tags: ['a'], paths: ['/x'] })).toBe(true);
    expect(matchesFilter(s, { host: 'h', source: 'files', tags: ['a'], paths: ['/nope'] })).toBe(false);
    expect(matchesFilter(s, { host: 'other', tags: ['a'] })).toBe(false);
  });
});

describe('sortByTime', () => {
  it('sorts by time without changing the input', () => {
    const copy = [...list];
    expect(sortByTime(list).map((s) => s.id)).toEqual([D, A, B, C]);
    expect(list).toEqual(copy);
  });
});

describe('parseSnapshot', () => {
  const id = 'ab'.repeat(32);
  const valid = (extra: Record<string, unknown> = {}) => {
    const { id: _id, ...rest } = snap(id, '2024-01-01T00:00:00Z');
    return Buffer.from(JSON.stringify({ ...rest, ...extra }));
  };

  it('parses a valid snapshot and attaches the id', () => {
    const s = parseSnapshot(valid({ tags: ['x'], metadata: { rows: 3 } }), id);
    expect(s.id).toBe(id);
    expect(s.tags).toEqual(['x']);
    expect(s.metadata).toEqual({ rows: 3 });
    expect(s.paths).toEqual(['/srv/app']);
  });

  it('fills in missing tags and metadata', () => {
    const s = parseSnapshot(valid({ tags: undefined, metadata: undefined }), id);
    expect(s.tags).toEqual([]);
    expect(s.metadata).toEqual({});
    expect(parseSnapshot(valid({ tags: 'not-an-array' }), id).tags).toEqual([]);
  });

  it('an authentic object with a field missing, null or of the wrong type → corrupt, naming the field', () => {
    for (const [extra, field] of [
      [{ summary: null }, 'summary'],
      [{ summary: { files: 'many', bytes: 1 } }, 'summary.files'],
      [{ tree: null }, 'tree'],
      [{ tree: 'not-hex' }, 'tree'],
      [{ host: 7 }, 'host'],
      [{ time: 'yesterday' }, 'time'],
      [{ paths: [1] }, 'paths'],
      [{ metadata: 'x' }, 'metadata'],
    ] as const) {
      const err = expectThrowsCode(() => parseSnapshot(valid(extra), id), ErrorCode.Corrupt);
      expect(err.message).toContain(field);
    }
  });

  it('keeps fields it does not know', () => {
    expect((parseSnapshot(valid({ futureField: 1 }), id) as unknown as { futureField: number }).futureField).toBe(1);
  });

  it('invalid JSON → corrupt', () => {
    for (const text of ['', '{', 'not json', '\u0000']) {
      const err = expectThrowsCode(() => parseSnapshot(Buffer.from(text), id), ErrorCode.Corrupt);
      expect(err.message).toContain(id.slice(0, 8));
    }
  });

  it('another version → unsupported_version', () => {
    expectThrowsCode(() => parseSnapshot(valid({ version: 2 }), id), ErrorCode.UnsupportedVersion);
    expectThrowsCode(() => parseSnapshot(valid({ version: '1' }), id), ErrorCode.UnsupportedVersion);
    expectThrowsCode(() => parseSnapshot(valid({ version: undefined }), id), ErrorCode.UnsupportedVersion);
  });

  it('JSON that is not an object is rejected with a typed error', () => {
    for (const text of ['null', '42', '"snapshot"', '[]', 'true']) {
      const err = (() => {
        try {
          parseSnapshot(Buffer.from(text), id);
        } catch (e) {
          return e as { code?: string };
        }
        return undefined;
      })();
      expect([ErrorCode.Corrupt, ErrorCode.UnsupportedVersion]).toContain(err?.code);
    }
  });

  it.each([
    ['no tree', { tree: undefined }],
    ['tree not a string', { tree: 5 }],
    ['no time', { time: undefined }],
    ['time not a string', { time: 1700000000 }],
    ['no paths', { paths: undefined }],
    ['paths not an array', { paths: '/srv' }],
  ])('missing or mistyped fields → corrupt (%s)', (_name, patch) => {
    expectThrowsCode(() => parseSnapshot(valid(patch), id), ErrorCode.Corrupt);
  });
});
