/**
 * An index file lists packs and the blobs inside them, so readers need not
 * open every pack header. Plaintext layout (then sealed as kind `index`):
 *   "LBIX" ‖ version u8 ‖ supersedes count u32 ‖ ids ‖ pack count u32 ‖ packs
 * where a pack is id (32) ‖ size u64 ‖ blob count u32 ‖ blobs, and a blob is
 * type u8 ‖ id (32) ‖ offset u32 ‖ length u32 ‖ raw length u32.
 * `supersedes` names older index files this one replaces (used when indexes are
 * consolidated), so a reader may ignore those.
 *
 * @module
 */

import { ErrorCode, LifeboatError } from '../../errors/index.js';
import { BinaryReader, BinaryWriter } from './binary.js';
import { BlobType } from './blob-types.js';
import { ID_BYTES } from '../ids.js';

const INDEX_MAGIC = 'LBIX';
const INDEX_VERSION = 1;
const BLOB_BYTES = 1 + ID_BYTES + 12;

export interface IndexedBlob {
  type: BlobType;
  /** Bytes as an index file holds them (a `BlobId` once the index hands out a location). */
  id: Buffer;
  offset: number;
  length: number;
  rawLength: number;
}

export interface IndexedPack {
  id: string;
  size: number;
  blobs: IndexedBlob[];
}

export interface IndexFile {
  supersedes: string[];
  packs: IndexedPack[];
}

export function encodeIndexFile(index: IndexFile): Buffer {
  const w = new BinaryWriter().magic(INDEX_MAGIC).u8(INDEX_VERSION).u32(index.supersedes.length);
  for (const id of index.supersedes) w.bytes(Buffer.from(id, 'hex'));
  w.u32(index.packs.length);
  for (const pack of index.packs) {
    w.bytes(Buffer.from(pack.id, 'hex')).u64(pack.size).u32(pack.blobs.length);
    for (const b of pack.blobs) w.u8(b.type).bytes(b.id).u32(b.offset).u32(b.length).u32(b.rawLength);
  }
  return w.finish();
}

export function decodeIndexFile(plain: Buffer): IndexFile {
  const r = new BinaryReader(plain, 'index');
  r.magic(INDEX_MAGIC);
  const version = r.u8();
  if (version !== INDEX_VERSION)
    throw new LifeboatError(ErrorCode.UnsupportedVersion, `index format version ${version} is not supported`);
  const supersedeCount = r.u32();
  r.checkCount(supersedeCount, ID_BYTES);
  const supersedes: string[] = [];
  for (let i = 0; i < supersedeCount; i++) supersedes.push(r.bytes(ID_BYTES).toString('hex'));
  const packCount = r.u32();
  r.checkCount(packCount, ID_BYTES + 12);
  const packs: IndexedPack[] = [];
  for (let p = 0; p < packCount; p++) {
    const id = r.bytes(ID_BYTES).toString('hex');
    const size = r.u64();
    const blobCount = r.u32();
    r.checkCount(blobCount, BLOB_BYTES);
    const blobs: IndexedBlob[] = [];
    for (let i = 0; i < blobCount; i++) {
      const type = r.u8();
      if (type !== BlobType.Data && type !== BlobType.Tree)
        throw new LifeboatError(ErrorCode.Corrupt, `index has unknown blob type ${type}`);
      blobs.push({ type, id: Buffer.from(r.bytes(ID_BYTES)), offset: r.u32(), length: r.u32(), rawLength: r.u32() });
    }
    packs.push({ id, size, blobs });
  }
  r.end();
  return { supersedes, packs };
}
