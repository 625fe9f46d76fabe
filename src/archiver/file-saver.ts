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
 *
 * @module
 */

import { BlobType } from '../repository/format/index.js';
import { chunkFileInWorker } from '../repository/workers/index.js';
import { readChunks, streamByteSource, type ByteSource, type StreamChunking } from '../repository/chunking/index.js';
import type { Repository } from '../repository/repository.js';
import { SealBatcher } from '../repository/workers/index.js';
import type { SealResult } from '../repository/workers/index.js';
import type { BlobWriter } from '../repository/write-session.js';
import { Semaphore } from '../util/semaphore.js';
import type { BackupProgress } from './progress.js';
import { throwIfAborted } from './abort.js';
import { memoryLimits } from '../util/memory-profile.js';

/** The slice of a repository the saver uses: its workers, chunker and blob ids. */
export type SaverRepo = Pick<Repository, 'pool' | 'chunker' | 'blobIdOf'>;

export interface SavedContent {
  content: string[];
  size: number;
}

export class FileSaver {
  private readonly batcher: SealBatcher;
  private readonly budget: Semaphore;
  private readonly smallLimit: number;

  constructor(
    private readonly repo: SaverRepo,
    private readonly writer: BlobWriter,
    private readonly progress: BackupProgress,
    inFlightBytes = memoryLimits().inFlightBytes,
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

  async saveStream(
    stream: AsyncIterable<Uint8Array>,
    signal?: AbortSignal,
    chunking?: StreamChunking,
  ): Promise<SavedContent> {
    const source = streamByteSource(stream);
    try {
      return await this.saveChunked(source, signal, chunking);
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
    const id = this.repo.blobIdOf(data);
    const saved = { content: [id.toString('hex')], size: data.length };
    this.progress.bytesDone += data.length;
    if (!this.writer.has(id))
      await this.budget.with(saved.size, async () => this.store(await this.batcher.seal({ data, id }), saved.size));
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
    if (await this.writer.saveBlob(BlobType.Data, result.id, result.sealed, result.rawLength))
      this.progress.bytesAdded += length;
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
   * A file read once by a worker (see `chunkFileInWorker`): for each window of
   * chunks this thread says which ones to seal, and stores those the worker
   * sends sealed. The worker keeps at most one window of sealed chunks waiting
   * here, so memory per file stays bounded.
   */
  private async saveLarge(path: string, signal?: AbortSignal): Promise<SavedContent> {
    const content: string[] = [];
    const claimed = new Set<string>();
    const r = await chunkFileInWorker(this.repo.pool, path, {
      stopped: () => signal?.aborted === true,
      chunk: (id, length) => {
        content.push(id.toString('hex'));
        this.progress.bytesDone += length;
        const key = id.toString('latin1');
        if (claimed.has(key) || this.writer.has(id)) return false;
        claimed.add(key);
        return true;
      },
      store: async (blobs) => {
        for (const b of blobs) await this.store(b, 'rawLength' in b ? b.rawLength : 0);
      },
    });
    throwIfAborted(signal);
    if ('failed' in r) throw Object.assign(new Error(r.failed), { code: r.errno });
    if ('stopped' in r) throw new Error('the worker stopped reading a file without being asked to');
    return { content, size: r.size };
  }

  private async saveChunked(
    source: ByteSource,
    signal?: AbortSignal,
    chunking?: StreamChunking,
  ): Promise<SavedContent> {
    const content: string[] = [];
    const stores: Promise<boolean>[] = [];
    let size = 0;
    for await (const chunk of readChunks(this.repo.chunker, source, false, chunking)) {
      throwIfAborted(signal);
      const id = this.repo.blobIdOf(chunk);
      content.push(id.toString('hex'));
      const length = chunk.length;
      size += length;
      this.progress.bytesDone += length;
      if (this.writer.has(id)) continue;
      stores.push(
        (await this.inFlight(length, async () => this.store(await this.batcher.seal({ data: chunk, id }), length)))
          .done,
      );
    }
    await Promise.all(stores);
    return { content, size };
  }
}
