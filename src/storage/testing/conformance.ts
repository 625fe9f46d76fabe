/**
 * The Storage conformance suite: every driver's test file calls
 * `describeStorageConformance` so all drivers are held to the same contract.
 * Imports vitest, so it must never be re-exported from `storage/index.ts`.
 *
 * @module
 */

import { randomBytes } from 'node:crypto';
import { mkdir, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LifeboatError } from '../../errors/index.js';
import type { ObjectInfo, Storage } from '../contract.js';

export interface StorageUnderTest {
  storage: Storage;
  /** Must close the storage and remove everything it created. */
  cleanup: () => Promise<void>;
  /** Required when the storage has `removeStaleTemporaries`: leaves temporaries as a killed writer would. */
  temporaries?: TemporaryPlanter;
}

/** Places and finds `.tmp-*` files (names relative to the repository root, such as `data/ab/.tmp-1`). */
export interface TemporaryPlanter {
  plant(name: string, bytes: number, ageMs: number): Promise<void>;
  exists(name: string): Promise<boolean>;
}

/** A planter for a storage whose repository is the directory `root` on this machine (local, and SFTP to this host). */
export function temporariesOnDisk(root: string): TemporaryPlanter {
  const full = (name: string) => path.join(root, ...name.split('/'));
  return {
    plant: async (name, bytes, ageMs) => {
      await mkdir(path.dirname(full(name)), { recursive: true });
      await writeFile(full(name), Buffer.alloc(bytes, 7));
      const then = new Date(Date.now() - ageMs);
      await utimes(full(name), then, then);
    },
    exists: async (name) => (await stat(full(name)).catch(() => undefined)) !== undefined,
  };
}

/** Awaits `p` and asserts it rejected with a LifeboatError of `code`. */
export async function expectCode(p: Promise<unknown>, code: string): Promise<LifeboatError> {
  let error: unknown;
  try {
    await p;
  } catch (err) {
    error = err;
  }
  expect(error, `expected a rejection with code ${code}`).toBeInstanceOf(LifeboatError);
  expect((error as LifeboatError).code).toBe(code);
  return error as LifeboatError;
}

const sorted = (infos: ObjectInfo[]) => [...infos].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

export interface ConformanceOptions {
  /** The driver writes through `.tmp-*` temporaries and has `removeStaleTemporaries` (local, SFTP). */
  writesTemporaries?: boolean;
}

