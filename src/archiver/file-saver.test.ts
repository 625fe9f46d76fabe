import { createCipheriv, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readChunks, streamByteSource } from '../repository/chunking/index.js';
import { blobId } from '../repository/crypto/index.js';
import { blobIdFromHex } from '../repository/format/index.js';
import { Repository } from '../repository/repository.js';
import { MemoryStorage } from '../storage/drivers/memory/index.js';
import { FileSaver } from './file-saver.js';
import { newBackupProgress } from './progress.js';

/** Deterministic pseudo-random bytes (AES-CTR keystream). */
function bytes(seed: number, n: number): Buffer {
  const key = Buffer.alloc(32, seed);
  return createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(n));
}

let dir: string;
let repo: Repository;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-saver-'));
  // Small chunks, so a few MiB span many chunks and several reading windows.
  repo = await Repository.init(new MemoryStorage(), Buffer.from('saver-test-password'), {
    chunker: { min: 4096, avg: 16384, max: 65536 },
  });
}, 60_000);

afterAll(async () => {
  await repo.close();
  await rm(dir, { recursive: true, force: true });
});

/** The chunk ids of `data` as chunked on the calling thread. */
async function expectedIds(data: Buffer): Promise<string[]> {
  const ids: string[] = [];
  for await (const c of readChunks(
    repo.chunker,
    streamByteSource(
      (async function* () {
        yield data;
      })(),
    ),
  ))
    ids.push(blobId(repo.keys.blobId, c).toString('hex'));
  return ids;
}

describe('FileSaver: large files read once by a worker', () => {
  it('records the same chunks as chunking on this thread, stores each new chunk once, and restores', async () => {
    // 20 MiB: random, a repeated random segment (duplicate chunks within the file), text.
    const seg = bytes(2, 3 * 1024 * 1024);
    const data = Buffer.concat([
      bytes(1, 6 * 1024 * 1024),
      seg,
      Buffer.from('a line of text\n'.repeat(300_000)),
      seg,
      bytes(3, 2 * 1024 * 1024 + 12345),
    ]);
    const file = path.join(dir, 'big.bin');
    await writeFile(file, data);
    await repo.withWriter('test', async (writer) => {
      const progress = newBackupProgress();
      const saver = new FileSaver(repo, writer, progress);
      const saved = await saver.saveFile(file, data.length);
      await writer.flush();

      const ids = await expectedIds(data);
      expect(saved.size).toBe(data.length);
      expect(saved.content).toEqual(ids);
      expect(progress.bytesDone).toBe(data.length);
      // The second copy of the repeated segment deduplicates (apart from the chunks at its edges).
      expect(progress.bytesAdded).toBeLessThan(data.length - 2.5 * 1024 * 1024);
      const restored = Buffer.concat(await Promise.all(saved.content.map((h) => repo.readBlob(blobIdFromHex(h)))));
      expect(restored.equals(data)).toBe(true);

      // A second file with the same content stores nothing new; a SQLite-looking file is cut by pages.
      const again = await saver.saveFile(file, data.length);
      expect(again.content).toEqual(ids);
      const added = progress.bytesAdded;
      await writer.flush();
      expect(progress.bytesAdded).toBe(added);
      const sqlite = Buffer.concat([
        Buffer.from('SQLite format 3\0'),
        Buffer.from([0x10, 0x00]),
        bytes(4, 3 * 4096 * 1024 - 18),
      ]);
      const dbFile = path.join(dir, 'app.db');
      await writeFile(dbFile, sqlite);
      const db = await saver.saveFile(dbFile, sqlite.length);
      expect(db.content.length).toBe(sqlite.length / 8192);
      expect(db.content).toEqual(await expectedIds(sqlite));
    });
  }, 60_000);

  it('reports a file that vanished with its error code', async () => {
    await repo.withWriter('test', async (writer) => {
      const saver = new FileSaver(repo, writer, newBackupProgress());
      await expect(saver.saveFile(path.join(dir, 'missing'), 1 << 20)).rejects.toMatchObject({ code: 'ENOENT' });
      // Still usable afterwards.
      const data = randomBytes(200_000);
      await writeFile(path.join(dir, 'after'), data);
      expect((await saver.saveFile(path.join(dir, 'after'), data.length)).size).toBe(data.length);
    });
  });
});
