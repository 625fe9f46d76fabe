/**
 * Worker threads that chunk, hash, compress, encrypt and decrypt blobs, and
 * write single-blob files on restore. The worker's entry files are loaded by
 * path beside `worker-pool.ts` (see `workerFile` there), so they stay in this
 * folder. Only the worker's message types are exported, never the worker
 * module itself (it runs set-up code on load). The worker imports the inner
 * files it needs from the other rooms, not their faces, to keep what every
 * thread loads small (see seal-worker.ts).
 */
export { asBuffer, BlobWorkerPool, reviveSealResult } from './worker-pool.js';
export { chunkFileInWorker } from './chunk-file-client.js';
export { SealBatcher } from './seal-batcher.js';
export type { ChunkFileMessage, ChunkFileReply, SealItem, SealResult } from './seal-worker.js';
export type { DirectWrite } from './whole-file-write.js';
