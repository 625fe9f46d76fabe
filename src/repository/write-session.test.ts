import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStorage } from '../storage/drivers/memory/index.js';
import { BlobType, type BlobId } from './format/index.js';
import { open } from './crypto/index.js';
import { decodeIndexFile } from './format/index.js';
import { Repository } from './repository.js';
import type { BlobWriter } from './write-session.js';

/** The smallest pack size a config allows: a few blobs of 2 KiB fill a pack. */
const PACK_SIZE = 4096;

let objects: Map<string, Buffer>;
let repo: Repository;

beforeAll(async () => {
  objects = new Map();
  repo = await Repository.init(new MemoryStorage(objects), Buffer.from('write-session-test-password'), {
    packSize: PACK_SIZE,
  });
}, 60_000);

afterAll(async () => {
  await repo.close();
});

/** Save `n` blobs of random (incompressible) content; returns their ids. */
async function saveRandom(writer: BlobWriter, n: number, size = 2048): Promise<BlobId[]> {
  const ids: BlobId[] = [];
  for (let i = 0; i < n; i++) {
    const s = repo.sealOnMain(randomBytes(size));
    expect(await writer.saveBlob(BlobType.Data, s.id, s.sealed, s.rawLength)).toBe(true);
    ids.push(s.id);
  }
  return ids;
}

/** The packs named by the index files in storage, and the pack objects storage holds. */
function stored(): { indexed: Set<string>; packs: Set<string>; indexFiles: number } {
  const indexed = new Set<string>();
  let indexFiles = 0;
  for (const [name, sealed] of objects) {
    if (!name.startsWith('index/')) continue;
    indexFiles++;
    for (const p of decodeIndexFile(open(repo.keys.encryption, 'index', sealed)).packs) indexed.add(p.id);
  }
  const packs = new Set(
    [...objects.keys()].filter((n) => n.startsWith('data/')).map((n) => n.slice(n.lastIndexOf('/') + 1)),
  );
  return { indexed, packs, indexFiles };
}

/** What a new process would find: the index files read from storage alone. */
async function freshView(): Promise<Repository> {
  const view = repo.readingFromStorage();
  await view.loadIndex();
  return view;
}

