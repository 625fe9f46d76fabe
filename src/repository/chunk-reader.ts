import type { FileHandle } from 'node:fs/promises';
import type { Chunker } from './chunker.js';

/**
 * Reads a file (or any byte source) and yields its content-defined chunks as
 * independent buffers. Memory stays bounded: one window of at least twice the
 * maximum chunk size, whatever the size of the input.
 */
export type ByteSource = (into: Buffer, offset: number, length: number) => Promise<number>;

export function fileByteSource(fh: FileHandle): ByteSource {
  let position = 0;
  return async (into, offset, length) => {
    const { bytesRead } = await fh.read(into, offset, length, position);
    position += bytesRead;
    return bytesRead;
  };
}

export async function* readChunks(chunker: Chunker, source: ByteSource): AsyncGenerator<Buffer> {
  const windowSize = Math.max(chunker.params.max * 2, 8 * 1024 * 1024);
  const buf = Buffer.allocUnsafe(windowSize);
  let start = 0;
  let end = 0;
  let eof = false;
  for (;;) {
    while (!eof && end < windowSize) {
      const n = await source(buf, end, windowSize - end);
      if (n === 0) eof = true;
      end += n;
    }
    // Cut only with a full maximum chunk in view (or at the end): a cut that
    // reports "need more" would scan the same bytes again after the refill.
    while (start < end && (eof || end - start >= chunker.params.max)) {
      const len = chunker.cut(buf, start, end, eof);
      if (len < 0) break;
      yield Buffer.from(buf.subarray(start, start + len));
      start += len;
    }
    if (eof && start >= end) return;
    buf.copyWithin(0, start, end);
    end -= start;
    start = 0;
  }
}

/** Yields chunks of an async iterable of buffers (a stream). */
export function streamByteSource(stream: AsyncIterable<Uint8Array>): ByteSource {
  const it = stream[Symbol.asyncIterator]();
  let pending: Uint8Array | undefined;
  let pendingOffset = 0;
  return async (into, offset, length) => {
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
}
