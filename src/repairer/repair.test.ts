import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backup } from '../archiver/backup.js';
import { BlobType } from '../repository/format/index.js';
import { packObjectName } from '../repository/ids.js';
import { Repository } from '../repository/repository.js';
import { MemoryStorage } from '../storage/drivers/memory/index.js';
import { repairIndex } from './repair-index.js';
import { repairSnapshots } from './repair-snapshots.js';

/**
 * The repair use cases on a repository in memory: a pack whose header is
 * damaged keeps what a readable index said about it (and is reported when no
 * index did); dry runs write and remove nothing.
 */

const PW = Buffer.from('repair unit test password');
let dir: string;
let src: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-repair-unit-'));
  src = path.join(dir, 'src');
  await mkdir(path.join(src, 'd'), { recursive: true });
  await writeFile(path.join(src, 'd/a.txt'), 'alpha\n'.repeat(300));
  await writeFile(path.join(src, 'b.txt'), 'beta\n'.repeat(200));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function freshRepo(): Promise<{ repo: Repository; objects: Map<string, Buffer> }> {
  const objects = new Map<string, Buffer>();
  const repo = await Repository.init(new MemoryStorage(objects), PW);
  await backup(repo, { paths: [src] });
  return { repo, objects };
}

/** Reopen, as a new process would (nothing loaded). */
async function reopen(objects: Map<string, Buffer>): Promise<Repository> {
  return Repository.open(new MemoryStorage(objects), { kind: 'password', password: PW, source: 'test' });
}

function damageHeader(objects: Map<string, Buffer>, name: string): void {
  const pack = Buffer.from(objects.get(name)!);
  pack[pack.length - 10]! ^= 0xff; // inside the sealed header, just before the trailer
  objects.set(name, pack);
}

const dataPacks = (objects: Map<string, Buffer>) => [...objects.keys()].filter((k) => k.startsWith('data/'));
const indexFiles = (objects: Map<string, Buffer>) => [...objects.keys()].filter((k) => k.startsWith('index/'));

describe('repairIndex', () => {
  it('keeps the old entries of a pack whose header is damaged, and replaces the old index files', async () => {
    const { repo, objects } = await freshRepo();
    await repo.close();
    const victim = dataPacks(objects)[0]!;
    damageHeader(objects, victim);
    const before = indexFiles(objects);
    const r = await reopen(objects);
    try {
      const report = await repairIndex(r);
      expect(report.fromOldIndex).toEqual([victim.slice(victim.lastIndexOf('/') + 1)]);
      expect(report.unreadable).toEqual([]);
      expect(report.packsIndexed).toBe(dataPacks(objects).length);
      expect(report.removed.sort()).toEqual(before.sort());
      expect(indexFiles(objects)).toEqual(report.written);
    } finally {
      await r.close();
    }
  });

  it('reports a pack with a damaged header that no index describes, and a dry run changes nothing', async () => {
    const { repo, objects } = await freshRepo();
    await repo.close();
    for (const name of indexFiles(objects)) objects.delete(name);
    const victim = dataPacks(objects)[0]!;
    damageHeader(objects, victim);
    const r = await reopen(objects);
    try {
      const names = [...objects.keys()].sort();
      const dry = await repairIndex(r, { dryRun: true });
      expect(dry.unreadable.map((u) => u.pack)).toEqual([victim.slice(victim.lastIndexOf('/') + 1)]);
      expect(dry.written).toEqual([]);
      expect([...objects.keys()].filter((k) => !k.startsWith('locks/')).sort()).toEqual(names);
    } finally {
      await r.close();
    }
  });
});

describe('repairSnapshots', () => {
  it('finds nothing to repair in an intact repository', async () => {
    const { repo } = await freshRepo();
    try {
      const report = await repairSnapshots(repo);
      expect(report).toMatchObject({ examined: 1, repaired: [], unrepairable: [] });
    } finally {
      await repo.close();
    }
  });

  it('drops the files of a lost data pack; a dry run writes nothing', async () => {
    const { repo, objects } = await freshRepo();
    await repo.close();
    // Lose every pack of file content (the tree packs stay).
    const r0 = await reopen(objects);
    await r0.loadIndex();
    const contentPacks = new Set([...r0.index.entries()].filter((e) => e.type === BlobType.Data).map((e) => e.packId));
    await r0.close();
    for (const id of contentPacks) objects.delete(packObjectName(id));
    const r = await reopen(objects);
    try {
      const snapshotsBefore = [...objects.keys()].filter((k) => k.startsWith('snapshots/'));
      const dry = await repairSnapshots(r, { dryRun: true });
      expect(dry.repaired).toHaveLength(1);
      expect(dry.repaired[0]!.dropped.map((d) => d.path).sort()).toEqual(
        [path.join(src, 'b.txt'), path.join(src, 'd/a.txt')].sort(),
      );
      expect([...objects.keys()].filter((k) => k.startsWith('snapshots/'))).toEqual(snapshotsBefore);
    } finally {
      await r.close();
    }
  });
});
