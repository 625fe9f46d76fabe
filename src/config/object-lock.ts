/**
 * `object_lock` of an S3 repository against its retention policy. An object
 * written under Object Lock cannot be destroyed before its retain-until date;
 * for that to protect every snapshot the policy keeps, the lock must last at
 * least as long as the policy can keep a snapshot, plus prune's grace period
 * (a pack a forgotten snapshot leaves behind is deleted that much later).
 * See docs/adr/0047-s3-object-lock.md.
 *
 * @module
 */

import { parseDuration } from './duration.js';
import type { LifeboatConfig, RetentionConfig } from './schema.js';

/** How long a marked pack waits before prune's sweep deletes it, unless `prune --grace` says otherwise. */
export const DEFAULT_PRUNE_GRACE_MS = 24 * 3600_000;

const DAY = 86_400;

/**
 * The longest a time-based rule of the policy keeps a snapshot, in seconds,
 * assuming a snapshot in every period (a month counts 31 days, a year 366);
 * `max_age` caps it. Undefined when no rule is time-based (`keep_last` and
 * `keep_tags` count snapshots or follow tags, not time).
 */
export function longestKeepSeconds(policy: RetentionConfig): number | undefined {
  const spans = [
    policy.keep_hourly !== undefined ? policy.keep_hourly * 3600 : undefined,
    policy.keep_daily !== undefined ? policy.keep_daily * DAY : undefined,
    policy.keep_weekly !== undefined ? policy.keep_weekly * 7 * DAY : undefined,
    policy.keep_monthly !== undefined ? policy.keep_monthly * 31 * DAY : undefined,
    policy.keep_yearly !== undefined ? policy.keep_yearly * 366 * DAY : undefined,
    policy.keep_within !== undefined ? parseDuration(policy.keep_within) : undefined,
  ].filter((s): s is number => s !== undefined);
  const cap = policy.max_age !== undefined ? parseDuration(policy.max_age) : undefined;
  if (spans.length === 0) return cap;
  const longest = Math.max(...spans);
  return cap === undefined ? longest : Math.min(longest, cap);
}

/** Days of Object Lock the policy needs: its longest keep plus the prune grace period, rounded up. */
export function objectLockDaysNeeded(policy: RetentionConfig): number | undefined {
  const keep = longestKeepSeconds(policy);
  if (keep === undefined) return undefined;
  return Math.ceil((keep + DEFAULT_PRUNE_GRACE_MS / 1000) / DAY);
}

export interface ObjectLockProblem {
  path: string[];
  message: string;
  hint?: string;
}

/** `object_lock` only on s3:// repositories, and long enough for the repository's retention policy. */
export function objectLockProblems(config: LifeboatConfig): ObjectLockProblem[] {
  const problems: ObjectLockProblem[] = [];
  for (const [name, repo] of Object.entries(config.repositories ?? {})) {
    const lock = repo.object_lock;
    if (!lock) continue;
    const at = ['repositories', name, 'object_lock'];
    if (!repo.url.startsWith('s3://')) {
      problems.push({
        path: at,
        message: 'object_lock is a setting of S3 repositories only',
        hint: 'for an immutable copy elsewhere use a repository server with an append-only token, or a require_mount drive kept offline',
      });
      continue;
    }
    if (!repo.retention) continue;
    const needed = objectLockDaysNeeded(repo.retention);
    if (needed === undefined || lock.days >= needed) continue;
    const keepDays = Math.ceil(longestKeepSeconds(repo.retention)! / DAY);
    problems.push({
      path: [...at, 'days'],
      message: `object_lock.days is ${lock.days} but the retention policy keeps snapshots up to ${keepDays} days; with prune's 24h grace the objects must stay locked at least ${needed} days`,
      hint: `set object_lock.days to ${needed} or more, or shorten the retention policy of repositories.${name}`,
    });
  }
  return problems;
}
