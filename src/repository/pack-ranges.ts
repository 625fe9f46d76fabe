/**
 * Reading many blobs with few storage reads: blobs are grouped by pack,
 * sorted by offset, and neighbouring ones are read as one range. A range whose
 * pack has gone (a prune sweep deleted it after copying its blobs elsewhere)
 * is planned again from where the reloaded index says its blobs are now.
 *
 * @module
 */

import { ErrorCode, LifeboatError, isLifeboatError } from '../errors/index.js';
import type { BlobLocation } from './format/index.js';

export interface PackRange {
  packId: string;
  offset: number;
  end: number;
  blobs: BlobLocation[];
  /** A second read of blobs whose first read failed authentication: what fails now is damage. */
  again?: boolean;
}

const MAX_GAP = 256 * 1024;
const MAX_RANGE = 16 * 1024 * 1024;

export function planRanges(locations: BlobLocation[], maxRange = MAX_RANGE): PackRange[] {
  const byPack = new Map<string, BlobLocation[]>();
  for (const loc of locations) {
    const list = byPack.get(loc.packId) ?? [];
    list.push(loc);
    byPack.set(loc.packId, list);
  }
  const ranges: PackRange[] = [];
  for (const [packId, list] of byPack) {
    list.sort((a, b) => a.offset - b.offset);
    let current: PackRange | undefined;
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

/** The error for a blob no readable pack holds: the same wherever data is read. */
export function missingBlob(id: Buffer): LifeboatError {
  const hex = id.toString('hex');
  return new LifeboatError(ErrorCode.Corrupt, `blob ${hex.slice(0, 12)} is not in any readable pack`, {
    hint: 'run `lifeboat check` to see which snapshots and paths are affected',
    context: { blob: hex },
  });
}

/** The error for a blob that a worker could not open (authentication, decompression, id check). */
export function damagedBlob(loc: BlobLocation, reason: string): LifeboatError {
  return new LifeboatError(
    ErrorCode.Corrupt,
    `blob ${loc.id.toString('hex').slice(0, 12)} in pack ${loc.packId.slice(0, 12)}: ${reason}`,
    { context: { pack: loc.packId } },
  );
}

/** What `readRanges` needs of the repository. */
export interface RangeSource {
  readPackRange(packId: string, offset: number, length: number, type: BlobLocation['type']): Promise<Buffer>;
  /** After a not-found: reload the index (shared with other readers) and set the pack aside. */
  packGone(packId: string): Promise<void>;
  /** Where a blob is now, if any readable pack holds it. */
  locate(id: Buffer): BlobLocation | undefined;
}

export interface RangeReadOptions {
  /** Largest range read at once (default 16 MiB). */
  maxRange?: number;
  /** Ranges read at a time. */
  concurrency: number;
}

/**
 * What `use` does with one range's bytes. `lastTry` false: the blobs that
 * failed authentication are returned, not reported, and are read once more
 * from storage (bytes damaged on the way are not damage in storage);
 * `lastTry` true: every failure is reported by `use` itself.
 */
export type RangeUse = (range: PackRange, bytes: Buffer, lastTry: boolean) => Promise<BlobLocation[] | void>;

/**
 * Read the ranges holding `locations`, `concurrency` at a time, and hand each
 * range's bytes to `use`. Blobs whose range cannot be read, and blobs that no
 * readable pack holds once their pack has gone, go to `fail` one by one. A
 * not-found is retried elsewhere; blobs `use` found damaged are read once
 * more from the same pack, and damage that stays is reported: it is never
 * read around. An error thrown by `use` stops the reading and rejects.
 */
export async function readRanges(
  source: RangeSource,
  locations: BlobLocation[],
  options: RangeReadOptions,
  use: RangeUse,
  fail: (blob: BlobLocation, err: LifeboatError) => void,
): Promise<void> {
  const queue = planRanges(locations, options.maxRange);
  let stopped = false;
  const readOne = async (range: PackRange): Promise<void> => {
    const failAll = (err: unknown) => {
      const error = isLifeboatError(err) ? err : new LifeboatError(ErrorCode.Storage, (err as Error).message);
      for (const b of range.blobs) fail(b, error);
    };
    let bytes: Buffer;
    try {
      bytes = await source.readPackRange(range.packId, range.offset, range.end - range.offset, range.blobs[0]!.type);
    } catch (err) {
      if (!isLifeboatError(err, ErrorCode.NotFound)) return failAll(err);
      try {
        await source.packGone(range.packId);
      } catch (reloadError) {
        return failAll(reloadError); // the index could not be loaded again (a listing failed)
      }
      const moved: BlobLocation[] = [];
      for (const b of range.blobs) {
        const loc = source.locate(b.id);
        if (loc) moved.push(loc);
        else fail(b, missingBlob(b.id));
      }
      // The pack is set aside now, so a blob's new location is never this pack again.
      queue.push(...planRanges(moved, options.maxRange));
      return;
    }
    const damaged = await use(range, bytes, range.again === true);
    if (damaged?.length && !range.again)
      queue.push(...planRanges(damaged, options.maxRange).map((r) => ({ ...r, again: true })));
  };
  const worker = async (): Promise<void> => {
    for (let range = queue.shift(); range && !stopped; range = queue.shift()) {
      try {
        await readOne(range);
      } catch (err) {
        stopped = true;
        throw err;
      }
    }
  };
  // A worker finding the queue empty ends; ranges planned again by another are read by that one.
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency) }, worker));
}
