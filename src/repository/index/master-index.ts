/**
 * All blobs the repository knows, in memory, keyed by id. Ids are kept as
 * 32-character latin1 strings: the cheapest exact Map key V8 offers for 32 bytes.
 *
 * @module
 */

import { asBlobId, type BlobLocation, type BlobType } from '../format/index.js';
import type { IndexedPack } from '../format/index.js';

export function blobKey(id: Buffer): string {
  return id.toString('latin1');
}

interface PackRecord {
  id: string;
  size: number;
}

interface Entry {
  pack: number;
  type: BlobType;
  offset: number;
  length: number;
  rawLength: number;
}

export class MasterIndex {
  private readonly packs: PackRecord[] = [];
  private readonly packNumbers = new Map<string, number>();
  private readonly blobs = new Map<string, Entry>();
  /** Further copies of blobs stored more than once (by concurrent writers). */
  private readonly copies = new Map<string, Entry[]>();
  /** Packs that an index names but storage does not hold (set by `excludePacks`). */
  private readonly excluded = new Set<number>();
  /** Copies found damaged (blob key ‖ pack id): never used while another copy is intact. */
  private readonly damaged = new Set<string>();

  get blobCount(): number {
    return this.blobs.size;
  }

  get packCount(): number {
    return this.packs.length;
  }

  addPack(pack: IndexedPack): void {
    let n = this.packNumbers.get(pack.id);
    if (n === undefined) {
      n = this.packs.length;
      this.packs.push({ id: pack.id, size: pack.size });
      this.packNumbers.set(pack.id, n);
    }
    for (const b of pack.blobs) {
      const key = blobKey(b.id);
      const existing = this.blobs.get(key);
      // A blob stored twice (two concurrent writers) keeps its first, still-present copy.
      const entry: Entry = { pack: n, type: b.type, offset: b.offset, length: b.length, rawLength: b.rawLength };
      if (existing && !this.excluded.has(existing.pack)) {
        if (existing.pack !== n) this.copies.set(key, [...(this.copies.get(key) ?? []), entry]);
        continue;
      }
      this.blobs.set(key, entry);
    }
  }

  /** The live entry for a key: the first copy whose pack is not excluded and that is not known damaged. */
  private live(key: string): Entry | undefined {
    const e = this.blobs.get(key);
    if (e === undefined) return undefined;
    if (this.usable(key, e)) return e;
    return this.copies.get(key)?.find((c) => this.usable(key, c));
  }

  private usable(key: string, e: Entry): boolean {
    return !this.excluded.has(e.pack) && (this.damaged.size === 0 || !this.damaged.has(key + this.packs[e.pack]!.id));
  }

  /**
   * Set one copy of a blob aside as damaged (it failed authentication): lookups
   * give another copy, and when none is left the blob counts as unknown, so the
   * next backup stores it again instead of referencing the damaged copy.
   */
  markDamaged(id: Buffer, packId: string): void {
    this.damaged.add(blobKey(id) + packId);
  }

  /** Undo `markDamaged` for one copy. */
  clearDamaged(id: Buffer, packId: string): void {
    this.damaged.delete(blobKey(id) + packId);
  }

  /** Whether this copy was set aside by `markDamaged`. */
  isDamaged(id: Buffer, packId: string): boolean {
    return this.damaged.has(blobKey(id) + packId);
  }

  /** How many copies are set aside as damaged. */
  get damagedCount(): number {
    return this.damaged.size;
  }

  has(id: Buffer): boolean {
    return this.live(blobKey(id)) !== undefined;
  }

  hasKey(key: string): boolean {
    return this.live(key) !== undefined;
  }

  lookup(id: Buffer): BlobLocation | undefined {
    const e = this.live(blobKey(id));
    if (!e) return undefined;
    return {
      id: asBlobId(id),
      type: e.type,
      packId: this.packs[e.pack]!.id,
      offset: e.offset,
      length: e.length,
      rawLength: e.rawLength,
    };
  }

  packIds(): string[] {
    return this.packs.map((p) => p.id);
  }

  packSize(packId: string): number | undefined {
    const n = this.packNumbers.get(packId);
    return n === undefined ? undefined : this.packs[n]!.size;
  }

  /**
   * Treat these packs as absent (missing from storage or of the wrong size):
   * their blobs count as unknown, so the next backup stores them again.
   */
  excludePacks(packIds: Iterable<string>): void {
    for (const id of packIds) {
      const n = this.packNumbers.get(id);
      if (n !== undefined) this.excluded.add(n);
    }
  }

  /** Whether `excludePacks` has set this pack aside. */
  isExcluded(packId: string): boolean {
    const n = this.packNumbers.get(packId);
    return n !== undefined && this.excluded.has(n);
  }

  /** Every stored copy of every blob (including copies in excluded packs), for check. */
  *entries(): Generator<BlobLocation> {
    const locate = (key: string, e: Entry): BlobLocation => ({
      id: asBlobId(Buffer.from(key, 'latin1')),
      type: e.type,
      packId: this.packs[e.pack]!.id,
      offset: e.offset,
      length: e.length,
      rawLength: e.rawLength,
    });
    for (const [key, e] of this.blobs) yield locate(key, e);
    for (const [key, list] of this.copies) for (const e of list) yield locate(key, e);
  }
}
