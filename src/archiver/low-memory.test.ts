import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Repository } from '../repository/repository.js';
import { restore } from '../restorer/restore.js';
import { MemoryStorage } from '../storage/drivers/memory/index.js';
import { pseudoRandomBytes } from '../repository/testing/helpers.js';
import { memoryLimits, setMemoryProfile } from '../util/memory-profile.js';
import { backup } from './backup.js';

/**
 * The low memory profile runs the whole backup pipeline through one worker
 * thread, a 64-entry walk window, a 16 MiB byte window and one pack upload at a
 * time: more files than the window, a file larger than the byte window and
 * several packs must still be stored whole and restore byte for byte.
 */
let dir: string;
let repo: Repository;

beforeAll(async () => {
  setMemoryProfile('low');
  dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-low-memory-'));
  repo = await Repository.init(new MemoryStorage(), Buffer.from('low-memory-test-password'), {
    chunker: { min: 4096, avg: 16384, max: 65536 },
    packSize: 256 * 1024,
  });
}, 60_000);

afterAll(async () => {
  await repo.close();
  setMemoryProfile('default');
  await rm(dir, { recursive: true, force: true });
});

describe('backup with the low memory profile', () => {
  it('stores every file through one worker thread and restores them identical', async () => {
    const data = path.join(dir, 'data');
    const files = new Map<string, Buffer>();
    for (let d = 0; d < 5; d++) {
      await mkdir(path.join(data, `d${d}`), { recursive: true });
      for (let f = 0; f < 60; f++) {
        const rel = `d${d}/f${f}.txt`;
        const content = pseudoRandomBytes(`${d}/${f}`, 100 + (((d * 60 + f) * 37) % 3000));
        files.set(rel, content);
        await writeFile(path.join(data, rel), content);
      }
    }
    const big = pseudoRandomBytes('big', memoryLimits().inFlightBytes + 3 * 1024 * 1024 + 17);
    files.set('big.bin', big);
    await writeFile(path.join(data, 'big.bin'), big);

    const { snapshot, errors } = await backup(repo, { paths: [data] });
    expect(errors).toEqual([]);
    expect(repo.pool.threads).toBe(1);
    expect(snapshot.summary?.files).toBe(files.size);

    const target = await mkdtemp(path.join(dir, 'restore-'));
    await restore(repo, snapshot, { target });
    const root = path.join(target, data);
    expect((await readdir(root)).sort()).toEqual(['big.bin', 'd0', 'd1', 'd2', 'd3', 'd4']);
    for (const [rel, content] of files) expect((await readFile(path.join(root, rel))).equals(content), rel).toBe(true);
  }, 120_000);
});
