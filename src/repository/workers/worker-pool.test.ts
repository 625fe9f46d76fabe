import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { deriveRepositoryKeys, newMasterSecret, blobId } from '../crypto/index.js';
import { BlobCompressor, newRepositoryConfig, openBlob } from '../format/index.js';
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
