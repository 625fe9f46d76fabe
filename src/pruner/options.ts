import { STALE_TEMPORARY_AGE_MS } from '../storage/contract.js';

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
  progress?: PruneProgress;
}

export const DEFAULT_GRACE_MS = 24 * 3600_000;
export const DEFAULT_MAX_UNUSED = 0.2;

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
}

export function resolveOptions(options: PruneOptions): Resolved {
  return {
    dryRun: options.dryRun ?? false,
    graceMs: options.graceMs ?? DEFAULT_GRACE_MS,
    maxUnused: options.maxUnused ?? DEFAULT_MAX_UNUSED,
    now: options.now ?? Date.now,
    temporaryAgeMs: options.temporaryAgeMs ?? STALE_TEMPORARY_AGE_MS,
    progress: options.progress ?? newPruneProgress(),
  };
}
