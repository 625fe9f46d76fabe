import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backup } from '../archiver/backup.js';
import { ErrorCode } from '../errors/index.js';
import { Repository } from '../repository/repository.js';
import { hasTombstone } from '../repository/tombstone.js';
import { MemoryStorage } from '../storage/drivers/memory/index.js';
import { readAudit } from './audit.js';
import { applyTagChange, retag } from './retag.js';

/** Tag changes: the arithmetic of add/remove/set, and the replacement of a snapshot in a repository in memory. */
describe('applyTagChange', () => {
  it('adds, removes and sets, keeping tags sorted and unique', () => {
    expect(applyTagChange(['b', 'a'], { add: ['c', 'a'] })).toEqual(['a', 'b', 'c']);
    expect(applyTagChange(['a', 'b'], { remove: ['a', 'x'] })).toEqual(['b']);
    expect(applyTagChange(['a', 'b'], { add: ['c'], remove: ['b'] })).toEqual(['a', 'c']);
    expect(applyTagChange(['a'], { set: ['z', 'y', 'z'] })).toEqual(['y', 'z']);
    expect(applyTagChange(['a'], { set: [] })).toEqual([]);
  });

  it('refuses --set with --add, no change at all, and malformed tags', () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        return (err as { code?: string }).code;
      }
      return 'no error';
    };
    expect(code(() => applyTagChange([], { set: ['a'], add: ['b'] }))).toBe(ErrorCode.Usage);
    expect(code(() => applyTagChange([], {}))).toBe(ErrorCode.Usage);
    expect(code(() => applyTagChange([], { add: ['a,b'] }))).toBe(ErrorCode.Usage);
    expect(code(() => applyTagChange([], { add: [' padded'] }))).toBe(ErrorCode.Usage);
    expect(code(() => applyTagChange([], { add: ['bell\x07'] }))).toBe(ErrorCode.Usage);
  });
});

describe('retag', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-retag-unit-'));
    await mkdir(path.join(dir, 'src'));
    await writeFile(path.join(dir, 'src', 'f.txt'), 'content\n');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('stores the new snapshot, audits and tombstones the old one, and shares its data', async () => {
    const objects = new Map<string, Buffer>();
    const repo = await Repository.init(new MemoryStorage(objects), Buffer.from('retag unit test password'));
    try {
      const { snapshot } = await backup(repo, { paths: [path.join(dir, 'src')], tags: ['nightly'] });
      const packsBefore = [...objects.keys()].filter((k) => k.startsWith('data/')).sort();
      const [old] = (await repo.listSnapshots()).snapshots;
      const result = await retag(repo, [old!], { add: ['keep'] });
      expect(result.changed).toEqual([
        {
          snapshot: snapshot.id,
          tagsBefore: ['nightly'],
          tagsAfter: ['keep', 'nightly'],
          replacedBy: expect.any(String),
        },
      ]);
      const [now] = (await repo.listSnapshots()).snapshots;
      expect(now).toMatchObject({ id: result.changed[0]!.replacedBy, tags: ['keep', 'nightly'], original: old!.id });
      expect({ ...now, id: old!.id, tags: old!.tags, original: undefined }).toEqual({ ...old, original: undefined });
      expect(await hasTombstone(repo, old!.id)).toBe(true);
      expect((await readAudit(repo)).map((a) => a.type)).toEqual(['tag']);
      expect([...objects.keys()].filter((k) => k.startsWith('data/')).sort()).toEqual(packsBefore);
      expect([...objects.keys()].filter((k) => k.startsWith('locks/'))).toEqual([]);

      // Asking for what is already there writes nothing.
      const same = await retag(repo, [now!], { set: ['keep', 'nightly'] });
      expect(same).toEqual({ changed: [], unchanged: [expect.objectContaining({ snapshot: now!.id })] });
      // A snapshot that has gone since it was chosen: not_found, nothing written.
      await expect(retag(repo, [old!], { add: ['x'] })).rejects.toMatchObject({ code: ErrorCode.NotFound });
      expect((await repo.listSnapshots()).snapshots.map((s) => s.id)).toEqual([now!.id]);
    } finally {
      await repo.close();
    }
  });
});
