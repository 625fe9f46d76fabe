import { ErrorCode, LifeboatError } from '../errors/index.js';
import type { BlobLocation } from '../repository/blob-types.js';
import { blobKey } from '../repository/master-index.js';
import type { Repository } from '../repository/repository.js';
import { mapLimit } from '../util/map-limit.js';

/**
 * Fetches a set of blobs with as few storage reads as possible: blobs are
 * grouped by pack, sorted by offset, and neighbouring ranges are read together.
 * Decryption, decompression, authentication and the check of each blob's
 * content against its id run in the worker pool. A blob that fails is reported
 * by key with its error — never returned with wrong bytes.
 */
export interface FetchResult {
  data: Map<string, Buffer>;
  failed: Map<string, LifeboatError>;
}

const MAX_GAP = 256 * 1024;
const MAX_RANGE = 16 * 1024 * 1024;

interface Range {
  packId: string;
  offset: number;
  end: number;
  blobs: BlobLocation[];
}

export function planRanges(locations: BlobLocation[], maxRange = MAX_RANGE): Range[] {
  const byPack = new Map<string, BlobLocation[]>();
  for (const loc of locations) {
    const list = byPack.get(loc.packId) ?? [];
    list.push(loc);
    byPack.set(loc.packId, list);
  }
  const ranges: Range[] = [];
  for (const [packId, list] of byPack) {
    list.sort((a, b) => a.offset - b.offset);
    let current: Range | undefined;
    for (const loc of list) {
      const end = loc.offset + loc.length;
      if (current && loc.offset - current.end <= MAX_GAP && end - current.offset <= maxRange) {
        current.end = Math.max(current.end, end);
        current.blobs.push(loc);
      } else {
        current = { packId, offset: loc.offset, end, blobs: [loc] };
        ranges.push(current);
      }
    }
  }
  return ranges;
}

export async function fetchBlobs(repo: Repository, ids: Iterable<Buffer>): Promise<FetchResult> {
  const result: FetchResult = { data: new Map(), failed: new Map() };
  const locations: BlobLocation[] = [];
  const seen = new Set<string>();
  for (const id of ids) {
    const key = blobKey(id);
    if (seen.has(key)) continue;
    seen.add(key);
    const loc = repo.index.lookup(id);
    if (loc) locations.push(loc);
    else result.failed.set(key, new LifeboatError(ErrorCode.Corrupt, `blob ${id.toString('hex').slice(0, 12)} is not in any readable pack`));
  }
  await mapLimit(planRanges(locations), 4, async (range) => {
    let bytes: Buffer;
    try {
      bytes = await repo.readPackRange(range.packId, range.offset, range.end - range.offset, range.blobs[0]!.type);
    } catch (err) {
      const error = err instanceof LifeboatError ? err : new LifeboatError(ErrorCode.Storage, (err as Error).message);
      for (const b of range.blobs) result.failed.set(blobKey(b.id), error);
      return;
    }
    // Authenticated by the AEAD (bound to the blob id), then re-hashed against the id in the worker.
    const items = range.blobs.map((b) => ({ id: b.id, offset: b.offset - range.offset, length: b.length, rawLength: b.rawLength }));
    const opened = await repo.pool.open(bytes, items);
    opened.forEach((r, i) => {
      const b = range.blobs[i]!;
      if ('data' in r) result.data.set(blobKey(b.id), r.data);
      else if ('error' in r) result.failed.set(blobKey(b.id), new LifeboatError(ErrorCode.Corrupt, `blob ${b.id.toString('hex').slice(0, 12)} in pack ${b.packId.slice(0, 12)}: ${r.error}`, { context: { pack: b.packId } }));
    });
  });
  return result;
}
