/**
 * Worker thread: the CPU-heavy part of the pipeline — chunking and hashing
 * files, compression and encryption, and the reverse. Keys arrive once in
 * `workerData`.
 *
 * @module
 */

import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { workerData, type MessagePort } from 'node:worker_threads';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { ErrorCode, LifeboatError, isLifeboatError } from '../../errors/index.js';
// The worker imports inner files of the other rooms, not their faces: a face would load its whole
// room into every worker thread (the format room's zod schemas alone cost about 0.3 s a thread).
import { openBlob, sealVerifiedParts } from '../format/blob-codec.js';
import { cutWindow, sqliteChunkSize } from '../chunking/chunk-reader.js';
import { Chunker, gearTable, type ChunkerParams } from '../chunking/chunker.js';
import { BlobCompressor } from '../format/codec.js';
import { asBlobId, type BlobId } from '../format/blob-types.js';
import { blobId, blobIdInto } from '../crypto/crypto.js';
import { ownBuffer, ownsItsMemory, transferList } from './transfer.js';
import { writeWholeFile, type DirectWrite } from './whole-file-write.js';

export interface WorkerSetup {
  encryption: Uint8Array;
  blobId: Uint8Array;
  chunkerKey: Uint8Array;
  chunker: ChunkerParams;
  level: number;
}

const setup = workerData as WorkerSetup;
const encKey = Buffer.from(setup.encryption);
const idKey = Buffer.from(setup.blobId);
const compressor = new BlobCompressor(setup.level);
const chunker = new Chunker(setup.chunker, gearTable(Buffer.from(setup.chunkerKey)));

export interface SealItem {
  /** The content, or a small file to read it from (see `file`). */
  data?: Buffer;
  /** Read a whole small file here (its size as lstat saw it; a file that grew is read whole). */
  file?: { path: string; size: number };
  /** Known id (computed by the caller); computed here when absent. */
  id?: BlobId;
}

export type SealResult =
  /** `sealed`: the envelope in pieces that concatenate to it. */
  | { id: BlobId; sealed: Buffer[]; rawLength: number }
  /** The small file grew past the size lstat reported: the caller reads it as a large file. */
  | { grew: true }
  /** The file could not be read: `errno` is the system error code (ENOENT, EACCES, …). */
  | { failed: string; errno?: string };

/** A sealed blob at `offset`/`length` of the task's buffer (a pack or a range of one). */
export interface OpenItem {
  id: Buffer;
  offset: number;
  length: number;
  rawLength: number;
  /** Re-hash the content against the id (default true); the AEAD already binds the id. */
  verifyContent?: boolean;
  /** Write the content as this whole file instead of returning it (restore of single-blob files). */
  writeTo?: DirectWrite;
  /**
   * Write the content at these positions of files the caller opened (`fd`
   * numbers are process-wide) instead of returning it (restore of files made
   * of several blobs).
   */
  writeAt?: Array<{ fd: number; position: number }>;
}

export type OpenResult = { data: Buffer } | { written: number } | { error: string; code: string };

/** The file could not be read (`errno`: ENOENT, EACCES, EIO, …). */
export interface ReadFailure {
  failed: string;
  errno: string;
}

/**
 * A file chunked, hashed and sealed in one read (`chunkFile`). The worker and
 * the main thread talk over `port`, one segment (the chunks cut from one
 * filling of the reading window) at a time:
 * - worker → main `{ ids, lengths }`: the segment's chunk ids (32 bytes each,
 *   concatenated) and lengths, in file order;
 * - main → worker `{ seal }`: one byte per chunk, 1 for the chunks the
 *   repository lacks (the worker seals only those), or `{ stop: true }`;
 * - worker → main `{ sealed }`: the sealed new chunks of the segment;
 * - main → worker `{ stored: true }` once they are in the packer, or `{ stop: true }`.
 * The worker reads on while the main thread stores, but has at most one
 * segment's sealed blobs waiting to be stored: memory stays bounded.
 */
export interface ChunkFileTask {
  op: 'chunkFile';
  path: string;
  port: MessagePort;
}

export type ChunkFileResult = { size: number } | { stopped: true } | ReadFailure;

