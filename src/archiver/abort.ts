import { ErrorCode, LifeboatError } from '../errors/index.js';

export function interrupted(): LifeboatError {
  return new LifeboatError(ErrorCode.Interrupted, 'interrupted; no snapshot was saved');
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw interrupted();
}

/**
 * Settle with `work`, or reject as interrupted as soon as `signal` aborts —
 * even while a worker thread is busy with one huge file. The caller closes the
 * worker pool afterwards, which stops whatever was still running.
 */
export function abortable<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) return Promise.reject(interrupted());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(interrupted());
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
