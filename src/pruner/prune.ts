/**
 * `prune`: reclaim space in two phases with a grace period between them
 * (docs/adr/0013-prune-two-phase-with-grace.md). One run marks (shared lock,
 * backups continue) and then sweeps what earlier runs marked at least
 * `graceMs` ago (exclusive lock). With a grace of 0 one run does both for the
 * same packs. When the exclusive lock cannot be had because backups are
 * running, the sweep is deferred to the next run: the result says so.
 *
 * @module
 */

import { ErrorCode, isLifeboatError, type LifeboatError } from '../errors/index.js';
import type { Repository } from '../repository/repository.js';
import { applyPendingRequests, type PruneRequests } from './forget-requests.js';
import { mark, type MarkResult } from './mark.js';
import { newPruneProgress, resolveOptions, type PruneOptions, type Resolved } from './options.js';
import { feedProgress } from '../util/progress-feed.js';
import { sweep, type SweepResult } from './sweep.js';

/** What a prune marked and repacked, what its sweep deleted, or why the sweep was deferred. */
export interface PruneResult {
  dryRun: boolean;
  mark: MarkResult;
  sweep?: SweepResult;
  /** Why the sweep did not run (the repository was locked). */
  deferred?: LifeboatError;
  /** The pending forget requests of append keys: applied, declined, or deferred (locked); absent when none. */
  requests?: PruneRequests;
}

/** `lifeboat prune`: mark what no snapshot needs and repack wasteful packs (shared lock), then delete what earlier runs marked at least `graceMs` ago (exclusive lock, deferred when backups hold the repository). */
export async function prune(repo: Repository, options: PruneOptions = {}): Promise<PruneResult> {
  repo.requireAdmin('prune');
  const feed = feedProgress(options.progress ?? newPruneProgress(), options.onProgress);
  const o = resolveOptions({ ...options, progress: feed.live });
  try {
    const requests = await applyPendingRequests(repo, o);
    const marked = await mark(repo, o);
    return { ...(await sweepAfter(repo, o, marked)), ...(requests ? { requests } : {}) };
  } finally {
    o.progress.phase = 'done';
    feed.flush();
  }
}

async function sweepAfter(repo: Repository, o: Resolved, marked: MarkResult): Promise<PruneResult> {
  try {
    const swept = await sweep(repo, o);
    return { dryRun: o.dryRun, mark: marked, sweep: swept };
  } catch (err) {
    if (isLifeboatError(err, ErrorCode.Locked)) return { dryRun: o.dryRun, mark: marked, deferred: err };
    throw err;
  }
}
