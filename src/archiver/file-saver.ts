import { createHmac } from 'node:crypto';
import { MessageChannel } from 'node:worker_threads';
import { BlobType } from '../repository/format/index.js';
import { readChunks, streamByteSource, type ByteSource } from '../repository/chunking/index.js';
import type { Packer } from '../repository/packer.js';
import type { Repository } from '../repository/repository.js';
import { type ChunkFileMessage, type ChunkFileReply, type SealResult, asBuffer, reviveSealResult } from '../repository/workers/index.js';
import { Semaphore } from '../util/semaphore.js';
import type { BackupProgress } from './progress.js';
import { SealBatcher } from './seal-batcher.js';
import { throwIfAborted } from './abort.js';

/**
 * Turns content into stored blobs, keeping every core busy:
 * - small files (under the minimum chunk size) are read, hashed, compressed
 *   and sealed as one blob by a worker, many files per worker task;
 * - larger files are read once by a worker, which chunks them and hashes the
 *   chunks a window at a time, asks this thread which of them the repository
 *   lacks, and seals only those (`ChunkFileTask`);
 * - streams (library only) are chunked on this thread and their new chunks
 *   sealed in workers.
 * Bytes in flight are bounded, whatever the file sizes.
 */
export interface SavedContent {
  content: string[];
  size: number;
}

export class FileSaver {
  private readonly batcher: SealBatcher;
  private readonly budget: Semaphore;
  private readonly smallLimit: number;

  constructor(
    private readonly repo: Repository,
    private readonly packer: Packer,
    private readonly progress: BackupProgress,
    inFlightBytes = 64 * 1024 * 1024,
  ) {
    this.batcher = new SealBatcher(() => repo.pool);
    this.budget = new Semaphore(inFlightBytes);
    this.smallLimit = repo.chunker.params.min;
  }

  async saveFile(path: string, size: number, signal?: AbortSignal): Promise<SavedContent> {
    throwIfAborted(signal);
    // Even a file of size 0 is read: /proc and /sys files report 0 and have content.
    if (size < this.smallLimit) {
      const saved = await this.budget.with(size, () => this.saveSmall(path, size));
      if (saved) return saved;
    }
    return this.saveLarge(path, signal);
  }

  async saveStream(stream: AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<SavedContent> {
    const source = streamByteSource(stream);
    try {
      return await this.saveChunked(source, signal);
    } finally {
      await source.close();
    }
  }

  /**
   * Content already in memory and below the minimum chunk size, stored as one
   * blob — as a small file is — so that it deduplicates with a backup of it.
   */
  async saveWhole(data: Buffer): Promise<SavedContent> {
    if (data.length === 0) return { content: [], size: 0 };
    // Hashed first: sealing transfers the buffer to a worker.
    const saved = { content: [this.repo.blobIdOf(data).toString('hex')], size: data.length };
    const id = Buffer.from(saved.content[0]!, 'hex');
    this.progress.bytesDone += data.length;
    if (!this.packer.knows(id)) await this.budget.with(saved.size, async () => this.store(await this.batcher.seal({ data, id }), saved.size));
    return saved;
  }

  /**
   * Wait for `bytes` of budget, then start `work`, releasing the budget when it
   * settles. Returns the started work (wrapped, so awaiting the budget does not
   * await the work); the caller awaits it with its siblings later, so its
   * failure is observed there, not reported early as unhandled.
   */
  private async inFlight(bytes: number, work: () => Promise<boolean>): Promise<{ done: Promise<boolean> }> {
    await this.budget.acquire(bytes);
    const done = work().finally(() => this.budget.release(bytes));
    done.catch(() => undefined);
    return { done };
  }

  private async store(result: SealResult, length: number): Promise<boolean> {
    if (!('sealed' in result)) return false;
    if (await this.packer.add(BlobType.Data, result.id, result.sealed, result.rawLength)) this.progress.bytesAdded += length;
    return true;
  }

  /** A small file is read, hashed and sealed by a worker; undefined when it grew meanwhile. */
  private async saveSmall(path: string, size: number): Promise<SavedContent | undefined> {
    const r = await this.batcher.seal({ file: { path, size } });
    if ('grew' in r) return undefined;
    if ('failed' in r) throw Object.assign(new Error(r.failed), { code: r.errno ?? 'EIO' });
    if (r.rawLength === 0) return { content: [], size: 0 };
    await this.store(r, r.rawLength);
    this.progress.bytesDone += r.rawLength;
    return { content: [r.id.toString('hex')], size: r.rawLength };
  }

  /**
   * A file read once by a worker (see `ChunkFileTask`): for each window of
   * chunks it sends the ids, this thread answers which ones to seal, and the
   * worker sends those sealed. The worker keeps at most one window of sealed
   * chunks waiting here, so memory per file stays bounded.
   */
  private async saveLarge(path: string, signal?: AbortSignal): Promise<SavedContent> {
    const { port1, port2 } = new MessageChannel();
    const content: string[] = [];
    const claimed = new Set<string>();
    let failure: unknown;
    let storing: Promise<void> = Promise.resolve();
    const reply = (m: ChunkFileReply) => port1.postMessage(m);
    port1.on('message', (m: ChunkFileMessage) => {
      if (failure !== undefined || signal?.aborted) return reply({ stop: true });
      if ('ids' in m) {
        const ids = asBuffer(m.ids);
        const seal = new Uint8Array(m.lengths.length);
        for (let i = 0; i < m.lengths.length; i++) {
          const id = ids.subarray(i * 32, i * 32 + 32);
          content.push(id.toString('hex'));
          this.progress.bytesDone += m.lengths[i]!;
          const key = id.toString('latin1');
          if (claimed.has(key) || this.packer.knows(id)) continue;
          claimed.add(key);
          seal[i] = 1;
        }
        return reply({ seal });
      }
      const blobs = m.sealed.map(reviveSealResult);
      storing = storing
        .then(async () => {
          for (const r of blobs) await this.store(r, 'rawLength' in r ? r.rawLength : 0);
          reply({ stored: true });
        })
        .catch((err: unknown) => {
          failure ??= err;
          reply({ stop: true });
        });
    });
    try {
      const r = await this.repo.pool.chunkFile(path, port2);
      await storing;
      if (failure !== undefined) throw failure;
      throwIfAborted(signal);
      if ('failed' in r) throw Object.assign(new Error(r.failed), { code: r.errno });
      if ('stopped' in r) throw new Error('the worker stopped reading a file without being asked to');
      return { content, size: r.size };
    } finally {
      port1.close();
    }
  }

  private async saveChunked(source: ByteSource, signal?: AbortSignal): Promise<SavedContent> {
    const idKey = this.repo.keys.blobId;
    const content: string[] = [];
    const stores: Promise<boolean>[] = [];
    let size = 0;
    for await (const chunk of readChunks(this.repo.chunker, source)) {
      throwIfAborted(signal);
      const id = createHmac('sha256', idKey).update(chunk).digest();
      content.push(id.toString('hex'));
      const length = chunk.length;
      size += length;
      this.progress.bytesDone += length;
      if (this.packer.knows(id)) continue;
      stores.push((await this.inFlight(length, async () => this.store(await this.batcher.seal({ data: chunk, id }), length))).done);
    }
    await Promise.all(stores);
    return { content, size };
  }
}
