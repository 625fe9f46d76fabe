import { createHash, createHmac } from 'node:crypto';
import { open as openFile } from 'node:fs/promises';
import { BlobType } from '../repository/blob-types.js';
import { fileByteSource, readChunks, streamByteSource, type ByteSource } from '../repository/chunk-reader.js';
import type { Packer } from '../repository/packer.js';
import type { Repository } from '../repository/repository.js';
import type { SealResult, SealRun } from '../repository/seal-worker.js';
import { Semaphore } from '../util/semaphore.js';
import type { BackupProgress } from './progress.js';
import { SealBatcher } from './seal-batcher.js';
import { throwIfAborted } from './abort.js';

/**
 * Turns content into stored blobs, keeping every core busy:
 * - small files (under the minimum chunk size) are read here and hashed,
 *   compressed and sealed as one blob in a worker;
 * - larger files are chunked and hashed in a worker (only ids come back); the
 *   chunks the repository lacks are then re-read from the file by a worker,
 *   checked against their id, compressed and sealed. A file that changed in
 *   between is read once more, consistently, on this thread;
 * - streams (which cannot be read twice) are chunked on this thread.
 * Bytes in flight are bounded, whatever the file sizes.
 */
export interface SavedContent {
  content: string[];
  hash: string;
  size: number;
}

const EMPTY_SHA256 = createHash('sha256').digest('hex');

/** A run of consecutive new chunks is read and sealed by one worker task, up to this size. */
const RUN_BYTES = 4 * 1024 * 1024;
const RUN_PARTS = 256;

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
    const scanned = await this.saveScanned(path);
    if (scanned) return scanned;
    const fh = await openFile(path, 'r');
    try {
      return await this.saveChunked(fileByteSource(fh), signal);
    } finally {
      await fh.close();
    }
  }

  saveStream(stream: AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<SavedContent> {
    return this.saveChunked(streamByteSource(stream), signal);
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
    const r = await this.batcher.seal({ file: { path, size }, wantHash: true });
    if ('grew' in r) return undefined;
    if ('failed' in r) throw Object.assign(new Error(r.failed), { code: r.errno ?? 'EIO' });
    if (!('sealed' in r)) throw new Error('unexpected change report for a whole small file');
    if (r.rawLength === 0) return { content: [], hash: EMPTY_SHA256, size: 0 };
    await this.store(r, r.rawLength);
    this.progress.bytesDone += r.rawLength;
    return { content: [r.id.toString('hex')], hash: r.hash!, size: r.rawLength };
  }

  /** The worker-scanned path; undefined when the file changed while it was read. */
  private async saveScanned(path: string): Promise<SavedContent | undefined> {
    const scan = await this.repo.pool.scan(path);
    if ('failed' in scan) throw Object.assign(new Error(scan.failed), { code: scan.errno });
    const content: string[] = [];
    const runs: Promise<boolean>[] = [];
    let run: SealRun | undefined;
    let runBytes = 0;
    const dispatch = async () => {
      if (!run) return;
      const current = run;
      const bytes = runBytes;
      run = undefined;
      runBytes = 0;
      const { done } = await this.inFlight(bytes, async () => {
        const results = await this.repo.pool.sealRun(current);
        let ok = true;
        for (let i = 0; i < results.length; i++) ok = (await this.store(results[i]!, current.parts[i]!.length)) && ok;
        return ok;
      });
      runs.push(done);
    };
    const inRun = new Set<string>();
    let offset = 0;
    for (let i = 0; i < scan.lengths.length; i++) {
      const length = scan.lengths[i]!;
      const id = scan.ids.subarray(i * 32, i * 32 + 32);
      content.push(id.toString('hex'));
      const at = offset;
      offset += length;
      this.progress.bytesDone += length;
      const key = id.toString('latin1');
      if (this.packer.knows(id) || inRun.has(key)) {
        await dispatch(); // a known chunk ends the run of consecutive new ones
        continue;
      }
      inRun.add(key);
      run ??= { path, offset: at, parts: [] };
      run.parts.push({ id, length });
      runBytes += length;
      if (runBytes >= RUN_BYTES || run.parts.length >= RUN_PARTS) await dispatch();
    }
    await dispatch();
    const outcomes = await Promise.all(runs);
    if (outcomes.some((ok) => !ok)) {
      this.progress.bytesDone -= scan.size;
      return undefined;
    }
    return { content, hash: scan.hash, size: scan.size };
  }

  private async saveChunked(source: ByteSource, signal?: AbortSignal): Promise<SavedContent> {
    const hash = createHash('sha256');
    const idKey = this.repo.keys.blobId;
    const content: string[] = [];
    const stores: Promise<boolean>[] = [];
    let size = 0;
    for await (const chunk of readChunks(this.repo.chunker, source)) {
      throwIfAborted(signal);
      hash.update(chunk);
      const id = createHmac('sha256', idKey).update(chunk).digest();
      content.push(id.toString('hex'));
      const length = chunk.length;
      size += length;
      this.progress.bytesDone += length;
      if (this.packer.knows(id)) continue;
      stores.push((await this.inFlight(length, async () => this.store(await this.batcher.seal({ data: chunk, id }), length))).done);
    }
    await Promise.all(stores);
    return { content, hash: hash.digest('hex'), size };
  }
}
