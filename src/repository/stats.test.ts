import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backup } from '../archiver/backup.js';
import { MemoryStorage } from '../storage/drivers/memory/index.js';
import { blobIdFromHex } from './format/index.js';
import { Repository } from './repository.js';
import { walkTree } from './snapshot-tree/index.js';
import { repositoryStats } from './stats.js';

/** The stats figures over data whose sizes and duplicates are known, in a repository in memory. */
describe('repositoryStats', () => {
  let dir: string;
  const A = randomBytes(100_000);
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-stats-unit-'));
    await mkdir(path.join(dir, 'x', 'sub'), { recursive: true });
    await mkdir(path.join(dir, 'y'), { recursive: true });
    await writeFile(path.join(dir, 'x', 'a'), A);
    await writeFile(path.join(dir, 'x', 'sub', 'a-again'), A);
    await writeFile(path.join(dir, 'y', 'zeros'), Buffer.alloc(300_000));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('raw counts every file, unique each blob once; per source, per snapshot and together', async () => {
    const objects = new Map<string, Buffer>();
    const repo = await Repository.init(new MemoryStorage(objects), Buffer.from('stats unit test password'));
    try {
      await backup(repo, { paths: [path.join(dir, 'x')], source: 'x' });
      await backup(repo, { paths: [path.join(dir, 'y')], source: 'y' });
      const { snapshots } = await repo.listSnapshots();
      const progress: number[] = [];
      const s = await repositoryStats(repo, snapshots, { onProgress: (p) => progress.push(p.snapshotsDone) });
      expect(progress).toEqual([1, 2]);
      const x = s.sources.find((g) => g.source === 'x')!;
      expect(x).toMatchObject({ snapshots: 1, files: 2, rawBytes: 200_000, uniqueBytes: 100_000, dedupRatio: 2 });
      expect(x.compressionRatio).toBeLessThan(1.01); // random bytes do not compress
      const y = s.sources.find((g) => g.source === 'y')!;
      expect(y).toMatchObject({ files: 1, rawBytes: 300_000 });
      expect(y.compressionRatio).toBeGreaterThan(10); // zeros do
      expect(s.selection).toMatchObject({ snapshots: 2, files: 3, rawBytes: 500_000, missingBlobs: 0 });
      expect(s.selection.uniqueBytes).toBe(x.uniqueBytes + y.uniqueBytes);
      expect(s.snapshots.map((n) => n.source)).toEqual(['x', 'y']);
      // The data area is every pack, byte for byte.
      const packs = [...objects.entries()].filter(([k]) => k.startsWith('data/'));
      expect(s.repository.areas.data).toEqual({
        objects: packs.length,
        bytes: packs.reduce((n, [, v]) => n + v.length, 0),
      });
      expect(s.repository.totalBytes).toBe([...objects.values()].reduce((n, v) => n + v.length, 0));

      // A blob no index names counts in no byte figure and is counted as missing (trees stay loaded).
      const only = await repositoryStats(repo, [snapshots[0]!]);
      let content: string | undefined;
      for await (const { node } of walkTree(repo, snapshots[0]!.tree, '/')) content ??= node.content?.[0];
      repo.index.excludePacks([repo.locate(blobIdFromHex(content!))!.packId]);
      const lost = await repositoryStats(repo, [snapshots[0]!]);
      expect(lost.selection.missingBlobs).toBeGreaterThan(0);
      expect(lost.selection.uniqueBytes).toBeLessThan(only.selection.uniqueBytes);
    } finally {
      await repo.close();
    }
  });
});
