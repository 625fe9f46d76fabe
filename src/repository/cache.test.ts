import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode, isLifeboatError } from '../errors/index.js';
import { ObjectCache, readThrough } from './cache.js';
import { sha256Hex } from './ids.js';

describe('readThrough', () => {
  let root: string;
  let cache: ObjectCache;
  const stored = Buffer.from('the object as storage holds it');
  const name = `snapshots/${sha256Hex(stored)}`;
  const damaged = Buffer.from('the object as storage holds iT');

  beforeEach(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-cache-'));
    cache = new ObjectCache(root, 'repo');
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it("'trust' serves an intact cached copy; 'storage' reads storage and finds it damaged", async () => {
    await cache.put(name, stored);
    expect(await readThrough(cache, name, async () => damaged)).toEqual(stored);
    const err = await readThrough(cache, name, async () => damaged, 'storage').catch((e: unknown) => e);
    expect(isLifeboatError(err, ErrorCode.Corrupt)).toBe(true);
  });

  it("'storage' refreshes the cached copy from what it read", async () => {
    let reads = 0;
    expect(await readThrough(cache, name, async () => (reads++, stored), 'storage')).toEqual(stored);
    expect(await readThrough(cache, name, async () => (reads++, stored), 'storage')).toEqual(stored);
    expect(reads).toBe(2);
    expect(await cache.get(name)).toEqual(stored);
  });

  it('reads once more when the bytes do not match the name; damage on both reads is damage', async () => {
    const answers = [damaged, stored];
    expect(await readThrough(undefined, name, async () => answers.shift()!)).toEqual(stored);
    let reads = 0;
    const err = await readThrough(undefined, name, async () => (reads++, damaged)).catch((e: unknown) => e);
    expect(isLifeboatError(err, ErrorCode.Corrupt)).toBe(true);
    expect(reads).toBe(2);
  });
});
