import { createHash } from 'node:crypto';
import { workerData } from 'node:worker_threads';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { isLifeboatError } from '../errors/index.js';
import { openBlob, sealBlob } from './blob-codec.js';
import { BlobCompressor } from './codec.js';
import { blobId } from './crypto.js';
import { ownBuffer, transferList } from './transfer.js';

/**
 * Worker thread: the CPU-heavy part of the pipeline (hashing, compression,
 * encryption, and the reverse). Keys arrive once in `workerData`.
 */
interface WorkerKeys {
  encryption: Uint8Array;
  blobId: Uint8Array;
  level: number;
}

const keys = workerData as WorkerKeys;
const encKey = Buffer.from(keys.encryption);
const idKey = Buffer.from(keys.blobId);
const compressor = new BlobCompressor(keys.level);

export interface SealItem {
  data: Buffer;
  /** Known id (computed by the caller); computed here when absent. */
  id?: Buffer;
  /** Also return the SHA-256 of the whole data (small files are one blob). */
  wantHash?: boolean;
}

export interface SealResult {
  id: Buffer;
  sealed: Buffer;
  rawLength: number;
  hash?: string;
}

export interface OpenItem {
  id: Buffer;
  sealed: Buffer;
  rawLength: number;
}

export type OpenResult = { data: Buffer } | { error: string; code: string };

export type WorkerTask = { op: 'seal'; items: SealItem[] } | { op: 'open'; items: OpenItem[] };

function sealOne(item: SealItem): SealResult {
  const data = Buffer.from(item.data.buffer, item.data.byteOffset, item.data.byteLength);
  const id = item.id ? Buffer.from(item.id) : blobId(idKey, data);
  const sealed = sealBlob(encKey, compressor, id, data);
  // Prove the stored form decodes to the input before it may leave this thread:
  // a faulty compressor must never produce an unrestorable backup.
  openBlob(encKey, idKey, compressor, id, sealed.sealed, data.length);
  const result: SealResult = { id: ownBuffer(id), sealed: ownBuffer(sealed.sealed), rawLength: data.length };
  if (item.wantHash) result.hash = createHash('sha256').update(data).digest('hex');
  return result;
}

function openOne(item: OpenItem): OpenResult {
  try {
    const data = openBlob(encKey, idKey, compressor, Buffer.from(item.id), Buffer.from(item.sealed.buffer, item.sealed.byteOffset, item.sealed.byteLength), item.rawLength);
    return { data: ownBuffer(data) };
  } catch (err) {
    return { error: (err as Error).message, code: isLifeboatError(err) ? err.code : 'failure' };
  }
}

export default function run(task: WorkerTask): unknown {
  if (task.op === 'seal') {
    const results = task.items.map(sealOne);
    return move(withTransfer(results, results.flatMap((r) => [r.id, r.sealed])) as never);
  }
  const results = task.items.map(openOne);
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
