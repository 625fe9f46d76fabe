import { ErrorCode, LifeboatError } from '../../../errors/index.js';
import { BlobCompressor } from '../../../repository/format/index.js';
import { open, seal } from '../../../repository/crypto/index.js';
import type { Repository } from '../../../repository/repository.js';

/**
 * The bytes of stream objects: `codec (u8) ‖ raw length (u32 LE) ‖ payload`,
 * sealed with AAD `wal` ‖ the object's name (so an object moved to another
 * name fails to open). A segment's raw bytes are `header length (u32 LE) ‖
 * header JSON ‖ frames`; a full copy's manifest is JSON; its parts are raw
 * database bytes.
 */

export interface SegmentHeader {
  v: 1;
  generation: string;
  /** Log index within the generation (one per log restart) and frame range in that log. */
  index: number;
  first: number;
  last: number;
  /** The position this segment continues: the last frame applied before its first. */
  prev: { index: number; frame: number };
  pageSize: number;
  salts: [number, number];
  /** The checksum chain value after `last` (what a resumed replicator checks in the log). */
  checksum: [number, number];
  /** [frame, commit time in ms, database pages after it] of each commit frame. */
  commits: Array<[number, number, number]>;
  /** Device and inode of the database file (a replaced file is a new generation). */
  fileId: string;
}

export interface BaseManifest {
  v: 1;
  generation: string;
  index: number;
  frame: number;
  /** Salts of the log at `frame` (null when the log held no valid header). */
  salts: [number, number] | null;
  checksum: [number, number];
  pageSize: number;
  pages: number;
  ms: number;
  fileId: string;
  parts: number;
  bytes: number;
}

const compressors = new Map<number, BlobCompressor>();
function compressorFor(repo: Repository): BlobCompressor {
  const level = repo.config.compression.level;
  let c = compressors.get(level);
  if (!c) compressors.set(level, (c = new BlobCompressor(level)));
  return c;
}

export function sealStreamObject(repo: Repository, name: string, raw: Buffer): Buffer {
  const { codec, payload } = compressorFor(repo).compress(raw);
  const head = Buffer.alloc(5);
  head[0] = codec;
  head.writeUInt32LE(raw.length, 1);
  return seal(repo.keys.encryption, 'wal', [head, payload], Buffer.from(name));
}

export function openStreamObject(repo: Repository, name: string, sealed: Buffer): Buffer {
  const plain = open(repo.keys.encryption, 'wal', sealed, Buffer.from(name));
  if (plain.length < 5) throw new LifeboatError(ErrorCode.Corrupt, `stream object ${name} is too short`);
  return compressorFor(repo).decompress(plain[0]!, plain.subarray(5), plain.readUInt32LE(1));
}

export function encodeSegment(header: SegmentHeader, frames: Buffer[]): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(4);
  len.writeUInt32LE(json.length);
  return Buffer.concat([len, json, ...frames]);
}

export function decodeSegment(name: string, raw: Buffer): { header: SegmentHeader; frames: Buffer } {
  const len = raw.length >= 4 ? raw.readUInt32LE(0) : -1;
  if (len < 0 || 4 + len > raw.length)
    throw new LifeboatError(ErrorCode.Corrupt, `stream segment ${name} has a damaged header`);
  const header = JSON.parse(raw.subarray(4, 4 + len).toString('utf8')) as SegmentHeader;
  const frames = raw.subarray(4 + len);
  const frameBytes = 24 + header.pageSize;
  if (header.v !== 1 || frames.length !== (header.last - header.first + 1) * frameBytes) {
    throw new LifeboatError(ErrorCode.Corrupt, `stream segment ${name} does not hold the frames its header names`);
  }
  return { header, frames };
}

export async function putStreamObject(repo: Repository, name: string, raw: Buffer): Promise<number> {
  const sealed = sealStreamObject(repo, name, raw);
  await repo.storage.put(name, sealed);
  return sealed.length;
}

export async function getStreamObject(repo: Repository, name: string): Promise<Buffer> {
  return openStreamObject(repo, name, await repo.storage.get(name));
}

/** The stream id of a source: a keyed hash of its name, so storage names reveal no source names. */
export function streamIdOf(repo: Repository, source: string): string {
  return repo
    .blobIdOf(Buffer.from(`lifeboat sqlite stream\u0000${source}`))
    .toString('hex')
    .slice(0, 32);
}