export type ChunkFileMessage = { ids: Buffer; lengths: number[] } | { sealed: SealResult[] };
export type ChunkFileReply = { seal: Uint8Array } | { stored: true } | { stop: true };

export type WorkerTask =
  { op: 'seal'; items: SealItem[] } | { op: 'open'; buffer: Buffer; items: OpenItem[] } | ChunkFileTask;

/** `id` goes back with the result, transferred: a view into a larger buffer is copied first (`ownBuffer`). */
function sealData(id: BlobId, data: Buffer): SealResult {
  const { sealed } = sealVerifiedParts(encKey, compressor, id, data);
  return { id: asBlobId(ownBuffer(id)), sealed, rawLength: data.length };
}

/** Read a small file with synchronous calls: cheap in a worker, and no round trip per file. Undefined when it grew. */
function readSmallFileSync(path: string, size: number): Buffer | undefined {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(size + 1);
    let got = 0;
    for (;;) {
      const n = readSync(fd, buf, got, buf.length - got, got);
      if (n === 0) return buf.subarray(0, got);
      got += n;
      if (got === buf.length) return undefined;
    }
  } finally {
    closeSync(fd);
  }
}

async function sealOne(item: SealItem): Promise<SealResult> {
  let data: Buffer;
  if (item.file) {
    let read: Buffer | undefined;
    try {
      read = readSmallFileSync(item.file.path, item.file.size);
    } catch (err) {
      const errno = (err as NodeJS.ErrnoException).code;
      return { failed: (err as Error).message, ...(errno ? { errno } : {}) };
    }
    if (!read) return { grew: true };
    data = read;
  } else {
    data = Buffer.from(item.data!.buffer, item.data!.byteOffset, item.data!.byteLength);
  }
  return sealData(item.id ? asBlobId(Buffer.from(item.id)) : blobId(idKey, data), data);
}

/** `spent` receives the buffers this blob allocated that nothing refers to once the result is built. */
function openOne(buffer: Buffer, item: OpenItem, spent: Buffer[]): OpenResult {
  try {
    if (item.offset + item.length > buffer.length)
      throw new LifeboatError(ErrorCode.Corrupt, 'blob lies outside the data read');
    const sealed = buffer.subarray(item.offset, item.offset + item.length);
    const writeOut = item.writeTo !== undefined || item.writeAt !== undefined;
    const data = openBlob(
      encKey,
      idKey,
      compressor,
      Buffer.from(item.id),
      sealed,
      item.rawLength,
      item.verifyContent ?? true,
      writeOut,
      spent,
    );
    if (item.writeTo) {
      writeWholeFile(item.writeTo, data);
      return { written: data.length };
    }
    if (item.writeAt) {
      for (const { fd, position } of item.writeAt) {
        for (let off = 0; off < data.length;) off += writeSync(fd, data, off, data.length - off, position + off);
      }
      return { written: data.length };
    }
    return { data: ownBuffer(data) };
  } catch (err) {
    return { error: (err as Error).message, code: isLifeboatError(err) ? err.code : 'failure' };
  }
}

/** The reading window, reused by every file this worker chunks (one task at a time). */
const WINDOW = Math.max(setup.chunker.max * 2, 8 * 1024 * 1024);
let window: Buffer | undefined;

/** Replies from the main thread, by kind (seal masks and store acknowledgements interleave). */
class Inbox {
  private readonly seals: Uint8Array[] = [];
  private acks = 0;
  private wake: (() => void) | undefined;
  stopped = false;

  constructor(port: MessagePort) {
    port.on('message', (m: ChunkFileReply) => {
      if ('stop' in m) this.stopped = true;
      else if ('seal' in m) this.seals.push(m.seal);
      else this.acks++;
      const wake = this.wake;
      this.wake = undefined;
      wake?.();
    });
  }

