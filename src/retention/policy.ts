import { parseDuration } from '../config/duration.js';
import type { RetentionConfig } from '../config/schema.js';
import { ErrorCode, LifeboatError } from '../errors/index.js';

/** A retention policy (the retention keys of docs/retention.md), durations in seconds. */
export interface RetentionPolicy {
  keepLast?: number;
  keepHourly?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
  keepYearly?: number;
  /** Keep every snapshot taken within this long before the group's newest snapshot. */
  keepWithinSeconds?: number;
  keepTags?: string[];
  /** Data-minimisation limit: nothing older is kept, whatever the other rules say (the safety rules still apply). */
  maxAgeSeconds?: number;
}

/** The retention policy of a configuration's `retention:` settings. */
export function policyFromConfig(config: RetentionConfig): RetentionPolicy {
  return {
    keepLast: config.keep_last,
    keepHourly: config.keep_hourly,
    keepDaily: config.keep_daily,
    keepWeekly: config.keep_weekly,
    keepMonthly: config.keep_monthly,
    keepYearly: config.keep_yearly,
    keepWithinSeconds: config.keep_within ? parseDuration(config.keep_within) : undefined,
    keepTags: config.keep_tags,
    maxAgeSeconds: config.max_age ? parseDuration(config.max_age) : undefined,
  };
}

/**
 * The configured policy with rules added on top (the command line's flags): a
 * rule given in `extra` replaces the configured value of that same rule,
 * tags add up, and every other configured rule stays.
 */
export function addToPolicy(configured: RetentionPolicy, extra: RetentionPolicy): RetentionPolicy {
  const merged: RetentionPolicy = { ...configured };
  for (const [key, value] of Object.entries(extra) as Array<
    [keyof RetentionPolicy, RetentionPolicy[keyof RetentionPolicy]]
  >) {
    if (value === undefined) continue;
    if (key === 'keepTags') merged.keepTags = [...new Set([...(configured.keepTags ?? []), ...(value as string[])])];
    else (merged as Record<string, unknown>)[key] = value;
  }
  return merged;
}

/** A policy that keeps nothing explicitly would remove everything but the safety net: refuse it. */
export function assertPolicyKeepsSomething(policy: RetentionPolicy): void {
  const keeps =
    [
      policy.keepLast,
      policy.keepHourly,
      policy.keepDaily,
      policy.keepWeekly,
      policy.keepMonthly,
      policy.keepYearly,
      policy.keepWithinSeconds,
    ].some((n) => (n ?? 0) > 0) || (policy.keepTags?.length ?? 0) > 0;
  if (!keeps) {
    throw new LifeboatError(ErrorCode.Usage, 'no retention rule says what to keep', {
      hint: 'set retention for the repository in lifeboat.yaml (e.g. keep_daily: 7) or pass --keep-daily N, --keep-last N, …',
    });
  }
}

/** A policy in words, as the CLI and the audit log print it. */
export function describePolicy(policy: RetentionPolicy): string {
  const parts: string[] = [];
  const add = (label: string, v: number | undefined) => v && parts.push(`${label} ${v}`);
  add('last', policy.keepLast);
  add('hourly', policy.keepHourly);
  add('daily', policy.keepDaily);
  add('weekly', policy.keepWeekly);
  add('monthly', policy.keepMonthly);
  add('yearly', policy.keepYearly);
  if (policy.keepWithinSeconds) parts.push(`within ${span(policy.keepWithinSeconds)} of the newest`);
  if (policy.keepTags?.length) parts.push(`tags ${policy.keepTags.join(',')}`);
  if (policy.maxAgeSeconds) parts.push(`max age ${span(policy.maxAgeSeconds)}`);
  return parts.join(', ');
}

/** Seconds in the largest whole unit (`90d`, `36h`, `45m`, `10s`). */
function span(seconds: number): string {
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3600],
    ['m', 60],
  ] as const)
    if (seconds % size === 0) return `${seconds / size}${unit}`;
  return `${seconds}s`;
}
