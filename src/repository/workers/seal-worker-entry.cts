/**
 * The file piscina loads in every sealing worker (built to seal-worker-entry.cjs).
 *
 * Piscina loads a worker file with require() first. On Node 20.19 and later,
 * require() of an ES module instantiates it synchronously, and a worker
 * terminated during that step (the process exiting while its workers are still
 * starting, after a short command) aborts the whole process with a V8 fatal
 * error. This CommonJS entry imports the worker asynchronously instead; piscina
 * awaits the promise it exports.
 */
export = import('./seal-worker.js').then((m) => m.default);
