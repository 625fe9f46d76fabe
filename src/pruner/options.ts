import { DEFAULT_PRUNE_GRACE_MS } from '../config/object-lock.js';
import { STALE_TEMPORARY_AGE_MS } from '../storage/contract.js';
import { throwIfInterrupted } from '../util/interrupt.js';

/** Settings and live counters shared by the prune phases. */
export interface PruneOptions {
  /** Plan only: write, repack and delete nothing (takes only a shared lock). */
  dryRun?: boolean;
  /** How long a marked pack must stay marked before a sweep may delete it (default 24 h). */
  graceMs?: number;
  /** Repack a pack when more than this share of its blob bytes is unused (0–1, default 0.2). */
  maxUnused?: number;
  /** The clock for record times and the grace period (tests inject one). */
  now?: () => number;
  /** Temporaries of interrupted writes older than this are removed by the sweep (default 1 h; storage's clock). */
  temporaryAgeMs?: number;
  /** Live counters, updated as the prune runs. */
  progress?: PruneProgress;
  /** Called with a copy of the counters as they change (each file or step at once, byte counts at most every 100 ms, and the final state at the end). */
  onProgress?: (progress: PruneProgress) => void;
  /**
   * Stops the prune at its next safe point: while snapshots are walked, before the prune record is
   * written, between repacked packs, and before the sweep deletes anything (once deleting has begun
   * it finishes: the index is consolidated first). It rejects with LifeboatError `interrupted`.
   */
  signal?: AbortSignal;
}

export const DEFAULT_GRACE_MS = DEFAULT_PRUNE_GRACE_MS;
export const DEFAULT_MAX_UNUSED = 0.2;

/** Live counters of a running prune, phase by phase. */
export interface PruneProgress {
  phase: 'loading' | 'repacking' | 'sweeping' | 'done';
  /** Trees walked in the current phase. */
  trees: number;
  /** Packs repacked or deleted so far, out of `packsTotal`. */
  packs: number;
  packsTotal: number;
  /** Bytes read while repacking, or deleted while sweeping. */
  bytes: number;
}

export function newPruneProgress(): PruneProgress {
  return { phase: 'loading', trees: 0, packs: 0, packsTotal: 0, bytes: 0 };
}

export interface Resolved {
  dryRun: boolean;
  graceMs: number;
  maxUnused: number;
  now: () => number;
  temporaryAgeMs: number;
  progress: PruneProgress;
  signal?: AbortSignal;
}

export function resolveOptions(options: PruneOptions): Resolved {
  return {
    dryRun: options.dryRun ?? false,
    graceMs: options.graceMs ?? DEFAULT_GRACE_MS,
    maxUnused: options.maxUnused ?? DEFAULT_MAX_UNUSED,
    now: options.now ?? Date.now,
    temporaryAgeMs: options.temporaryAgeMs ?? STALE_TEMPORARY_AGE_MS,
    progress: options.progress ?? newPruneProgress(),
    signal: options.signal,
  };
}

/** Stop here if the prune was aborted: nothing after the last safe point was left half done. */
export function stopIfAborted(o: Resolved): void {
  throwIfInterrupted(o.signal, 'the prune stopped at a safe point; run it again to finish');
}
