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
import { mark, type MarkResult } from './mark.js';
import { resolveOptions, type PruneOptions } from './options.js';
import { sweep, type SweepResult } from './sweep.js';

export interface PruneResult {
  dryRun: boolean;
  mark: MarkResult;
  sweep?: SweepResult;
  /** Why the sweep did not run (the repository was locked). */
  deferred?: LifeboatError;
}

export async function prune(repo: Repository, options: PruneOptions = {}): Promise<PruneResult> {
  const o = resolveOptions(options);
  const marked = await mark(repo, o);
  try {
    const swept = await sweep(repo, o);
    return { dryRun: o.dryRun, mark: marked, sweep: swept };
  } catch (err) {
    if (isLifeboatError(err, ErrorCode.Locked)) return { dryRun: o.dryRun, mark: marked, deferred: err };
    throw err;
  } finally {
    o.progress.phase = 'done';
  }
}
