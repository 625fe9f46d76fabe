/**
 * Collects sealed blobs into packs and uploads full packs, a few at a time.
 * A blob counts as stored only after its pack is durable; until then it is
 * "pending", so a second copy of the same content is not queued twice.
 * Data and tree blobs go to separate packs so that tree packs can be cached.
 *
 * @module
 */

import { ErrorCode, LifeboatError } from '../errors/index.js';
import type { Storage } from '../storage/contract.js';
import { BlobType, type BlobId, type IndexedPack, PackBuilder } from './format/index.js';
import type { ObjectCache } from './cache.js';
import { packObjectName, sha256Hex } from './ids.js';
import { blobKey, type MasterIndex } from './index/index.js';
import { memoryLimits } from '../util/memory-profile.js';

export interface PackerOptions {
  storage: Storage;
  encryptionKey: Buffer;
  index: MasterIndex;
  packSize: number;
  cache?: ObjectCache;
  /** Uploads in flight at most (default: the memory profile's `packUploads`). */
  concurrency?: number;
  /** Called when a pack is durable (to write intermediate indexes, report progress). */
  onPackStored?: (pack: IndexedPack, packer: Packer) => void | Promise<void>;
}

export class Packer {
  private readonly builders = new Map<BlobType, PackBuilder>();
  private readonly pending = new Set<string>();
  private readonly uploads = new Set<Promise<void>>();
  /** Pack buffers whose upload is over, to build the next packs in. */
  private readonly spare: Buffer[] = [];
  private failure: unknown;
  private stopped = false;
  /** Packs made durable since the last `takeStoredPacks`. */
  private stored: IndexedPack[] = [];
  storedBytes = 0;

  constructor(private readonly options: PackerOptions) {}

  /** Whether the repository holds the blob or it is already on its way there. */
  knows(id: BlobId): boolean {
    const key = blobKey(id);
    return this.pending.has(key) || this.options.index.hasKey(key);
  }

  /** Queue a sealed blob (whole, or in pieces that concatenate to it) unless it is already known. Returns whether it was added. */
  async add(type: BlobType, id: BlobId, sealed: Buffer | readonly Buffer[], rawLength: number): Promise<boolean> {
    this.throwIfFailed();
    if (this.stopped) throw new LifeboatError(ErrorCode.Interrupted, 'the backup was stopped; no more data is stored');
    const key = blobKey(id);
    if (this.pending.has(key) || this.options.index.hasKey(key)) return false;
    this.pending.add(key);
    let builder = this.builders.get(type);
    if (!builder) {
      // Room for a full pack, its last blob (up to a maximum chunk past packSize) and its header.
      builder = new PackBuilder(
        type,
        this.spare.pop() ?? Buffer.allocUnsafeSlow(this.options.packSize + 2 * 1024 * 1024),
      );
      this.builders.set(type, builder);
    }
    builder.add(id, sealed, rawLength);
    if (builder.byteLength >= this.options.packSize) {
      this.builders.delete(type);
      await this.upload(builder);
    }
    return true;
  }

  private async upload(builder: PackBuilder): Promise<void> {
    const limit = this.options.concurrency ?? memoryLimits().packUploads;
    while (this.uploads.size >= limit) await Promise.race(this.uploads);
    this.throwIfFailed();
    // Stopped while waiting for a free upload slot: a pack stored now would reach the in-memory
    // index after the run's last index file was written, and a later run would trust it.
    if (this.stopped) throw new LifeboatError(ErrorCode.Interrupted, 'the backup was stopped; no more data is stored');
    const bytes = builder.finish(this.options.encryptionKey);
    const packId = sha256Hex(bytes);
    const task = (async () => {
      await this.options.storage.put(packObjectName(packId), bytes);
      if (builder.type === BlobType.Tree) await this.options.cache?.put(packObjectName(packId), bytes);
      const pack: IndexedPack = { id: packId, size: bytes.length, blobs: builder.entries };
      this.options.index.addPack(pack);
      for (const e of builder.entries) this.pending.delete(blobKey(e.id));
      this.stored.push(pack);
      this.storedBytes += bytes.length;
      // Storage and cache are done with the bytes: the buffer builds a later pack.
      if (this.spare.length < 2) this.spare.push(builder.buffer);
      await this.options.onPackStored?.(pack, this);
    })().catch((err: unknown) => {
      this.failure ??= err;
    });
    this.uploads.add(task);
    void task.finally(() => this.uploads.delete(task));
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  /** Close and upload every partial pack, and wait for all uploads. */
  async flush(): Promise<void> {
    for (const [type, builder] of this.builders) {
      this.builders.delete(type);
      if (builder.count > 0) await this.upload(builder);
    }
    await Promise.all([...this.uploads]);
    this.throwIfFailed();
  }

  get storedCount(): number {
    return this.stored.length;
  }

  /**
   * Accept no more blobs and wait for uploads in flight (their errors ignored),
   * so an abandoned backup writes nothing after its lock is released.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    // Until none is left: an upload that started while the first ones settled is waited for too.
    while (this.uploads.size > 0) await Promise.allSettled([...this.uploads]);
  }

  /** Put packs back whose index could not be written, to be indexed later. */
  returnStoredPacks(packs: IndexedPack[]): void {
    this.stored.unshift(...packs);
  }

  /** Durable packs not yet written to an index file; each pack is handed out once. */
  takeStoredPacks(): IndexedPack[] {
    const out = this.stored;
    this.stored = [];
    return out;
  }
}
