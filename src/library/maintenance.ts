/**
 * The repository upkeep commands of the CLI (`stats`, `tag`, `unlock`) as
 * functions over an open repository. Snapshots are chosen as on the command
 * line: ids, unique prefixes or `latest` (narrowed by `source`/`host`), or with
 * none named every snapshot matching `source`, `host` and `tags`.
 *
 * @module
 */

import { chooseSnapshots } from '../cli/snapshot-ref.js';
import { ErrorCode, LifeboatError } from '../errors/index.js';
import type { Repository } from '../repository/repository.js';
import type { UnlockResult } from '../repository/stale-locks.js';
import { repositoryStats, type RepositoryStats, type StatsProgress } from '../repository/stats.js';
import { retag, type RetagResult, type TagChange } from '../retention/retag.js';

export type {
  AreaSize,
  RepositoryStats,
  StatsProgress,
  StoredFigures,
  SnapshotStats,
  SourceStats,
} from '../repository/stats.js';
export type { RetagResult, RetaggedSnapshot, TagChange } from '../retention/retag.js';
export type { ListedLock, UnlockResult } from '../repository/stale-locks.js';
export type { LockRecord } from '../repository/locks.js';

/** Which snapshots `stats` and `tagSnapshots` act on: ids or prefixes, `latest`, or filters, as the CLI selects them. */
export interface SnapshotChoice {
  /** Ids, prefixes or `latest`; none: every snapshot matching the filters. */
  snapshots?: string[];
  source?: string;
  host?: string;
  /** Only snapshots carrying every one of these tags (when no snapshot is named). */
  tags?: string[];
}

/** `lifeboat stats`: repository size by area, and raw/unique/stored bytes of the chosen snapshots. */
export async function stats(
  repo: Repository,
  choice: SnapshotChoice = {},
  options: { onProgress?: (p: StatsProgress) => void; signal?: AbortSignal } = {},
): Promise<RepositoryStats> {
  const chosen = await chooseSnapshots(repo, choice.snapshots ?? [], choice);
  return repositoryStats(repo, chosen, options);
}

/**
 * `lifeboat tag`: change the tags of the chosen snapshots. Each changed
 * snapshot is replaced by one with a new id (see docs/repository-format.md
 * §10.2). `not_found` when nothing matches; `refused` when the repository
 * cannot be written.
 */
export async function tagSnapshots(
  repo: Repository,
  choice: SnapshotChoice,
  change: TagChange,
  options: { stateDir?: string; signal?: AbortSignal } = {},
): Promise<RetagResult> {
  if (!choice.snapshots?.length && !choice.source && !choice.host && !choice.tags?.length)
    throw new LifeboatError(ErrorCode.Usage, 'name the snapshots to tag, or select them by source, host or tags');
  const chosen = await chooseSnapshots(repo, choice.snapshots ?? [], choice);
  if (chosen.length === 0) throw new LifeboatError(ErrorCode.NotFound, 'no snapshot matches');
  return retag(repo, chosen, change, options);
}

/** `lifeboat unlock`: remove the stale locks, or with `removeAll` every lock. */
export function unlockRepository(repo: Repository, options: { removeAll?: boolean } = {}): Promise<UnlockResult> {
  return repo.unlock(Boolean(options.removeAll));
}
