import { describe, expect, it } from 'vitest';
import { MemoryStorage } from '../../storage/drivers/memory/index.js';
import { FaultyStorage } from '../../storage/middleware/index.js';
import { BlobType, type IndexFile } from '../format/index.js';
import { IndexFiles } from './index-files.js';
import { MasterIndex } from './master-index.js';

const id = (n: number) => Buffer.alloc(32, n);
const packId = (c: string) => c.repeat(64);
/** An index file naming `packs` (pack letter → blob numbers), stored as JSON: the loading is what is tested here. */
const file = (packs: Record<string, number[]>) =>
  Buffer.from(JSON.stringify(Object.entries(packs).map(([p, blobs]) => ({ id: packId(p), blobs }))));
const parse = (bytes: Buffer): IndexFile => ({
  supersedes: [],
  packs: (JSON.parse(bytes.toString()) as Array<{ id: string; blobs: number[] }>).map((p) => ({
    id: p.id,
    size: 100,
    blobs: p.blobs.map((n, i) => ({ type: BlobType.Data, id: id(n), offset: i * 10, length: 10, rawLength: 10 })),
  })),
});

async function setup() {
  const inner = new MemoryStorage();
  const storage = new FaultyStorage(inner);
  const index = new MasterIndex();
  const reads: string[] = [];
  const files = new IndexFiles(
    storage,
    async (name) => {
      reads.push(name);
      return parse(await storage.get(name));
    },
    index,
  );
  return { inner, storage, index, files, reads };
}

describe('IndexFiles', () => {
  it('reads only new files, and sets aside the packs that only removed files named', async () => {
    const { inner, index, files, reads } = await setup();
    await inner.put('index/1', file({ a: [1, 2], b: [3] }));
    await inner.put('index/2', file({ c: [4] }));
    await files.load();
    expect(index.lookup(id(1))?.packId).toBe(packId('a'));

    // A sweep: the consolidated file names `b` and the repacked blob 1 in `d`; then the old files go.
    await inner.put('index/3', file({ b: [3], c: [4], d: [1] }));
    await inner.remove('index/1');
    await inner.remove('index/2');
    reads.length = 0;
    await files.load();
    expect(reads).toEqual(['index/3']);
    expect(index.isExcluded(packId('a'))).toBe(true);
    expect(index.isExcluded(packId('b'))).toBe(false);
    expect(index.lookup(id(1))?.packId).toBe(packId('d'));
    expect(index.lookup(id(2))).toBeUndefined();
    expect(index.lookup(id(3))?.packId).toBe(packId('b'));
  });

  it('lists again when a listed file vanishes before it is read', async () => {
    const { inner, storage, index, files } = await setup();
    await inner.put('index/1', file({ a: [1] }));
    storage.setPlan((op, name) => {
      if (op !== 'get' || name !== 'index/1') return undefined;
      // Replaced between the listing and the read, as a sweep does.
      void inner.put('index/2', file({ b: [1] }));
      void inner.remove('index/1');
      return { kind: 'delay', ms: 5 };
    });
    expect(await files.load()).toEqual([]);
    expect(index.lookup(id(1))?.packId).toBe(packId('b'));
  });

  it('one load serves every caller that asks while it runs; a caller that asks later gets a later load', async () => {
    const { inner, storage, files } = await setup();
    await inner.put('index/1', file({ a: [1] }));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    storage.setPlan((op) => (op === 'list' ? { kind: 'wait', until: gate } : undefined));
    const first = files.load();
    const mark = files.mark();
    // Started after the first load: each needs a later one, and they share it.
    const waiting = [files.loadAfter(mark), files.loadAfter(mark), files.load()];
    release();
    await Promise.all([first, ...waiting]);
    expect(storage.calls.list).toBe(2);
    // A mark taken before a load that has finished since needs no other.
    const before = files.mark();
    await files.load();
    await files.loadAfter(before);
    expect(storage.calls.list).toBe(3);
  });
});
