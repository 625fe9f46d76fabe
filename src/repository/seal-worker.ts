import { createHash, createHmac } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { workerData } from 'node:worker_threads';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { ErrorCode, LifeboatError, isLifeboatError } from '../errors/index.js';
import { openBlob, sealVerified } from './blob-codec.js';
import { fileByteSource, readChunks } from './chunk-reader.js';
import { Chunker, gearTable, type ChunkerParams } from './chunker.js';
import { BlobCompressor } from './codec.js';
import { blobId } from './crypto.js';
import { ownBuffer, transferList } from './transfer.js';
import { writeWholeFile, type DirectWrite } from './whole-file-write.js';

/**
 * Worker thread: the CPU-heavy part of the pipeline — chunking and hashing
 * files, compression and encryption, and the reverse. Keys arrive once in
 * `workerData`.
 */
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
  id?: Buffer;
  /** Also return the SHA-256 of the whole data (small files are one blob). */
  wantHash?: boolean;
}

export type SealResult =
  | { id: Buffer; sealed: Buffer; rawLength: number; hash?: string }
  | { changed: true; id: Buffer }
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
  /** Re-hash the content against the id (deep check); the AEAD already binds the id. */
  verifyContent?: boolean;
  /** Write the content as this whole file instead of returning it (restore of single-blob files). */
  writeTo?: DirectWrite;
}

export type OpenResult = { data: Buffer } | { written: number } | { error: string; code: string };

/** The file could not be read (`errno`: ENOENT, EACCES, EIO, …). */
export interface ScanFailure {
  failed: string;
  errno: string;
}

export interface ScanResult {
  size: number;
  hash: string;
  /** 32-byte chunk ids, concatenated. */
  ids: Buffer;
  lengths: number[];
}

/** Consecutive chunks of one file, read with one read: `parts` give their ids and lengths in order. */
export interface SealRun {
  path: string;
  offset: number;
  parts: Array<{ id: Buffer; length: number }>;
}

export type WorkerTask =
  | { op: 'seal'; items: SealItem[] }
  | { op: 'sealRun'; run: SealRun }
  | { op: 'open'; buffer: Buffer; items: OpenItem[] }
  | { op: 'scan'; path: string };

async function readRange(path: string, offset: number, length: number): Promise<Buffer> {
  const fh = await openFile(path, 'r');
  try {
    const buf = Buffer.allocUnsafeSlow(length);
    let got = 0;
    while (got < length) {
      const { bytesRead } = await fh.read(buf, got, length - got, offset + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return got === length ? buf : buf.subarray(0, got);
  } finally {
    await fh.close();
  }
}

function sealData(id: Buffer, data: Buffer, wantHash?: boolean): SealResult {
  const { sealed } = sealVerified(encKey, compressor, id, data);
  const result: SealResult = { id: ownBuffer(id), sealed: ownBuffer(sealed), rawLength: data.length };
  if (wantHash) result.hash = createHash('sha256').update(data).digest('hex');
  return result;
}

/** Read a run of chunks once; each must still hash to its id, else the file changed since it was scanned. */
async function sealRun(run: SealRun): Promise<SealResult[]> {
  const total = run.parts.reduce((n, p) => n + p.length, 0);
  let data: Buffer;
  try {
    data = await readRange(run.path, run.offset, total);
  } catch {
    // Unreadable now (deleted, permissions changed): report every chunk as changed; the
    // caller then reads the file once more itself and records the real error.
    return run.parts.map((p) => ({ changed: true, id: ownBuffer(Buffer.from(p.id)) }));
  }
  const results: SealResult[] = [];
  let at = 0;
  for (const part of run.parts) {
    const id = Buffer.from(part.id);
    const chunk = data.subarray(at, at + part.length);
    at += part.length;
    if (chunk.length !== part.length || !blobId(idKey, chunk).equals(id)) results.push({ changed: true, id: ownBuffer(id) });
    else results.push(sealData(id, chunk));
  }
  return results;
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
  return sealData(item.id ? Buffer.from(item.id) : blobId(idKey, data), data, item.wantHash);
}

function openOne(buffer: Buffer, item: OpenItem): OpenResult {
  try {
    if (item.offset + item.length > buffer.length) throw new LifeboatError(ErrorCode.Corrupt, 'blob lies outside the data read');
    const sealed = buffer.subarray(item.offset, item.offset + item.length);
    const data = openBlob(encKey, idKey, compressor, Buffer.from(item.id), sealed, item.rawLength, item.verifyContent ?? true);
    if (item.writeTo) {
      writeWholeFile(item.writeTo, data);
      return { written: data.length };
    }
    return { data: ownBuffer(data) };
  } catch (err) {
    return { error: (err as Error).message, code: isLifeboatError(err) ? err.code : 'failure' };
  }
}

/** Chunk a file and hash it: ids and lengths only, the data stays on disk. */
async function scanFile(path: string): Promise<ScanResult> {
  const fh = await openFile(path, 'r');
  try {
    const hash = createHash('sha256');
    const ids: Buffer[] = [];
    const lengths: number[] = [];
    let size = 0;
    for await (const chunk of readChunks(chunker, fileByteSource(fh), true)) {
      hash.update(chunk);
      ids.push(createHmac('sha256', idKey).update(chunk).digest());
      lengths.push(chunk.length);
      size += chunk.length;
    }
    return { size, hash: hash.digest('hex'), ids: ownBuffer(Buffer.concat(ids)), lengths };
  } finally {
    await fh.close();
  }
}

export default async function run(task: WorkerTask): Promise<unknown> {
  if (task.op === 'scan') {
    let r: ScanResult;
    try {
      r = await scanFile(task.path);
    } catch (err) {
      // Errors lose their `code` crossing threads: report a file's I/O error as data.
      const errno = (err as NodeJS.ErrnoException).code;
      if (!errno || !/^E[A-Z0-9]+$/.test(errno)) throw err;
      return { failed: (err as Error).message, errno } satisfies ScanFailure;
    }
    return move(withTransfer(r, [r.ids]) as never);
  }
  if (task.op === 'seal' || task.op === 'sealRun') {
    const results: SealResult[] = [];
    if (task.op === 'sealRun') results.push(...(await sealRun(task.run)));
    else for (const item of task.items) results.push(await sealOne(item));
    return move(withTransfer(results, results.flatMap((r) => ('sealed' in r ? [r.id, r.sealed] : 'id' in r ? [r.id] : []))) as never);
  }
  const buffer = Buffer.from(task.buffer.buffer, task.buffer.byteOffset, task.buffer.byteLength);
  const results = task.items.map((item) => openOne(buffer, item));
  return move(withTransfer(results, results.flatMap((r) => ('data' in r ? [r.data] : []))) as never);
}

/** Wrap a value so piscina transfers the given buffers instead of copying them. */
function withTransfer<T>(value: T, buffers: Buffer[]): unknown {
  const list = transferList(buffers);
  return {
    [transferableSymbol]: list,
    [valueSymbol]: value,
  };
}
