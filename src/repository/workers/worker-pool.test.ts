import { createCipheriv, randomBytes } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStorage } from '../../storage/drivers/memory/index.js';
import { deriveRepositoryKeys, newMasterSecret, blobId } from '../crypto/index.js';
import { BlobCompressor, newRepositoryConfig, openBlob } from '../format/index.js';
import { Repository } from '../repository.js';
import { BlobWorkerPool } from './worker-pool.js';

const keys = deriveRepositoryKeys(newMasterSecret());
const config = newRepositoryConfig('worker-pool-test');

describe('BlobWorkerPool', () => {
  let pool: BlobWorkerPool | undefined;
  afterEach(async () => {
    await pool?.close();
    pool = undefined;
  });

  it('starts one thread, adds threads up to its maximum when work queues up, and seals every blob', async () => {
    pool = new BlobWorkerPool(keys, config, 3);
    expect(pool.threads).toBe(1);
    expect(pool.maxThreads).toBe(3);

    const blobs = Array.from({ length: 24 }, (_, i) => randomBytes(4096 + i));
    // One task per blob, all at once: more tasks than one thread can take.
    const results = await Promise.all(blobs.map((b) => pool!.seal([{ data: Buffer.from(b) }])));
    expect(pool.threads).toBeGreaterThan(1);
    expect(pool.threads).toBeLessThanOrEqual(3);

    const compressor = new BlobCompressor(config.compression.level);
    results.forEach(([r], i) => {
      if (!r || !('sealed' in r)) throw new Error(`blob ${i} was not sealed`);
      expect(r.id.equals(blobId(keys.blobId, blobs[i]!))).toBe(true);
      const sealed = Buffer.concat(r.sealed);
      expect(openBlob(keys.encryption, keys.blobId, compressor, r.id, sealed, r.rawLength).equals(blobs[i]!)).toBe(
        true,
      );
    });
  });

  it('closes at once, with threads started for a burst still idle', async () => {
    pool = new BlobWorkerPool(keys, config, 2);
    await Promise.all([1, 2, 3, 4].map(() => pool!.seal([{ data: randomBytes(1000) }])));
    await pool.close();
    expect(pool.threads).toBe(0);
    pool = undefined;
  });
});

/** Deterministic pseudo-random bytes (AES-CTR keystream): incompressible, so sealed blobs keep their size. */
function bytes(seed: number, n: number): Buffer {
  return createCipheriv('aes-256-ctr', Buffer.alloc(32, seed), Buffer.alloc(16)).update(Buffer.alloc(n));
}

/** Full collections of this thread's heap, freeing the ArrayBuffers nothing refers to. */
function collect(): void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  // ArrayBuffers are swept in the background after a collection; the next one waits for that sweep.
  gc();
  gc();
}

let repo: Repository;

beforeAll(async () => {
  repo = await Repository.init(new MemoryStorage(), Buffer.from('worker-pool-test-password'));
}, 60_000);

afterAll(async () => {
  await repo.close();
});

describe('BlobWorkerPool.open', () => {
  it('hands each range back, so the ranges opened do not pile up in the workers', async () => {
    // One 2 MiB range of eight sealed 256 KiB blobs, sent 18 times (36 MiB in all: few enough that no
    // worker collects its heap on account of them meanwhile).
    const sealed = Array.from({ length: 8 }, (_, i) => repo.sealOnMain(bytes(i + 1, 256 * 1024)));
    const range = Buffer.concat(sealed.map((s) => s.sealed));
    let offset = 0;
    const items = sealed.map((s) => {
      const item = { id: s.id, offset, length: s.sealed.length, rawLength: s.rawLength };
      offset += s.sealed.length;
      return item;
    });
    collect();
    const before = process.memoryUsage().arrayBuffers;
    for (let round = 0; round < 18; round += 3) {
      // Three at a time: every worker gets ranges.
      const opened = await Promise.all(
        [0, 1, 2].map(() => {
          const copy = Buffer.allocUnsafeSlow(range.length);
          range.copy(copy);
          return repo.pool.open(copy, items);
        }),
      );
      for (const results of opened) {
        expect(results).toHaveLength(8);
        results.forEach((r, i) => expect('data' in r && r.data.equals(bytes(i + 1, 256 * 1024))).toBe(true));
      }
    }
    collect();
    // The ranges were allocated on this thread: once back here, a collection frees them. Kept by
    // the workers until their own (rare) collections, they stayed allocated: about 36 MiB.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(12 * 1024 * 1024);
  }, 120_000);
});