  private async until<T>(take: () => T | undefined): Promise<T | undefined> {
    for (;;) {
      if (this.stopped) return undefined;
      const got = take();
      if (got !== undefined) return got;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  /** The next seal mask; undefined once the main thread said stop. */
  seal(): Promise<Uint8Array | undefined> {
    return this.until(() => this.seals.shift());
  }

  /** The next store acknowledgement; false once the main thread said stop. */
  async stored(): Promise<boolean> {
    return (await this.until(() => (this.acks > 0 ? this.acks-- : undefined))) !== undefined;
  }
}

/** Chunk, hash and seal the new chunks of a file, reading it once (see `ChunkFileTask`). */
async function chunkFile(path: string, port: MessagePort): Promise<ChunkFileResult> {
  const inbox = new Inbox(port);
  const fh = await openFile(path, 'r');
  try {
    const buf = (window ??= chunker.window(WINDOW));
    let position = 0;
    let end = 0;
    let eof = false;
    let page: number | undefined;
    let size = 0;
    let unacknowledged = false;
    for (let first = true; ; first = false) {
      while (!eof && end < buf.length) {
        const { bytesRead } = await fh.read(buf, end, buf.length - end, position);
        if (bytesRead === 0) eof = true;
        end += bytesRead;
        position += bytesRead;
      }
      if (first) page = sqliteChunkSize(buf.subarray(0, end));
      const lengths = cutWindow(chunker, buf, 0, end, eof, page);
      const start = lengths.reduce((n, l) => n + l, 0);
      if (lengths.length) {
        const ids = Buffer.from(new ArrayBuffer(lengths.length * 32));
        let at = 0;
        for (let i = 0; i < lengths.length; i++) {
          blobIdInto(idKey, buf.subarray(at, at + lengths[i]!), ids, i * 32);
          at += lengths[i]!;
        }
        port.postMessage({ ids, lengths } satisfies ChunkFileMessage); // cloned: the ids are used again below
        const mask = await inbox.seal();
        if (!mask) return { stopped: true };
        const sealed: SealResult[] = [];
        at = 0;
        for (let i = 0; i < lengths.length; i++) {
          if (mask[i])
            sealed.push(sealData(asBlobId(ids.subarray(i * 32, i * 32 + 32)), buf.subarray(at, at + lengths[i]!)));
          at += lengths[i]!;
        }
        size += at;
        // At most one segment's sealed blobs wait in the main thread.
        if (unacknowledged && !(await inbox.stored())) return { stopped: true };
        unacknowledged = false;
        if (sealed.length) {
          port.postMessage(
            { sealed } satisfies ChunkFileMessage,
            transferList(sealed.flatMap((r) => ('sealed' in r ? [r.id, ...r.sealed] : []))),
          );
          unacknowledged = true;
        }
      }
      if (eof && start >= end) break;
      buf.copyWithin(0, start, end);
      end -= start;
    }
    if (unacknowledged && !(await inbox.stored())) return { stopped: true };
    return { size };
  } finally {
    port.close();
    await fh.close();
  }
}

export default async function run(task: WorkerTask): Promise<unknown> {
  if (task.op === 'chunkFile') {
    try {
      return await chunkFile(task.path, task.port);
    } catch (err) {
      // Errors lose their `code` crossing threads: report a file's I/O error as data.
      const errno = (err as NodeJS.ErrnoException).code;
      if (!errno || !/^E[A-Z0-9]+$/.test(errno)) throw err;
      return { failed: (err as Error).message, errno } satisfies ReadFailure;
    }
  }
  if (task.op === 'seal') {
    const results: SealResult[] = [];
    for (const item of task.items) results.push(await sealOne(item));
    return move(
      withTransfer(
        results,
        results.flatMap((r) => ('sealed' in r ? [r.id, ...r.sealed] : [])),
      ) as never,
    );
  }
  const buffer = Buffer.from(task.buffer.buffer, task.buffer.byteOffset, task.buffer.byteLength);
  const spent: Buffer[] = [buffer];
  const results = task.items.map((item) => openOne(buffer, item, spent));
  // The range and the decrypted payloads go back with the results: a transfer frees them here at
  // once, and the main thread, which collects often, drops them soon. Left to this thread's rare
  // collections they piled up (about 64 MiB a worker: the restore peaked 150-250 MB higher).
  const released = spent.filter(ownsItsMemory);
  return move(withTransfer(results, [...results.flatMap((r) => ('data' in r ? [r.data] : [])), ...released]) as never);
}

/** Wrap a value so piscina transfers the given buffers instead of copying them. */
function withTransfer<T>(value: T, buffers: Buffer[]): unknown {
  const list = transferList(buffers);
  return {
    [transferableSymbol]: list,
    [valueSymbol]: value,
  };
}
