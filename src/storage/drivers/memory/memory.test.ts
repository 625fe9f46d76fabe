import { afterEach, describe, expect, it } from 'vitest';
import { describeStorageConformance, expectCode } from '../../testing/conformance.js';
import { MemoryStorage, createMemoryStorage, resetMemoryStorage } from './memory.js';

describeStorageConformance('memory', async () => {
  const storage = new MemoryStorage();
  return { storage, cleanup: () => storage.close() };
});

describeStorageConformance('memory (via memory: URL)', async () => {
  const storage = await createMemoryStorage(new URL('memory://conformance'), { create: true });
  return {
    storage,
    cleanup: async () => {
      await storage.close();
      resetMemoryStorage('conformance');
    },
  };
});

describe('MemoryStorage specifics', () => {
  afterEach(() => resetMemoryStorage());

  it('shares objects between opens of the same memory: URL', async () => {
    const a = await createMemoryStorage(new URL('memory://shared/repo'), {});
    const b = await createMemoryStorage(new URL('memory://shared/repo'), {});
    await a.put('config', Buffer.from('c'));
    expect((await b.get('config')).toString()).toBe('c');
    expect(a.location).toBe('memory://shared/repo');
  });

  it('keeps different memory: URLs apart', async () => {
    const a = await createMemoryStorage(new URL('memory://one'), {});
    const b = await createMemoryStorage(new URL('memory://two'), {});
    await a.put('config', Buffer.from('c'));
    await expectCode(b.get('config'), 'not_found');
  });

  it('resetMemoryStorage forgets a shared map', async () => {
    const a = await createMemoryStorage(new URL('memory://gone'), {});
    await a.put('config', Buffer.from('c'));
    resetMemoryStorage('gone');
    const b = await createMemoryStorage(new URL('memory://gone'), {});
    expect(await b.list('')).toEqual([]);
  });

  it('gives each new MemoryStorage() its own map', async () => {
    const a = new MemoryStorage();
    await a.put('config', Buffer.from('c'));
    expect(await new MemoryStorage().list('')).toEqual([]);
  });

  it('rejects calls after close', async () => {
    const s = new MemoryStorage();
    await s.close();
    await expectCode(s.put('config', Buffer.from('c')), 'storage');
    await expectCode(s.list(''), 'storage');
  });

  it('reports used bytes', async () => {
    const s = new MemoryStorage();
    await s.put('a', Buffer.alloc(3));
    await s.put('b/c', Buffer.alloc(4));
    expect(await s.space()).toEqual({ usedBytes: 7 });
  });
});
