/**
 * Progress callbacks over the live counter objects the engine already keeps
 * (backup, copy, restore, prune). The engine writes its counters through a
 * proxy, and each write may report a copy of the whole object to
 * `onProgress`: a step (a phase, a file, a snapshot, a pack, a tree) at once,
 * byte counts — which change for every chunk — at most every `intervalMs`,
 * and the last state when the operation ends (`flush`). A step reported at
 * once lets a caller act on it (stop after N files) before the next begins.
 *
 * @module
 */

/** A live counter object and the call that reports its final state. */
export interface ProgressFeed<T extends object> {
  /** Write the counters through this object (it is the caller's object, observed). */
  live: T;
  /** Report the state now if it changed since the last report. */
  flush(): void;
}

export const PROGRESS_INTERVAL_MS = 100;

/** Counters whose every change is reported at once. */
const STEPS: ReadonlySet<PropertyKey> = new Set(['phase', 'filesDone', 'snapshotsDone', 'packs', 'trees']);

export function feedProgress<T extends object>(
  counters: T,
  onProgress: ((p: T) => void) | undefined,
  intervalMs = PROGRESS_INTERVAL_MS,
): ProgressFeed<T> {
  if (!onProgress) return { live: counters, flush: () => {} };
  let last = -Infinity;
  let pending = false;
  const report = (): void => {
    pending = false;
    last = Date.now();
    onProgress({ ...counters });
  };
  const live = new Proxy(counters, {
    set(target, key, value) {
      const changed = Reflect.get(target, key) !== value;
      Reflect.set(target, key, value);
      if (changed) {
        pending = true;
        if (STEPS.has(key) || Date.now() - last >= intervalMs) report();
      }
      return true;
    },
  });
  return { live, flush: () => pending && report() };
}
