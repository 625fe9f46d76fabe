/**
 * Run `stop` when `signal` aborts — at once if it already has: a listener added
 * to a signal that is already aborted never fires, so a stop requested before
 * the work began would otherwise be missed. Returns a function that detaches
 * the listener (for work that ends normally).
 */
export function onAbort(signal: AbortSignal | undefined, stop: () => void): () => void {
  if (!signal) return () => {};
  if (signal.aborted) {
    stop();
    return () => {};
  }
  signal.addEventListener('abort', stop, { once: true });
  return () => signal.removeEventListener('abort', stop);
}
