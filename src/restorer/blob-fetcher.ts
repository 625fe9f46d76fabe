/**
 * Fetches a set of blobs with as few storage reads as possible (the
 * repository's `readRanges`: ranges of one pack, blobs followed when their
 * pack has gone). Decryption, decompression, authentication and the check of
 * each blob's content against its id run in the worker pool. A blob that
 * fails is reported by key with its error — never returned with wrong bytes.
 *
 * @module
 */

import { ErrorCode, type LifeboatError } from '../errors/index.js';
import type { BlobId, BlobLocation } from '../repository/format/index.js';
import { blobKey } from '../repository/index/index.js';
import { damagedBlob, missingBlob } from '../repository/pack-ranges.js';
import type { Repository } from '../repository/repository.js';

export interface FetchResult {
  data: Map<string, Buffer>;
  failed: Map<string, LifeboatError>;
}

export async function fetchBlobs(repo: Repository, ids: Iterable<BlobId>): Promise<FetchResult> {
  const result: FetchResult = { data: new Map(), failed: new Map() };
  const locations: BlobLocation[] = [];
  const seen = new Set<string>();
  for (const id of ids) {
    const key = blobKey(id);
    if (seen.has(key)) continue;
    seen.add(key);
    const loc = repo.locate(id);
    if (loc) locations.push(loc);
    else result.failed.set(key, missingBlob(id));
  }
  await repo.readRanges(
    locations,
    { concurrency: 4 },
    async (range, bytes, lastTry) => {
      // Authenticated by the AEAD (bound to the blob id), then re-hashed against the id in the worker.
      const items = range.blobs.map((b) => ({
        id: b.id,
        offset: b.offset - range.offset,
        length: b.length,
        rawLength: b.rawLength,
      }));
      const opened = await repo.pool.open(bytes, items);
      const again: BlobLocation[] = [];
      opened.forEach((r, i) => {
        const b = range.blobs[i]!;
        if ('data' in r) result.data.set(blobKey(b.id), r.data);
        else if (!('error' in r)) return;
        else if (lastTry || r.code !== ErrorCode.Corrupt) result.failed.set(blobKey(b.id), damagedBlob(b, r.error));
        else again.push(b);
      });
      return again;
    },
    (b, err) => result.failed.set(blobKey(b.id), err),
  );
  return result;
}
