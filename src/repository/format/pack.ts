/**
 * Pack file layout:
 *   sealed blob ‖ sealed blob ‖ … ‖ sealed header ‖ header length (u32 LE)
 * Header plaintext: "LBPK" ‖ version u8 ‖ count u32 ‖ count × entry, where an
 * entry is type u8 ‖ id (32) ‖ offset u32 ‖ length u32 ‖ raw length u32.
 * A pack's object name is the SHA-256 of its bytes.
 *
 * @module
 */

import { ErrorCode, LifeboatError } from '../../errors/index.js';
import { BinaryReader, BinaryWriter } from './binary.js';
import { BlobType } from './blob-types.js';
import { open, seal } from '../crypto/index.js';
import { ID_BYTES } from '../ids.js';

const PACK_MAGIC = 'LBPK';
const PACK_VERSION = 1;
const ENTRY_BYTES = 1 + ID_BYTES + 4 + 4 + 4;

export interface PackEntry {
  type: BlobType;
  id: Buffer;
  offset: number;
  length: number;
  rawLength: number;
}

export function encodePackHeader(encKey: Buffer, entries: readonly PackEntry[]): Buffer {
  const w = new BinaryWriter().magic(PACK_MAGIC).u8(PACK_VERSION).u32(entries.length);
  for (const e of entries) w.u8(e.type).bytes(e.id).u32(e.offset).u32(e.length).u32(e.rawLength);
  const sealed = seal(encKey, 'pack-header', w.finish());
  const trailer = Buffer.allocUnsafe(4);
  trailer.writeUInt32LE(sealed.length);
  return Buffer.concat([sealed, trailer]);
}

/** Parse the header at the end of a whole pack and check every entry lies inside it. */
export function decodePackHeader(encKey: Buffer, pack: Buffer): PackEntry[] {
  if (pack.length < 4) throw new LifeboatError(ErrorCode.Corrupt, 'pack is shorter than its trailer');
  const headerLength = pack.readUInt32LE(pack.length - 4);
  if (headerLength + 4 > pack.length)
    throw new LifeboatError(ErrorCode.Corrupt, 'pack header length points outside the pack');
  const headerStart = pack.length - 4 - headerLength;
  return decodeSealedPackHeader(encKey, pack.subarray(headerStart, pack.length - 4), headerStart);
}

/** The length of the sealed header, from a pack's last 4 bytes (its trailer). */
export function packHeaderLength(trailer: Buffer, packSize: number): number {
  if (packSize < 4 || trailer.length !== 4)
    throw new LifeboatError(ErrorCode.Corrupt, 'pack is shorter than its trailer');
  const headerLength = trailer.readUInt32LE(0);
  if (headerLength + 4 > packSize)
    throw new LifeboatError(ErrorCode.Corrupt, 'pack header length points outside the pack');
  return headerLength;
}

/** Open a sealed pack header that starts at `headerStart`, and check every entry lies before it. */
export function decodeSealedPackHeader(encKey: Buffer, sealed: Buffer, headerStart: number): PackEntry[] {
  const plain = open(encKey, 'pack-header', sealed);
  const r = new BinaryReader(plain, 'pack header');
  r.magic(PACK_MAGIC);
  const version = r.u8();
  if (version !== PACK_VERSION)
    throw new LifeboatError(ErrorCode.UnsupportedVersion, `pack format version ${version} is not supported`);
  const count = r.u32();
  r.checkCount(count, ENTRY_BYTES);
  const entries: PackEntry[] = [];
  for (let i = 0; i < count; i++) {
    const type = r.u8();
    if (type !== BlobType.Data && type !== BlobType.Tree)
      throw new LifeboatError(ErrorCode.Corrupt, `pack header has unknown blob type ${type}`);
    const entry: PackEntry = {
      type,
      id: Buffer.from(r.bytes(ID_BYTES)),
      offset: r.u32(),
      length: r.u32(),
      rawLength: r.u32(),
    };
    if (entry.offset + entry.length > headerStart)
      throw new LifeboatError(ErrorCode.Corrupt, 'pack header entry points outside the blob area');
    entries.push(entry);
  }
  r.end();
  return entries;
}

/**
 * Accumulates sealed blobs into one pack in memory. Each blob is copied into
 * one buffer as it is added (the buffer can be handed in, to be reused from
 * pack to pack: no large allocation per pack, and the blobs' own buffers are
 * garbage at once).
 */
export class PackBuilder {
  readonly type: BlobType;
  readonly entries: PackEntry[] = [];
  private size = 0;
  private buf: Buffer;

  constructor(type: BlobType, buffer?: Buffer) {
    this.type = type;
    this.buf = buffer ?? Buffer.allocUnsafe(64 * 1024);
  }

  /** The buffer the pack is built in (valid for reuse once the finished pack is no longer needed). */
  get buffer(): Buffer {
    return this.buf;
  }

  private reserve(n: number): void {
    if (this.size + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafeSlow(Math.max(this.size + n, this.buf.length * 2));
    this.buf.copy(bigger, 0, 0, this.size);
    this.buf = bigger;
  }

  get byteLength(): number {
    return this.size;
  }

  get count(): number {
    return this.entries.length;
  }

  /** Add a sealed blob, given whole or in pieces that concatenate to it. */
  add(id: Buffer, sealed: Buffer | readonly Buffer[], rawLength: number): void {
    const parts = Buffer.isBuffer(sealed) ? [sealed] : sealed;
    const length = parts.reduce((n, p) => n + p.length, 0);
    this.entries.push({ type: this.type, id, offset: this.size, length, rawLength });
    this.reserve(length);
    for (const p of parts) this.size += p.copy(this.buf, this.size);
  }

  /** The whole pack: the blobs, then the header. A view into `buffer`. */
  finish(encKey: Buffer): Buffer {
    const header = encodePackHeader(encKey, this.entries);
    this.reserve(header.length);
    const end = this.size + header.copy(this.buf, this.size);
    return this.buf.subarray(0, end);
  }
}