export function describeStorageConformance(
  name: string,
  makeStorage: () => Promise<StorageUnderTest>,
  options: ConformanceOptions = {},
): void {
  describe(`Storage conformance: ${name}`, () => {
    let s: Storage;
    let cleanup: (() => Promise<void>) | undefined;
    let temporaries: TemporaryPlanter | undefined;

    beforeEach(async () => {
      const made = await makeStorage();
      s = made.storage;
      cleanup = made.cleanup;
      temporaries = made.temporaries;
    });
    afterEach(async () => {
      await cleanup?.();
      cleanup = undefined;
    });

    it('has a location string', () => {
      expect(typeof s.location).toBe('string');
    });

    it.each([
      ['0 bytes', 0],
      ['1 byte', 1],
      ['5 MiB', 5 * 1024 * 1024],
    ])(
      'round-trips %s through put/get',
      async (_label, size) => {
        const data = randomBytes(size);
        await s.put('data/ab/obj', data);
        const back = await s.get('data/ab/obj');
        expect(Buffer.isBuffer(back)).toBe(true);
        expect(back.length).toBe(size);
        expect(back.equals(data)).toBe(true);
        expect(await s.stat('data/ab/obj')).toEqual({ name: 'data/ab/obj', size });
      },
      30_000,
    );

    it('keeps its own copies of the data (caller mutations do not leak in or out)', async () => {
      const data = Buffer.from('hello world');
      await s.put('config', data);
      data.fill(0);
      const first = await s.get('config');
      expect(first.toString()).toBe('hello world');
      first.fill(0);
      expect((await s.get('config')).toString()).toBe('hello world');
    });

    it('accepts a plain Uint8Array', async () => {
      const view = new Uint8Array([9, 8, 7, 6, 5]).subarray(1, 4);
      await s.put('keys/k1', view);
      expect([...(await s.get('keys/k1'))]).toEqual([8, 7, 6]);
    });

    it('overwrite replaces the object', async () => {
      await s.put('index/x', Buffer.from('version one, the longer one'));
      await s.put('index/x', Buffer.from('v2'));
      expect((await s.get('index/x')).toString()).toBe('v2');
      expect(await s.list('index/')).toEqual([{ name: 'index/x', size: 2 }]);
    });

    it('get/stat of a missing object reject with not_found', async () => {
      await expectCode(s.get('snapshots/missing'), 'not_found');
      await expectCode(s.stat('snapshots/missing'), 'not_found');
      await expectCode(s.getRange('snapshots/missing', 0, 1), 'not_found');
    });

    it('a directory-like prefix of an object is not an object', async () => {
      await s.put('data/ab/obj', Buffer.from('x'));
      await expectCode(s.get('data/ab'), 'not_found');
      await expectCode(s.stat('data'), 'not_found');
    });

    it('getRange returns exact ranges and never short data', async () => {
      const data = randomBytes(1000);
      await s.put('data/cd/pack', data);
      expect((await s.getRange('data/cd/pack', 10, 100)).equals(data.subarray(10, 110))).toBe(true);
      expect((await s.getRange('data/cd/pack', 900, 100)).equals(data.subarray(900))).toBe(true);
      expect((await s.getRange('data/cd/pack', 0, 1000)).equals(data)).toBe(true);
      expect((await s.getRange('data/cd/pack', 500, 0)).length).toBe(0);
      expect((await s.getRange('data/cd/pack', 1000, 0)).length).toBe(0);
      await expectCode(s.getRange('data/cd/pack', 950, 100), 'storage');
      await expectCode(s.getRange('data/cd/pack', 1000, 1), 'storage');
      await expectCode(s.getRange('data/cd/pack', 2000, 10), 'storage');
      await expectCode(s.getRange('data/cd/pack', -1, 10), 'storage');
      await expectCode(s.getRange('data/cd/pack', 0, -1), 'storage');
    });

    it('lists a prefix recursively with exact names and sizes', async () => {
      await s.put('data/ab/one', Buffer.alloc(1));
      await s.put('data/ab/two', Buffer.alloc(22));
      await s.put('data/cd/three', Buffer.alloc(333));
      await s.put('index/i1', Buffer.alloc(4));
      await s.put('dataset', Buffer.alloc(5)); // shares the characters, not the prefix
      await s.put('config', Buffer.alloc(6));
      expect(sorted(await s.list('data/'))).toEqual([
        { name: 'data/ab/one', size: 1 },
        { name: 'data/ab/two', size: 22 },
        { name: 'data/cd/three', size: 333 },
      ]);
      expect(sorted(await s.list('data/cd/'))).toEqual([{ name: 'data/cd/three', size: 333 }]);
      expect(await s.list('index/')).toEqual([{ name: 'index/i1', size: 4 }]);
      expect(sorted(await s.list('')).map((o) => o.name)).toEqual([
        'config',
        'data/ab/one',
        'data/ab/two',
        'data/cd/three',
        'dataset',
        'index/i1',
      ]);
    });

    it('lists an empty or missing prefix as []', async () => {
      expect(await s.list('')).toEqual([]);
      expect(await s.list('snapshots/')).toEqual([]);
      await s.put('locks/l1', Buffer.from('x'));
      await s.remove('locks/l1');
      expect(await s.list('locks/')).toEqual([]);
      expect(await s.list('locks/l1/')).toEqual([]);
    });

    it('remove makes the object not_found and is idempotent', async () => {
      await s.put('locks/a', Buffer.from('lock'));
      await s.remove('locks/a');
      await expectCode(s.get('locks/a'), 'not_found');
      await s.remove('locks/a');
      await s.remove('never/existed');
      expect(await s.list('locks/')).toEqual([]);
    });

    it.each(['../x', '/abs', 'a//b', 'a/./b', '', 'a/../b', 'a/', '.', 'a b', 'data\\x'])(
      'rejects the invalid name %j with code storage',
      async (bad) => {
        await expectCode(s.put(bad, Buffer.from('x')), 'storage');
        await expectCode(s.get(bad), 'storage');
        await expectCode(s.getRange(bad, 0, 0), 'storage');
        await expectCode(s.stat(bad), 'storage');
        await expectCode(s.remove(bad), 'storage');
      },
    );

    it.each(['../', '/abs/', 'data', 'a//', './', 'data//'])(
      'rejects the invalid prefix %j with code storage',
      async (bad) => {
        await expectCode(s.list(bad), 'storage');
      },
    );

    it('handles 32 concurrent puts of different names', async () => {
      const objects = Array.from({ length: 32 }, (_, i) => ({
        name: `data/${(i % 4).toString(16).padStart(2, '0')}/obj-${i}`,
        data: randomBytes(1000 + i),
      }));
      await Promise.all(objects.map((o) => s.put(o.name, o.data)));
      for (const o of objects) expect((await s.get(o.name)).equals(o.data)).toBe(true);
      expect((await s.list('data/')).length).toBe(32);
    }, 30_000);

    it('readers never see a partial object while it is overwritten', async () => {
      const versions = [randomBytes(2 * 1024 * 1024), randomBytes(2 * 1024 * 1024 + 17)];
      await s.put('snapshots/big', versions[0]!);
      let writing = true;
      const writer = (async () => {
        try {
          for (let i = 1; i <= 8; i++) await s.put('snapshots/big', versions[i % 2]!);
        } finally {
          writing = false;
        }
      })();
      const reader = async () => {
        let reads = 0;
        do {
          const got = await s.get('snapshots/big');
          expect(
            versions.some((v) => v.equals(got)),
            `read ${reads} matched neither version (${got.length} bytes)`,
          ).toBe(true);
          reads++;
        } while (writing);
        return reads;
      };
      const reads = await Promise.all([reader(), reader(), reader()]);
      await writer;
      expect(reads.every((n) => n >= 1)).toBe(true);
    }, 60_000);

    it('space() resolves with numeric fields when present', async () => {
      await s.put('data/ab/x', Buffer.alloc(100));
      const space = await s.space();
      expect(typeof space).toBe('object');
      for (const key of ['usedBytes', 'availableBytes', 'totalBytes'] as const) {
        const v = space[key];
        if (v !== undefined) {
          expect(typeof v).toBe('number');
          expect(Number.isFinite(v) && v >= 0).toBe(true);
        }
      }
      if (space.usedBytes !== undefined) expect(space.usedBytes).toBeGreaterThanOrEqual(100);
    });

    if (!options.writesTemporaries) {
      it('has no removeStaleTemporaries: it writes no temporaries a killed writer could leave', () => {
        expect(s.removeStaleTemporaries).toBeUndefined();
      });
    }

    // Registered only for drivers that write through temporaries, so no test is skipped.
    if (options.writesTemporaries)
      describe('removeStaleTemporaries', () => {
        const HOUR = 3600_000;
        const planter = (): TemporaryPlanter => {
          expect(s.removeStaleTemporaries, 'the driver writes temporaries, so it must remove stale ones').toBeTypeOf(
            'function',
          );
          expect(
            temporaries,
            'a storage with removeStaleTemporaries must give the suite a TemporaryPlanter',
          ).toBeDefined();
          return temporaries!;
        };

        it('removes temporaries older than the age, anywhere in the tree, and reports count and bytes', async () => {
          const tmp = planter();
          await s.put('data/ab/obj', Buffer.from('kept'));
          await s.put('config', Buffer.from('c'));
          await tmp.plant('data/ab/.tmp-0123456789abcdef', 100, 2 * HOUR);
          await tmp.plant('.tmp-fedcba9876543210', 10, 3 * HOUR);
          await tmp.plant('snapshots/.tmp-00112233aabbccdd', 1, 25 * HOUR);
          await tmp.plant('data/ab/.tmp-young00young000', 5, 60_000);
          expect(await s.removeStaleTemporaries!(HOUR)).toEqual({ count: 3, bytes: 111 });
          expect(await tmp.exists('data/ab/.tmp-0123456789abcdef')).toBe(false);
          expect(await tmp.exists('.tmp-fedcba9876543210')).toBe(false);
          expect(await tmp.exists('snapshots/.tmp-00112233aabbccdd')).toBe(false);
          expect(await tmp.exists('data/ab/.tmp-young00young000')).toBe(true);
          expect(sorted(await s.list(''))).toEqual([
            { name: 'config', size: 1 },
            { name: 'data/ab/obj', size: 4 },
          ]);
          expect((await s.get('data/ab/obj')).toString()).toBe('kept');
          expect(await s.removeStaleTemporaries!(HOUR)).toEqual({ count: 0, bytes: 0 });
        });

        it('only counts with dryRun, finds nothing in an empty tree, and leaves no temporary of its own', async () => {
          const tmp = planter();
          expect(await s.removeStaleTemporaries!(0)).toEqual({ count: 0, bytes: 0 });
          await tmp.plant('index/.tmp-0123456789abcdef', 42, 2 * HOUR);
          expect(await s.removeStaleTemporaries!(HOUR, { dryRun: true })).toEqual({ count: 1, bytes: 42 });
          expect(await tmp.exists('index/.tmp-0123456789abcdef')).toBe(true);
          expect(await s.removeStaleTemporaries!(HOUR)).toEqual({ count: 1, bytes: 42 });
          expect(await s.removeStaleTemporaries!(0)).toEqual({ count: 0, bytes: 0 });
        });
      });
  });
}
