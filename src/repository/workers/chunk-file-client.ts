import { MessageChannel } from 'node:worker_threads';
import { asBlobId, type BlobId } from '../format/index.js';
import type { ChunkFileMessage, ChunkFileReply, ChunkFileResult, SealResult } from './seal-worker.js';
import { asBuffer, reviveSealResult, type BlobWorkerPool } from './worker-pool.js';

/**
 * The main-thread half of the `chunkFile` conversation (its worker half and
 * the messages are described at `ChunkFileTask` in seal-worker.ts). The caller
 * answers two questions and is told nothing about ports or messages.
 */
export interface ChunkFileHandlers {
  /** Whether to stop reading the file (the run failed or was aborted). */
  stopped(): boolean;
  /** One chunk of the file, in file order: return true to have the worker seal it (the repository lacks it). */
  chunk(id: BlobId, length: number): boolean;
  /** The sealed new chunks of one segment, to store; the worker waits for this before sending more. */
  store(blobs: SealResult[]): Promise<void>;
}

/**
 * Read, chunk, hash and seal a file in a worker, storing its new chunks
 * through `handlers`. A failure of `store` stops the worker and is thrown
 * here once the worker has returned.
 */
export async function chunkFileInWorker(
  pool: BlobWorkerPool,
  path: string,
  handlers: ChunkFileHandlers,
): Promise<ChunkFileResult> {
  const { port1, port2 } = new MessageChannel();
  let failure: unknown;
  let storing: Promise<void> = Promise.resolve();
  const reply = (m: ChunkFileReply) => port1.postMessage(m);
  port1.on('message', (m: ChunkFileMessage) => {
    if (failure !== undefined || handlers.stopped()) return reply({ stop: true });
    if ('ids' in m) {
      const ids = asBuffer(m.ids);
      const seal = new Uint8Array(m.lengths.length);
      for (let i = 0; i < m.lengths.length; i++) {
        if (handlers.chunk(asBlobId(ids.subarray(i * 32, i * 32 + 32)), m.lengths[i]!)) seal[i] = 1;
      }
      return reply({ seal });
    }
    const blobs = m.sealed.map(reviveSealResult);
    storing = storing
      .then(async () => {
        await handlers.store(blobs);
        reply({ stored: true });
      })
      .catch((err: unknown) => {
        failure ??= err;
        reply({ stop: true });
      });
  });
  try {
    const r = await pool.chunkFile(path, port2);
    await storing;
    if (failure !== undefined) throw failure;
    return r;
  } finally {
    port1.close();
  }
}
