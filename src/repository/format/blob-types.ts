/** The two kinds of blob: file content and directory trees. */
export const BlobType = { Data: 0, Tree: 1 } as const;
export type BlobType = (typeof BlobType)[keyof typeof BlobType];

/**
 * A blob's id: the keyed hash of its content (`blobId` in crypto.ts), 32
 * bytes. Branded so that an id is never confused with other bytes (a pack's
 * hash, content); a Buffer rather than hex, because the index, the packer and
 * the workers all work on the bytes. Trees and snapshots name blobs in hex:
 * `blobIdFromHex` is the one way back.
 */
export type BlobId = Buffer & { readonly __brand: 'BlobId' };

/** Bytes known to be a blob id (from an index file, a worker's reply). */
export function asBlobId(bytes: Buffer): BlobId {
  return bytes as BlobId;
}

/** A blob id as trees and snapshots write it (hex). */
export function blobIdFromHex(hex: string): BlobId {
  return Buffer.from(hex, 'hex') as BlobId;
}

/** Where a blob lives: its pack and its byte range there. */
export interface BlobLocation {
  id: BlobId;
  type: BlobType;
  packId: string;
  offset: number;
  /** Stored (sealed) length in the pack. */
  length: number;
  /** Length of the original content. */
  rawLength: number;
}
