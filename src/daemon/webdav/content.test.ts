import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backup } from '../../archiver/backup.js';
import { Repository } from '../../repository/repository.js';
import { nodeAt } from '../../repository/snapshot-tree/index.js';
import { MemoryStorage } from '../../storage/drivers/memory/index.js';
import { contentStream, parseRange } from './content.js';

/** Byte ranges as WebDAV clients ask for them, and the bytes they map to across a file's blobs. */
describe('parseRange', () => {
  it('reads one bytes= range: closed, open-ended and suffix; clamps the end to the size', () => {
    expect(parseRange('bytes=0-9', 100)).toEqual({ start: 0, end: 9 });
    expect(parseRange('bytes=90-', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=-10', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=-1000', 100)).toEqual({ start: 0, end: 99 });
    expect(parseRange('bytes=50-1000', 100)).toEqual({ start: 50, end: 99 });
  });

  it('the whole file without a header, for several ranges and for other units; unsatisfiable past the end', () => {
    expect(parseRange(undefined, 100)).toBeUndefined();
    expect(parseRange('bytes=0-1,5-6', 100)).toBeUndefined();
    expect(parseRange('items=0-1', 100)).toBeUndefined();
    expect(parseRange('bytes=-', 100)).toBeUndefined();
    expect(parseRange('bytes=100-', 100)).toBe('unsatisfiable');
    expect(parseRange('bytes=9-3', 100)).toBe('unsatisfiable');
    expect(parseRange('bytes=-0', 100)).toBe('unsatisfiable');
    expect(parseRange('bytes=0-', 0)).toBe('unsatisfiable');
  });
});

describe('contentStream', () => {
  let dir: string;
  const DATA = randomBytes(3 * 1024 * 1024 + 5); // several chunks at the default chunk sizes
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-webdav-content-'));
    await writeFile(path.join(dir, 'f'), DATA);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('gives exactly the bytes of any range, across blob boundaries', async () => {
    const repo = await Repository.init(new MemoryStorage(new Map()), Buffer.from('webdav content unit test'));
    try {
      const { snapshot } = await backup(repo, { paths: [dir] });
      const node = await nodeAt(repo, snapshot.tree, path.join(dir, 'f'));
      expect(node.content!.length).toBeGreaterThan(1);
      const read = async (range?: { start: number; end: number }) => {
        const parts: Buffer[] = [];
        for await (const b of contentStream(repo, node, range)) parts.push(b as Buffer);
        return Buffer.concat(parts);
      };
      expect((await read()).equals(DATA)).toBe(true);
      for (const [start, end] of [
        [0, 0],
        [1, 2_000_000],
        [1_048_575, 1_048_577],
        [DATA.length - 1, DATA.length - 1],
        [123_456, DATA.length - 1],
      ] as const)
        expect((await read({ start, end })).equals(DATA.subarray(start, end + 1)), `${start}-${end}`).toBe(true);
    } finally {
      await repo.close();
    }
  });
});
