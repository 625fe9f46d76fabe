/**
 * Copy the needed blobs of wasteful packs into new packs, then index them, as
 * a backup would (packs durable first, then one index file naming them). Each
 * pack is read whole and checked against its name, and every blob is opened
 * (authenticated against its id, decompressed, re-hashed) before its envelope
 * is copied: a sealed blob does not depend on its position, so copying the
 * verified envelope is as good as sealing it again and costs no compression.
 * A pack that fails verification is not copied; it stays, still referenced,
 * and the sweep keeps it because its blobs have no copy elsewhere.
 *
 * @module
 */

import { ErrorCode, isLifeboatError } from '../errors/index.js';
import { asBlobId } from '../repository/format/index.js';
import type { IndexedPack } from '../repository/format/index.js';
import type { Repository } from '../repository/repository.js';
import type { RepackItem } from './plan.js';

export interface RepackResult {
  /** New packs written (all indexed). */
  packs: IndexedPack[];
  bytesWritten: number;
  /** Packs that could not be verified and were left as they are. */
  skipped: Array<{ pack: string; reason: string }>;
}

/** What a repack uses of the repository: whole packs read and checked, blobs opened, a write session. */
export type RepackRepo = Pick<Repository, 'readWholePack' | 'openLocated' | 'withWriter'>;

export async function repack(
  repo: RepackRepo,
  items: RepackItem[],
  onPack?: (bytesRead: number) => void,
): Promise<RepackResult> {
  const skipped: RepackResult['skipped'] = [];
  // A private index: the blobs being copied are in the repository's index already. One index file
  // at the end; a failure indexes the packs already durable, as a failed backup does.
  const written = await repo.withWriter(
    'repack',
    async (writer) => {
      for (const item of items) {
        let verified: Array<{ blob: RepackItem['keep'][number]; sealed: Buffer }>;
        try {
          const { bytes, intact } = await repo.readWholePack(item.id);
          if (!intact) throw new Error('the pack does not match its name');
          verified = item.keep.map((blob) => {
            const sealed = bytes.subarray(blob.offset, blob.offset + blob.length);
            if (sealed.length !== blob.length) throw new Error('the pack is shorter than the index says');
            repo.openLocated({ ...blob, id: asBlobId(blob.id), packId: item.id }, sealed);
            return { blob, sealed };
          });
          onPack?.(bytes.length);
        } catch (err) {
          if (isLifeboatError(err) && err.code !== ErrorCode.Corrupt) throw err; // storage trouble aborts; damage is reported
          skipped.push({ pack: item.id, reason: (err as Error).message });
          continue;
        }
        for (const { blob, sealed } of verified)
          await writer.saveBlob(blob.type, asBlobId(blob.id), Buffer.from(sealed), blob.rawLength);
      }
    },
    { privateIndex: true, indexEvery: Infinity },
  );
  return { packs: written.packs, bytesWritten: written.storedBytes, skipped };
}
