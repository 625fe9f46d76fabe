/**
 * The pool of worker threads that chunk and hash files, compress, encrypt and
 * decrypt blobs, so every core works while the main thread walks directories
 * and writes packs.
 *
 * @module
 */

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { RepositoryKeys } from '../crypto/index.js';
import type { RepositoryConfig } from '../format/index.js';
import type {
  ChunkFileResult,
  OpenItem,
  OpenResult,
  SealItem,
  SealResult,
  WorkerSetup,
  WorkerTask,
} from './seal-worker.js';
import { ownBuffer, transferList } from './transfer.js';
import { asBlobId } from '../format/index.js';
import { tracePhase } from '../../util/trace-timing.js';
import { memoryLimits } from '../../util/memory-profile.js';

function workerFile(): { filename: string; execArgv: string[] } {
  // CommonJS entries that import the worker asynchronously (see seal-worker-entry.cts).
  const built = fileURLToPath(new URL('./seal-worker-entry.cjs', import.meta.url));
  if (existsSync(built)) return { filename: built, execArgv: [] };
  // Running from TypeScript sources (the test runner): load them through tsx.
  return { filename: fileURLToPath(new URL('./seal-worker-tsx.cjs', import.meta.url)), execArgv: [] };
}

export function asBuffer(u: Uint8Array): Buffer {
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

/** Buffers arrive from a worker as plain Uint8Arrays. */
export function reviveSealResult(r: SealResult): SealResult {
  return 'sealed' in r ? { ...r, id: asBlobId(asBuffer(r.id)), sealed: r.sealed.map(asBuffer) } : r;
}

export class BlobWorkerPool {
  private readonly pool: Piscina;

  /**
   * Up to one thread more than there are cores: workers also read small files
   * with blocking calls, and the extra thread keeps the cores busy while one
   * waits on the disk (measured: 3 threads beat 2 and 4 on a 2-core machine,
   * cold cache). One thread starts at once; piscina starts the others only
   * when a task finds every thread busy, so a command with little work (a
   * small restore, an unchanged backup) does not load the worker modules
   * `threads` times. By default as many threads at most as the memory
   * profile gives (see `memoryLimits`).
   */
  constructor(keys: RepositoryKeys, config: RepositoryConfig, threads?: number) {
    const limits = memoryLimits();
    const { filename, execArgv } = workerFile();
    const setup: WorkerSetup = {
      encryption: keys.encryption,
      blobId: keys.blobId,
      chunkerKey: keys.chunker,
      chunker: config.chunker,
      level: config.compression.level,
    };
    this.pool = new Piscina({
      filename,
      execArgv,
      minThreads: 1,
      maxThreads: threads ?? limits.workerThreads,
      // Threads started for a burst stay for the rest of the command (close() ends them all).
      idleTimeout: 60_000,
      resourceLimits: { maxYoungGenerationSizeMb: limits.workerYoungGenerationMb },
      workerData: setup,
    });
    tracePhase('workers started');
  }

  private firstDone = false;

  private async run(task: WorkerTask, options: Parameters<Piscina['run']>[1]): Promise<unknown> {
    const result: unknown = await this.pool.run(task, options);
    if (!this.firstDone) {
      this.firstDone = true;
      tracePhase('first worker task done');
    }
    return result;
  }

  /** Threads running now (one at first, more as work queues up). */
  get threads(): number {
    return this.pool.threads.length;
  }

  /** The most threads this pool starts. */
  get maxThreads(): number {
    return this.pool.maxThreads;
  }

  /** Compress, encrypt (and hash when ids are missing) a batch of blobs. Input buffers are transferred. */
  async seal(items: SealItem[]): Promise<SealResult[]> {
    const sendable = items.map((i) => ({
      ...i,
      ...(i.data ? { data: ownBuffer(i.data) } : {}),
      ...(i.id ? { id: asBlobId(ownBuffer(i.id)) } : {}),
    }));
    const task: WorkerTask = { op: 'seal', items: sendable };
    const results = (await this.run(task, {
      transferList: transferList(sendable.flatMap((i) => (i.data ? [i.data] : []))),
    })) as SealResult[];
    return results.map(reviveSealResult);
  }

  /**
   * Decrypt, decompress and authenticate blobs lying in `buffer` (a pack or a
   * range of one). The buffer is transferred to the worker: do not use it after.
   */
  async open(buffer: Buffer, items: OpenItem[]): Promise<OpenResult[]> {
    const owned = ownBuffer(buffer);
    const task: WorkerTask = { op: 'open', buffer: owned, items: items.map((i) => ({ ...i, id: ownBuffer(i.id) })) };
    const results = (await this.run(task, { transferList: transferList([owned]) })) as OpenResult[];
    return results.map((r) => ('data' in r ? { data: asBuffer(r.data) } : r));
  }

  /**
   * Chunk, hash and seal the new chunks of a file in one read, talking with the
   * caller over `port` (see `ChunkFileTask`). The port is transferred.
   */
  async chunkFile(path: string, port: MessagePort): Promise<ChunkFileResult> {
    return (await this.run({ op: 'chunkFile', path, port } satisfies WorkerTask, {
      transferList: [port] as never,
    })) as ChunkFileResult;
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
