import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MemoryStorage } from '../storage/drivers/memory/index.js';
import { BlobType, type IndexedPack } from './format/index.js';
import { MasterIndex } from './index/index.js';
import { indexesWithoutPresence, loadPresence, removePresenceOf, writePresence } from './presence.js';

const pack = (n: number): IndexedPack => ({
  id: randomBytes(32).toString('hex'),
  size: 100,
  blobs: Array.from({ length: n }, () => ({
    type: BlobType.Data,
    id: randomBytes(32),
    offset: 0,
    length: 10,
    rawLength: 5,
  })),
});

const hexId = () => randomBytes(32).toString('hex');

describe('presence sidecars', () => {
  it('count only while their index file exists, so a blob removed by prune is never taken as present', async () => {
    const storage = new MemoryStorage();
    const key = randomBytes(32);
    const [live, replaced, unsidecarred] = [hexId(), hexId(), hexId()];
    const livePack = pack(3);
    const gonePack = pack(2);
    await storage.put(`index/${live}`, Buffer.from('sealed index'));
    await storage.put(`index/${unsidecarred}`, Buffer.from('sealed index'));
    await writePresence(storage, key, live, [livePack]);
    await writePresence(storage, key, replaced, [gonePack]); // its index file was replaced by a sweep
    expect(await indexesWithoutPresence(storage)).toEqual([unsidecarred]);

    const index = new MasterIndex();
    expect(await loadPresence(storage, key, index)).toEqual({ sidecars: 1, withoutSidecar: 1, damaged: [] });
    for (const b of livePack.blobs) expect(index.has(b.id)).toBe(true);
    for (const b of gonePack.blobs) expect(index.has(b.id)).toBe(false);

    await removePresenceOf(storage, `index/${replaced}`);
    await removePresenceOf(storage, `index/${replaced}`); // already gone: fine
    expect((await storage.list('presence/')).map((o) => o.name)).toEqual([`presence/${live}`]);
  });

  it('a sidecar moved to another index id, or opened with another key, does not authenticate and is not used', async () => {
    const storage = new MemoryStorage();
    const key = randomBytes(32);
    const [a, b] = [hexId(), hexId()];
    await storage.put(`index/${b}`, Buffer.from('sealed index'));
    const moved = pack(1);
    await writePresence(storage, key, a, [moved]);
    await storage.put(`presence/${b}`, await storage.get(`presence/${a}`));
    const index = new MasterIndex();
    expect(await loadPresence(storage, key, index)).toEqual({
      sidecars: 0,
      withoutSidecar: 0,
      damaged: [`presence/${b}`],
    });
    expect(index.has(moved.blobs[0]!.id)).toBe(false);
    await writePresence(storage, key, b, [pack(1)]);
    expect((await loadPresence(storage, randomBytes(32), new MasterIndex())).damaged).toEqual([`presence/${b}`]);
  });
});
