/**
 * One write session of a repository (a backup, a copy, a repack, a repair):
 * the only way blobs are stored. It owns the packer, writes an index file
 * every `indexEvery` durable packs and a last one at the end, and when the
 * work fails it stops storing and indexes (best effort) the packs already
 * durable, so the next run finds their data instead of uploading it again.
 *
 * With a `lock`, an index file is written only while the run provably holds
 * it: once the lock is lost, a sweep may have deleted the run's unindexed
 * packs as garbage, and naming them in an index would leave entries for packs
 * that are gone (check: lost data).
 *
 * The work sees a `BlobWriter`, never the packer or the index files.
 *
 * @module
 */

import type { Storage } from '../storage/contract.js';
import { BlobType, type BlobId } from './format/index.js';
import type { ObjectCache } from './cache.js';
import type { IndexedPack } from './format/index.js';
import type { LockHandle } from './locks.js';
import { MasterIndex } from './index/index.js';
import { Packer } from './packer.js';
import type { Tree } from './format/index.js';

/** Durable packs not yet named by an index file, at most, before one is written (by default). */
export const INDEX_EVERY = 64;

/** What the work of a write session may do with the repository's blobs. */
export interface BlobWriter {
  /** What the session is for (`backup`, `copy`, `repack`, …), as given to `withWriter`. */
  readonly purpose: string;
  /** Whether the repository holds the blob, or this session is storing it already. */
  has(id: BlobId): boolean;
  /**
   * Store a sealed blob (whole, or in pieces that concatenate to it) unless it
   * is known already. Returns whether it was added.
   */
  saveBlob(type: BlobType, id: BlobId, sealed: Buffer | readonly Buffer[], rawLength: number): Promise<boolean>;
  /** Store a directory as a tree blob (sealed on this thread, skipped when known) and return its id, hex (as trees name subtrees). */
  saveTree(tree: Tree): Promise<string>;
  /** Make every blob saved so far durable and write an index file naming the new packs. */
  flush(): Promise<void>;
  /** Bytes of packs this session has made durable. */
  readonly storedBytes: number;
}

/** The parts of a repository a write session works with (see `Repository.withWriter`). */
export interface WriteTarget {
  readonly storage: Storage;
  readonly keys: { readonly encryption: Buffer };
  readonly config: { readonly packSize: number };
  readonly cache: ObjectCache | undefined;
  readonly index: MasterIndex;
  saveIndex(packs: IndexedPack[]): Promise<string | undefined>;
  sealOnMain(data: Buffer, id?: BlobId): { id: BlobId; sealed: Buffer; rawLength: number };
  blobIdOf(data: Buffer): BlobId;
  encodeTree(tree: Tree): Buffer;
}

export interface WriterOptions {
  /** The lock the run holds: index files are written only while it provably holds it (see above). */
  lock?: LockHandle;
  /** Write an index file once this many durable packs are not named by one (`Infinity`: only at the end). */
  indexEvery?: number;
  /**
   * Check the lock before the final index write too (a backup, which saves a
   * snapshot next). Intermediate index files and those written on failure are
   * always checked when there is a lock.
   */
  lockBeforeFinalIndex?: boolean;
  /**
   * Deduplicate only within the session, not against the repository's index,
   * and leave that index as it is (a repack copies blobs the index names already).
   */
  privateIndex?: boolean;
}

export interface WriteSessionResult<T> {
  value: T;
  /** Every pack the session made durable, all indexed. */
  packs: IndexedPack[];
  /** Bytes of those packs. */
  storedBytes: number;
}

/** Run `fn` with a write session on `repo`; see the module comment. */
export async function withWriteSession<T>(
  repo: WriteTarget,
  purpose: string,
  fn: (writer: BlobWriter) => Promise<T>,
  options: WriterOptions = {},
): Promise<WriteSessionResult<T>> {
  const session = new WriteSession(repo, purpose, options);
  let value: T;
  try {
    value = await fn(session);
    await session.finish();
  } catch (err) {
    await session.keepDurablePacks();
    throw err;
  }
  return { value, packs: session.packs, storedBytes: session.storedBytes };
}

class WriteSession implements BlobWriter {
  private readonly packer: Packer;
  /** Every pack made durable and named by an index file written by this session. */
  readonly packs: IndexedPack[] = [];

  constructor(
    private readonly repo: WriteTarget,
    readonly purpose: string,
    private readonly options: WriterOptions,
  ) {
    const indexEvery = options.indexEvery ?? INDEX_EVERY;
    this.packer = new Packer({
      storage: repo.storage,
      encryptionKey: repo.keys.encryption,
      index: options.privateIndex ? new MasterIndex() : repo.index,
      packSize: repo.config.packSize,
      cache: repo.cache,
      ...(indexEvery === Infinity
        ? {}
        : {
            onPackStored: async (_pack: IndexedPack, self: Packer) => {
              if (self.storedCount < indexEvery) return;
              await options.lock?.assertHeld();
              const batch = self.takeStoredPacks();
              try {
                await this.writeIndex(batch);
              } catch (err) {
                self.returnStoredPacks(batch); // indexed with the next batch, or at the end
                throw err;
              }
            },
          }),
    });
  }

  get storedBytes(): number {
    return this.packer.storedBytes;
  }

  has(id: BlobId): boolean {
    return this.packer.knows(id);
  }

  saveBlob(type: BlobType, id: BlobId, sealed: Buffer | readonly Buffer[], rawLength: number): Promise<boolean> {
    return this.packer.add(type, id, sealed, rawLength);
  }

  async saveTree(tree: Tree): Promise<string> {
    // The id first: a tree the repository holds already (an unchanged directory) is not compressed or sealed again.
    const encoded = this.repo.encodeTree(tree);
    const id = this.repo.blobIdOf(encoded);
    if (!this.packer.knows(id)) {
      const sealed = this.repo.sealOnMain(encoded, id);
      await this.packer.add(BlobType.Tree, id, sealed.sealed, sealed.rawLength);
    }
    return id.toString('hex');
  }

  async flush(): Promise<void> {
    await this.packer.flush();
    await this.writeIndex(this.packer.takeStoredPacks());
  }

  /** The end of the work: the last packs durable, then the last index file. */
  async finish(): Promise<void> {
    await this.packer.flush();
    if (this.options.lockBeforeFinalIndex) await this.options.lock?.assertHeld();
    await this.writeIndex(this.packer.takeStoredPacks());
  }

  /**
   * A failed or interrupted run: stop storing, then index (best effort) the
   * packs already durable so a rerun reuses them — before the lock is
   * released, and only if it is still held (else they stay unindexed, for
   * prune to reclaim).
   */
  async keepDurablePacks(): Promise<void> {
    await this.packer.stop();
    const lock = this.options.lock;
    const held = lock
      ? await lock.assertHeld().then(
          () => true,
          () => false,
        )
      : true;
    if (held) await this.writeIndex(this.packer.takeStoredPacks()).catch(() => undefined);
  }

  private async writeIndex(packs: IndexedPack[]): Promise<void> {
    await this.repo.saveIndex(packs);
    this.packs.push(...packs);
  }
}
