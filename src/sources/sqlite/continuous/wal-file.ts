import type { FileHandle } from 'node:fs/promises';

/**
 * Reading a SQLite write-ahead log the way SQLite's own recovery does: a
 * 32-byte header, then frames of a 24-byte header and one page, each valid
 * only when its salts match the header's and its checksum continues the
 * chain. A transaction is committed once its last frame (non-zero "database
 * size after commit") is valid; frames after the last such frame are never
 * returned.
 */

export const WAL_HEADER_BYTES = 32;
export const FRAME_HEADER_BYTES = 24;
const MAGIC_LE = 0x377f0682;
const MAGIC_BE = 0x377f0683;

export interface WalHeader {
  /** Checksums are computed over big-endian words (magic ends in 3). */
  bigEndian: boolean;
  pageSize: number;
  checkpointSeq: number;
  salt1: number;
  salt2: number;
  /** The header's own checksum: the first frame's chain starts from it. */
  checksum: [number, number];
}

/** Where a reader stands in one log: after `frame` frames, with the chain value of the last. */
export interface ChainPoint {
  frame: number;
  checksum: [number, number];
}

export interface CommittedFrames {
  /** Frames (header and page each), in order, up to and including the last commit frame found. */
  frames: Buffer[];
  /** Commit frames among them: 1-based frame number in the log and database size in pages after it. */
  commits: Array<{ frame: number; dbSize: number }>;
  /** The point after the last commit frame (equal to `from` when none was found). */
  end: ChainPoint;
}

/** Add 32-bit words of `buf[start, end)` to a SQLite WAL checksum (the "s1 += x0 + s2; s2 += x1 + s1" of wal.c). */
export function walChecksum(
  buf: Buffer,
  start: number,
  end: number,
  bigEndian: boolean,
  seed: [number, number],
): [number, number] {
  let s0 = seed[0];
  let s1 = seed[1];
  for (let i = start; i < end; i += 8) {
    const x0 = bigEndian ? buf.readUInt32BE(i) : buf.readUInt32LE(i);
    const x1 = bigEndian ? buf.readUInt32BE(i + 4) : buf.readUInt32LE(i + 4);
    s0 = (s0 + x0 + s1) >>> 0;
    s1 = (s1 + x1 + s0) >>> 0;
  }
  return [s0, s1];
}

/** The header, or undefined when the file is shorter than one or its magic, version or checksum is wrong (an empty or reset log). */
export function parseWalHeader(buf: Buffer): WalHeader | undefined {
  if (buf.length < WAL_HEADER_BYTES) return undefined;
  const magic = buf.readUInt32BE(0);
  if (magic !== MAGIC_LE && magic !== MAGIC_BE) return undefined;
  if (buf.readUInt32BE(4) !== 3007000) return undefined;
  const bigEndian = magic === MAGIC_BE;
  const checksum = walChecksum(buf, 0, 24, bigEndian, [0, 0]);
  if (checksum[0] !== buf.readUInt32BE(24) || checksum[1] !== buf.readUInt32BE(28)) return undefined;
  const rawSize = buf.readUInt32BE(8);
  const pageSize = rawSize === 1 ? 65536 : rawSize;
  if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) return undefined;
  return {
    bigEndian,
    pageSize,
    checkpointSeq: buf.readUInt32BE(12),
    salt1: buf.readUInt32BE(16),
    salt2: buf.readUInt32BE(20),
    checksum,
  };
}

export function frameOffset(frame: number, pageSize: number): number {
  return WAL_HEADER_BYTES + frame * (FRAME_HEADER_BYTES + pageSize);
}

export async function readWalHeader(fd: FileHandle): Promise<WalHeader | undefined> {
  const buf = Buffer.alloc(WAL_HEADER_BYTES);
  const { bytesRead } = await fd.read(buf, 0, WAL_HEADER_BYTES, 0);
  return parseWalHeader(buf.subarray(0, bytesRead));
}

/** Whether frame `point.frame` of the log is still the one whose chain value was recorded (a resumed reader's proof of continuity). */
export async function frameStillThere(fd: FileHandle, header: WalHeader, point: ChainPoint): Promise<boolean> {
  if (point.frame === 0) return true;
  const buf = Buffer.alloc(FRAME_HEADER_BYTES);
  const { bytesRead } = await fd.read(buf, 0, FRAME_HEADER_BYTES, frameOffset(point.frame - 1, header.pageSize));
  if (bytesRead < FRAME_HEADER_BYTES) return false;
  return (
    buf.readUInt32BE(8) === header.salt1 &&
    buf.readUInt32BE(12) === header.salt2 &&
    buf.readUInt32BE(16) === point.checksum[0] &&
    buf.readUInt32BE(20) === point.checksum[1]
  );
}

/**
 * How much of the log one read asks for. A log restarted after a checkpoint
 * keeps its size and holds stale frames of the previous round after the new
 * ones; reading in bounded chunks and stopping at the first frame that does
 * not continue the chain reads (and keeps referenced) only about what is new,
 * not the whole rest of the file at every poll.
 */
const READ_CHUNK_BYTES = 256 * 1024;

/**
 * The valid frames after `from`, up to the last commit frame among them.
 * Reads what the file holds now; a frame being written (short, or with a
 * checksum that does not continue the chain) ends the valid part.
 */
export async function readCommittedFrames(
  fd: FileHandle,
  header: WalHeader,
  from: ChainPoint,
): Promise<CommittedFrames> {
  const frameBytes = FRAME_HEADER_BYTES + header.pageSize;
  const chunkFrames = Math.max(1, Math.floor(READ_CHUNK_BYTES / frameBytes));
  let offset = frameOffset(from.frame, header.pageSize);
  const size = (await fd.stat()).size;
  const none: CommittedFrames = { frames: [], commits: [], end: from };
  const frames: Buffer[] = [];
  const commits: CommittedFrames['commits'] = [];
  let chain = from.checksum;
  let end = from;
  let committedCount = 0;
  let n = from.frame + 1;
  let valid = true;
  while (valid && size >= offset + frameBytes) {
    const length = Math.min(chunkFrames, Math.floor((size - offset) / frameBytes)) * frameBytes;
    const buf = Buffer.allocUnsafe(length);
    let got = 0;
    while (got < length) {
      const { bytesRead } = await fd.read(buf, got, length - got, offset + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    let off = 0;
    for (; off + frameBytes <= got; off += frameBytes, n++) {
      valid = false;
      if (buf.readUInt32BE(off + 8) !== header.salt1 || buf.readUInt32BE(off + 12) !== header.salt2) break;
      const pgno = buf.readUInt32BE(off);
      if (pgno === 0) break;
      let sum = walChecksum(buf, off, off + 8, header.bigEndian, chain);
      sum = walChecksum(buf, off + FRAME_HEADER_BYTES, off + frameBytes, header.bigEndian, sum);
      if (sum[0] !== buf.readUInt32BE(off + 16) || sum[1] !== buf.readUInt32BE(off + 20)) break;
      valid = true;
      chain = sum;
      frames.push(buf.subarray(off, off + frameBytes));
      const dbSize = buf.readUInt32BE(off + 4);
      if (dbSize !== 0) {
        commits.push({ frame: n, dbSize });
        committedCount = frames.length;
        end = { frame: n, checksum: sum };
      }
    }
    // A short read (the file shrank meanwhile) ends the valid part too.
    if (got < length) valid = false;
    offset += length;
  }
  if (committedCount === 0) return none;
  return { frames: frames.slice(0, committedCount), commits, end };
}