describe('Repository.withWriter', () => {
  it('indexes every blob saved in the session once it ends, and the blobs read back', async () => {
    const before = stored();
    const contents = [randomBytes(3000), randomBytes(100), Buffer.from('a tree-sized blob')];
    let ids: BlobId[] = [];
    let purpose = '';
    const result = await repo.withWriter('backup', async (writer) => {
      purpose = writer.purpose;
      for (const c of contents) {
        const s = repo.sealOnMain(c);
        await writer.saveBlob(BlobType.Data, s.id, s.sealed, s.rawLength);
        ids.push(s.id);
      }
      // Known now (pending in the session): not queued twice.
      expect(writer.has(ids[0]!)).toBe(true);
      const again = repo.sealOnMain(contents[0]!);
      expect(await writer.saveBlob(BlobType.Data, again.id, again.sealed, again.rawLength)).toBe(false);
      return 'done';
    });
    expect(purpose).toBe('backup');
    expect(result.value).toBe('done');
    expect(result.packs.length).toBeGreaterThan(0);
    expect(result.storedBytes).toBe(result.packs.reduce((n, p) => n + p.size, 0));

    const after = stored();
    for (const p of result.packs) {
      expect(after.packs.has(p.id)).toBe(true);
      expect(after.indexed.has(p.id)).toBe(true);
      expect(before.indexed.has(p.id)).toBe(false);
    }
    const view = await freshView();
    for (const [i, id] of ids.entries()) expect((await view.readBlob(id)).equals(contents[i]!)).toBe(true);
    await view.close();
    ids = [];
  });

  it('stores a tree once and gives its id in hex', async () => {
    const tree = {
      nodes: [{ name: 'f', type: 'file' as const, mode: 0o644, uid: 0, gid: 0, mtimeNs: '0', size: 0, content: [] }],
    };
    const { value } = await repo.withWriter('test', async (writer) => {
      const id = await writer.saveTree(tree);
      expect(writer.has(repo.blobIdOf(repo.encodeTree(tree)))).toBe(true);
      expect(await writer.saveTree(tree)).toBe(id);
      return id;
    });
    expect(value).toBe(repo.blobIdOf(repo.encodeTree(tree)).toString('hex'));
    const view = await freshView();
    expect((await view.loadTree(value)).nodes.map((n) => n.name)).toEqual(['f']);
    await view.close();
  });

  it('on a failure inside the work, indexes the packs already durable and nothing else', async () => {
    const before = stored();
    let saved: BlobId[] = [];
    const boom = new Error('the work failed');
    await expect(
      repo.withWriter('backup', async (writer) => {
        // 2 KiB blobs in 4 KiB packs: several packs are durable, the last blob waits in an open pack.
        saved = await saveRandom(writer, 7);
        throw boom;
      }),
    ).rejects.toBe(boom);

    const after = stored();
    const newPacks = [...after.packs].filter((p) => !before.packs.has(p));
    expect(newPacks.length).toBeGreaterThan(0);
    // Nothing uploaded is orphaned, and no index file names a pack that storage lacks.
    for (const p of newPacks) expect(after.indexed.has(p)).toBe(true);
    for (const p of after.indexed) expect(after.packs.has(p)).toBe(true);
    const view = await freshView();
    const found = saved.filter((id) => view.locate(id) !== undefined);
    // The blobs of durable packs are found; the one in the pack never closed is not (it was not stored).
    expect(found.length).toBeGreaterThan(0);
    expect(found.length).toBeLessThan(saved.length);
    for (const id of found) expect((await view.readBlob(id)).length).toBe(2048);
    await view.close();
  });

  it('writes an index file every `indexEvery` durable packs while the work runs', async () => {
    const before = stored().indexFiles;
    let during = 0;
    await repo.withWriter(
      'copy',
      async (writer) => {
        await saveRandom(writer, 13); // six full packs, and one blob left in an open pack for `flush`
        await new Promise((r) => setImmediate(r));
        during = stored().indexFiles - before;
        await writer.flush();
        expect(stored().indexFiles - before).toBeGreaterThan(during);
      },
      { indexEvery: 2 },
    );
    expect(during).toBeGreaterThan(0);
  });

  it('with a lock that was lost, indexes nothing on failure (a sweep may have removed the packs)', async () => {
    const lock = await repo.lock(false, 'write session test');
    const before = stored();
    try {
      await expect(
        repo.withWriter(
          'backup',
          async (writer) => {
            await saveRandom(writer, 5);
            // Another process removed the lock (e.g. as stale): this run no longer provably holds it.
            objects.delete([...objects.keys()].find((n) => n.startsWith('locks/'))!);
            throw new Error('interrupted');
          },
          { lock, indexEvery: Infinity },
        ),
      ).rejects.toThrow('interrupted');
    } finally {
      await lock.release();
    }
    const after = stored();
    const newPacks = [...after.packs].filter((p) => !before.packs.has(p));
    expect(newPacks.length).toBeGreaterThan(0);
    expect(after.indexFiles).toBe(before.indexFiles);
  });

  it('runs two sessions at once, each indexing its own packs', async () => {
    const [a, b] = await Promise.all([
      repo.withWriter('backup', (w) => saveRandom(w, 6)),
      repo.withWriter('copy', (w) => saveRandom(w, 6)),
    ]);
    const packsA = new Set(a.packs.map((p) => p.id));
    for (const p of b.packs) expect(packsA.has(p.id)).toBe(false);
    const view = await freshView();
    for (const id of [...a.value, ...b.value]) expect(view.locate(id)).toBeDefined();
    await view.close();
  });

  it('with a private index, stores blobs the repository holds again and leaves its index alone (repack)', async () => {
    const { value: ids } = await repo.withWriter('backup', (w) => saveRandom(w, 2));
    const packCount = repo.index.packCount;
    const { packs } = await repo.withWriter(
      'repack',
      async (writer) => {
        for (const id of ids) {
          const loc = repo.locate(id)!;
          const sealed = await repo.readPackRange(loc.packId, loc.offset, loc.length, loc.type);
          expect(writer.has(id)).toBe(false);
          expect(await writer.saveBlob(loc.type, id, Buffer.from(sealed), loc.rawLength)).toBe(true);
        }
      },
      { privateIndex: true, indexEvery: Infinity },
    );
    expect(packs.length).toBeGreaterThan(0);
    expect(repo.index.packCount).toBe(packCount);
    const indexed = stored().indexed;
    for (const p of packs) expect(indexed.has(p.id)).toBe(true);
  });
});
