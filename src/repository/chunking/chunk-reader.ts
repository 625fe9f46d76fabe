/**
 * Reads a file (or any byte source) and yields its content-defined chunks as
 * independent buffers. Memory stays bounded: one window of at least twice the
 * maximum chunk size, whatever the size of the input.
 *
 * @module
 */

import type { FileHandle } from 'node:fs/promises';
import type { Chunker } from './chunker.js';
import { PostgresTarCutter, type PostgresTarChunking } from './postgres-tar.js';

/** A chunking rule a stream declares for itself (its producer knows what it is): ADR 0044. */
export type StreamChunking = PostgresTarChunking;

export type ByteSource = (into: Buffer, offset: number, length: number) => Promise<number>;

export function fileByteSource(fh: FileHandle): ByteSource {
  let position = 0;
  return async (into, offset, length) => {
    const { bytesRead } = await fh.read(into, offset, length, position);
    position += bytesRead;
    return bytesRead;
  };
}

/**
 * SQLite databases change page by page, often scattered over the whole file:
 * content-defined chunks would almost all change with a 1% row update. A file
 * that starts with the SQLite header is therefore cut at page boundaries into
 * chunks of max(page size, 8 KiB) (measured, ADR 0010: two 4 KiB pages per
 * chunk add about as few bytes as one while keeping the per-chunk overhead of
 * a first backup low). Returns the chunk size, or undefined for any other
 * content.
 */
export function sqliteChunkSize(head: Uint8Array): number | undefined {
  if (head.length < 100) return undefined;
  if (Buffer.from(head.buffer, head.byteOffset, 16).toString('latin1') !== 'SQLite format 3\0') return undefined;
  const raw = (head[16]! << 8) | head[17]!;
  const size = raw === 1 ? 65536 : raw;
  if (size < 512 || size > 65536 || (size & (size - 1)) !== 0) return undefined;
  return Math.max(size, 8192);
}

/**
 * The lengths of the chunks that can be cut from `buf[start, end)` now: every
 * chunk that has a full maximum-size chunk (or page) in view after its start,
 * or all of them at the end of the input (`eof`). A content-defined cut that
 * reported "need more" would scan the same bytes again after the refill, so
 * the window is refilled first. `page` is the SQLite chunk size, if any.
 */
export function cutWindow(
  chunker: Chunker,
  buf: Uint8Array,
  start: number,
  end: number,
  eof: boolean,
  page: number | undefined,
): number[] {
  const need = page ?? chunker.params.max;
  const lengths: number[] = [];
  while (start < end && (eof || end - start >= need)) {
    const len = page ? Math.min(page, end - start) : chunker.cut(buf, start, end, eof);
    if (len < 0) break;
    lengths.push(len);
    start += len;
  }
  return lengths;
}

/** The lengths of the chunks a stream's own rule cuts from `buf[start, end)` now. */
function cutByRule(cutter: PostgresTarCutter, buf: Uint8Array, start: number, end: number, eof: boolean): number[] {
  const lengths: number[] = [];
  while (start < end) {
    const len = cutter.cut(buf, start, end, eof);
    if (len < 0) break;
    lengths.push(len);
    start += len;
  }
  return lengths;
}

/**
 * With `views`, chunks are views into the reading window, valid only until the
 * next chunk is requested — for callers that only hash them (no copy, no garbage).
 * `chunking` is the stream's own rule, if it declares one; else content decides
 * (and SQLite content is cut at its pages).
 */
export async function* readChunks(
  chunker: Chunker,
  source: ByteSource,
  views = false,
  chunking?: StreamChunking,
): AsyncGenerator<Buffer> {
  const windowSize = Math.max(chunker.params.max * 2, 8 * 1024 * 1024);
  const buf = Buffer.allocUnsafe(windowSize);
  let start = 0;
  let end = 0;
  let eof = false;
  let page: number | undefined;
  let first = true;
  const rule = chunking ? new PostgresTarCutter(chunker, chunking) : undefined;
  for (;;) {
    while (!eof && end < windowSize) {
      const n = await source(buf, end, windowSize - end);
      if (n === 0) eof = true;
      end += n;
    }
    if (first) {
      first = false;
      if (!rule) page = sqliteChunkSize(buf.subarray(0, end));
    }
    const lengths = rule ? cutByRule(rule, buf, start, end, eof) : cutWindow(chunker, buf, start, end, eof, page);
    for (const len of lengths) {
      yield views ? buf.subarray(start, start + len) : Buffer.from(buf.subarray(start, start + len));
      start += len;
    }
    if (eof && start >= end) return;
    buf.copyWithin(0, start, end);
    end -= start;
    start = 0;
  }
}

/** Yields chunks of an async iterable of buffers (a stream). */
export function streamByteSource(stream: AsyncIterable<Uint8Array>): ByteSource & { close: () => Promise<void> } {
  const it = stream[Symbol.asyncIterator]();
  let pending: Uint8Array | undefined;
  let pendingOffset = 0;
  const read: ByteSource = async (into, offset, length) => {
    // An empty piece is not the end of the stream: only `done` is.
    while (!pending || pendingOffset >= pending.length) {
      const next = await it.next();
      if (next.done) return 0;
      pending = next.value;
      pendingOffset = 0;
    }
    const n = Math.min(length, pending.length - pendingOffset);
    into.set(pending.subarray(pendingOffset, pendingOffset + n), offset);
    pendingOffset += n;
    return n;
  };
  // Ending the iteration early runs the producer's cleanup (a dump tool's process is killed).
  return Object.assign(read, { close: async () => void (await it.return?.()) });
}
