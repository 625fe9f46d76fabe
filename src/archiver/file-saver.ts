import { createHash, createHmac } from 'node:crypto';
import { open as openFile, readFile } from 'node:fs/promises';
import { BlobType } from '../repository/blob-types.js';
import { fileByteSource, readChunks, streamByteSource, type ByteSource } from '../repository/chunk-reader.js';
import type { Packer } from '../repository/packer.js';
import type { Repository } from '../repository/repository.js';
import { Semaphore } from '../util/semaphore.js';
import type { BackupProgress } from './progress.js';
import { SealBatcher } from './seal-batcher.js';

/**
 * Turns file content into stored blobs. Small files (under the minimum chunk
 * size) are one blob, hashed and sealed entirely in a worker. Larger content is
 * chunked on this thread; only chunks the repository lacks are sent to workers
 * to be compressed and encrypted. In-flight bytes are bounded.
 */
export interface SavedContent {
  content: string[];
  hash: string;
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
    inFlightBytes = 96 * 1024 * 1024,
  ) {
    this.batcher = new SealBatcher(repo.pool);
    this.budget = new Semaphore(inFlightBytes);
    this.smallLimit = repo.chunker.params.min;
  }

  async saveFile(path: string, size: number): Promise<SavedContent> {
    if (size < this.smallLimit) {
      const data = await this.budget.with(size, async () => {
        const bytes = await readFile(path);
        return bytes.length < this.smallLimit ? this.saveSmall(bytes) : undefined;
      });
      if (data) return data;
    }
    const fh = await openFile(path, 'r');
    try {
      return await this.saveChunked(fileByteSource(fh));
    } finally {
      await fh.close();
    }
  }

  saveStream(stream: AsyncIterable<Uint8Array>): Promise<SavedContent> {
    return this.saveChunked(streamByteSource(stream));
  }

  private async saveSmall(data: Buffer): Promise<SavedContent> {
    const size = data.length;
    if (size === 0) return { content: [], hash: createHash('sha256').digest('hex'), size: 0 };
    const r = await this.batcher.seal({ data, wantHash: true });
    if (await this.packer.add(BlobType.Data, r.id, r.sealed, r.rawLength)) this.progress.bytesAdded += size;
    this.progress.bytesDone += size;
    return { content: [r.id.toString('hex')], hash: r.hash!, size };
  }

  private async saveChunked(source: ByteSource): Promise<SavedContent> {
    const hash = createHash('sha256');
    const idKey = this.repo.keys.blobId;
    const content: string[] = [];
    const stores: Promise<void>[] = [];
    let size = 0;
    for await (const chunk of readChunks(this.repo.chunker, source)) {
      hash.update(chunk);
      const id = createHmac('sha256', idKey).update(chunk).digest();
      content.push(id.toString('hex'));
      const length = chunk.length;
      size += length;
      this.progress.bytesDone += length;
      if (this.packer.knows(id)) continue;
      await this.budget.acquire(length);
      const stored = this.batcher
        .seal({ data: chunk, id })
        .then(async (r) => {
          if (await this.packer.add(BlobType.Data, r.id, r.sealed, r.rawLength)) this.progress.bytesAdded += length;
        })
        .finally(() => this.budget.release(length));
      stored.catch(() => undefined); // observed by Promise.all below; avoids an early unhandled rejection
      stores.push(stored);
    }
    await Promise.all(stores);
    return { content, hash: hash.digest('hex'), size };
  }
}
