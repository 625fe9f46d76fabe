import { describe, expect, it } from 'vitest';
import { BlobType, type IndexedBlob, type IndexedPack } from '../format/index.js';
import { blobKey, MasterIndex } from './master-index.js';

const id = (n: number) => Buffer.alloc(32, n);
const packId = (c: string) => c.repeat(64).slice(0, 64);
const blob = (n: number, offset = 0, type: BlobType = BlobType.Data): IndexedBlob => ({
  type,
  id: id(n),
  offset,
  length: 10 + n,
  rawLength: 100 + n,
});
const pack = (c: string, blobs: IndexedBlob[], size = 1000): IndexedPack => ({ id: packId(c), size, blobs });

describe('MasterIndex', () => {
  it('addPack makes blobs known, lookup gives their location', () => {
    const idx = new MasterIndex();
    expect(idx.has(id(1))).toBe(false);
    expect(idx.lookup(id(1))).toBeUndefined();
    idx.addPack(pack('a', [blob(1, 0), blob(2, 11, BlobType.Tree)], 4242));
    expect(idx.blobCount).toBe(2);
    expect(idx.packCount).toBe(1);
    expect(idx.has(id(1))).toBe(true);
    expect(idx.has(Buffer.from(id(2)))).toBe(true);
    expect(idx.hasKey(blobKey(id(2)))).toBe(true);
    expect(idx.has(id(3))).toBe(false);
    expect(idx.lookup(id(2))).toEqual({
      id: id(2),
      type: BlobType.Tree,
      packId: packId('a'),
      offset: 11,
      length: 12,
      rawLength: 102,
    });
    expect(idx.lookup(id(1))).toMatchObject({
      packId: packId('a'),
      offset: 0,
      length: 11,
      rawLength: 101,
      type: BlobType.Data,
    });
    expect(idx.packIds()).toEqual([packId('a')]);
    expect(idx.packSize(packId('a'))).toBe(4242);
    expect(idx.packSize(packId('b'))).toBeUndefined();
  });

  it('keys are exact: ids differing in one byte (even a high byte) are different blobs', () => {
    const idx = new MasterIndex();
    const a = Buffer.alloc(32, 0);
    const b = Buffer.alloc(32, 0);
    b[31] = 0x80;
    const c = Buffer.alloc(32, 0);
    c[0] = 0xff;
    idx.addPack(pack('a', [{ ...blob(0), id: a }]));
    expect(idx.has(a)).toBe(true);
    expect(idx.has(b)).toBe(false);
    expect(idx.has(c)).toBe(false);
    expect(blobKey(b)).not.toBe(blobKey(c));
  });

  it('a blob stored in two packs keeps its first copy', () => {
    const idx = new MasterIndex();
    idx.addPack(pack('a', [blob(1, 5)]));
    idx.addPack(pack('b', [blob(1, 77), blob(2)]));
    expect(idx.blobCount).toBe(2);
    expect(idx.packCount).toBe(2);
    expect(idx.lookup(id(1))).toMatchObject({ packId: packId('a'), offset: 5 });
    // entries() yields every stored copy (check verifies them all); the live one first.
    const entries = [...idx.entries()];
    expect(entries).toHaveLength(3);
    expect(entries.find((e) => e.id.equals(id(1)))).toMatchObject({ packId: packId('a'), offset: 5 });
    expect(entries.filter((e) => e.id.equals(id(1))).map((e) => e.packId)).toEqual([packId('a'), packId('b')]);
  });

  it('adding the same pack twice changes nothing', () => {
    const idx = new MasterIndex();
    const p = pack('a', [blob(1), blob(2, 11)]);
    idx.addPack(p);
    idx.addPack(p);
    expect(idx.packCount).toBe(1);
    expect(idx.blobCount).toBe(2);
    expect(idx.packIds()).toEqual([packId('a')]);
    idx.excludePacks([packId('a')]);
    expect(idx.has(id(1))).toBe(false);
  });

  it('excludePacks hides blobs whose only copy is in an excluded pack', () => {
    const idx = new MasterIndex();
    idx.addPack(pack('a', [blob(1), blob(2, 11)]));
    idx.addPack(pack('b', [blob(3)]));
    idx.excludePacks([packId('a')]);
    expect(idx.has(id(1))).toBe(false);
    expect(idx.hasKey(blobKey(id(2)))).toBe(false);
    expect(idx.lookup(id(1))).toBeUndefined();
    expect(idx.has(id(3))).toBe(true);
    // Excluded packs are still listed (for check) and still in entries().
    expect(idx.packIds()).toContain(packId('a'));
    expect([...idx.entries()].map((e) => e.packId)).toContain(packId('a'));
  });

  it('excludePacks keeps blobs that have a copy in another pack, and lookup points at that copy', () => {
    const idx = new MasterIndex();
    idx.addPack(pack('a', [blob(1, 0), blob(2, 11)]));
    idx.addPack(pack('b', [blob(1, 300)]));
    idx.addPack(pack('c', [blob(1, 600)]));
    idx.excludePacks([packId('a')]);
    expect(idx.has(id(1))).toBe(true);
    expect(idx.lookup(id(1))).toMatchObject({ packId: packId('b'), offset: 300 });
    expect(idx.has(id(2))).toBe(false);
    idx.excludePacks([packId('b')]);
    expect(idx.lookup(id(1))).toMatchObject({ packId: packId('c'), offset: 600 });
    idx.excludePacks([packId('c')]);
    expect(idx.has(id(1))).toBe(false);
    expect(idx.lookup(id(1))).toBeUndefined();
  });

  it('the copy can be in a pack added after the exclusion', () => {
    const idx = new MasterIndex();
    idx.addPack(pack('a', [blob(1, 0)]));
    idx.excludePacks([packId('a')]);
    expect(idx.has(id(1))).toBe(false);
    idx.addPack(pack('b', [blob(1, 50)]));
    expect(idx.has(id(1))).toBe(true);
    expect(idx.lookup(id(1))).toMatchObject({ packId: packId('b'), offset: 50 });
  });

  it('excluding an unknown pack is harmless', () => {
    const idx = new MasterIndex();
    idx.addPack(pack('a', [blob(1)]));
    idx.excludePacks([packId('z'), 'not-even-an-id']);
    expect(idx.has(id(1))).toBe(true);
  });

  it('lookup returns a location with the caller id and the pack id string', () => {
    const idx = new MasterIndex();
    idx.addPack(pack('e', [blob(9, 123, BlobType.Tree)]));
    const q = Buffer.from(id(9));
    const loc = idx.lookup(q)!;
    expect(loc.id.equals(id(9))).toBe(true);
    expect(loc.packId).toBe(packId('e'));
    expect(loc.type).toBe(BlobType.Tree);
  });

  it('a copy marked damaged is never given while another copy is intact; with none left the blob is unknown', () => {
    const idx = new MasterIndex();
    idx.addPack(pack('a', [blob(1, 0)]));
    idx.markDamaged(id(1), packId('a'));
    expect(idx.has(id(1))).toBe(false);
    expect(idx.lookup(id(1))).toBeUndefined();
    // Stored again (a later backup): the new copy is used.
    idx.addPack(pack('b', [blob(1, 0)]));
    expect(idx.lookup(id(1))?.packId).toBe(packId('b'));
    expect(idx.isDamaged(id(1), packId('a'))).toBe(true);
    expect(idx.isDamaged(id(1), packId('b'))).toBe(false);
    expect(idx.damagedCount).toBe(1);
  });
});
