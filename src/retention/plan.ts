/**
 * The retention plan: every snapshot with keep or remove and the rules that
 * decided, per group (one source on one host). Pure: the caller supplies the
 * time and which snapshots passed their check.
 *
 * @module
 */

import type { SnapshotEntry } from '../repository/format/index.js';
import { bucketOf, type BucketRule } from './buckets.js';
import type { RetentionPolicy } from './policy.js';

export type RetentionSnapshot = Pick<SnapshotEntry, 'id' | 'time' | 'host' | 'paths' | 'tags'> & { source?: string };

export interface Decision {
  snapshot: RetentionSnapshot;
  action: 'keep' | 'remove';
  /** Dated in the future: kept, but never the "newer snapshot" that allows a removal. */
  future: boolean;
  /** Why: the rules that keep it (`daily 2026-11-20`, `last 3`), or why it goes (`no rule keeps it`, `older than max_age`). */
  reasons: string[];
}

export interface GroupPlan {
  host: string;
  /** The source name, or the snapshot paths for path backups. */
  source: string;
  /** Newest first. */
  decisions: Decision[];
}

/** Snapshots dated this far ahead of the clock are treated as future-dated. */
export const FUTURE_TOLERANCE_MS = 5 * 60_000;

const BUCKET_RULES: Array<[BucketRule, keyof RetentionPolicy]> = [
  ['hourly', 'keepHourly'],
  ['daily', 'keepDaily'],
  ['weekly', 'keepWeekly'],
  ['monthly', 'keepMonthly'],
  ['yearly', 'keepYearly'],
];

export function groupKey(s: RetentionSnapshot): { host: string; source: string } {
  return { host: s.host, source: s.source ?? [...s.paths].sort().join(' ') };
}

export function planRetention(
  snapshots: readonly RetentionSnapshot[],
  policy: RetentionPolicy,
  now: Date,
): GroupPlan[] {
  const groups = new Map<string, RetentionSnapshot[]>();
  for (const s of snapshots) {
    const k = groupKey(s);
    const key = `${k.host}\u0000${k.source}`;
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  return [...groups.values()]
    .map((members) => planGroup(members, policy, now))
    .sort((a, b) => (a.source === b.source ? (a.host < b.host ? -1 : 1) : a.source < b.source ? -1 : 1));
}

function planGroup(members: RetentionSnapshot[], policy: RetentionPolicy, now: Date): GroupPlan {
  const newestFirst = [...members].sort((a, b) =>
    a.time === b.time ? (a.id < b.id ? 1 : -1) : a.time < b.time ? 1 : -1,
  );
  const reasons = new Map<string, string[]>(newestFirst.map((s) => [s.id, []]));
  const keep = (s: RetentionSnapshot, why: string) => reasons.get(s.id)!.push(why);
  const future = newestFirst.filter((s) => Date.parse(s.time) > now.getTime() + FUTURE_TOLERANCE_MS);
  // Future-dated snapshots (a wrong clock) are kept for review but never count for the rules:
  // otherwise one snapshot dated 2099 would push every real one out of keep_last.
  for (const s of future) keep(s, 'dated in the future (not counted by the rules)');
  const real = newestFirst.filter((s) => !future.includes(s));

  real.slice(0, policy.keepLast ?? 0).forEach((s, i) => keep(s, `last ${i + 1}`));
  for (const [rule, field] of BUCKET_RULES) {
    const wanted = (policy[field] as number | undefined) ?? 0;
    let seen = 0;
    let last: string | undefined;
    for (const s of real) {
      if (seen >= wanted) break;
      const bucket = bucketOf(rule, new Date(s.time));
      if (bucket === last) continue;
      last = bucket;
      seen++;
      keep(s, `${rule} ${bucket}`);
    }
  }
  if (policy.keepWithinSeconds && real.length) {
    const newest = Date.parse(real[0]!.time);
    for (const s of real) if (newest - Date.parse(s.time) <= policy.keepWithinSeconds * 1000) keep(s, 'within');
  }
  for (const s of real) {
    const tags = s.tags.filter((t) => policy.keepTags?.includes(t));
    if (tags.length) keep(s, `tag ${tags.join(',')}`);
  }

  const decisions: Decision[] = newestFirst.map((s) => {
    const why = reasons.get(s.id)!;
    const tooOld =
      policy.maxAgeSeconds !== undefined && now.getTime() - Date.parse(s.time) > policy.maxAgeSeconds * 1000;
    const isFuture = future.includes(s);
    if (tooOld && !isFuture) return { snapshot: s, action: 'remove', future: false, reasons: ['older than max_age'] };
    return why.length
      ? { snapshot: s, action: 'keep', future: isFuture, reasons: why }
      : { snapshot: s, action: 'remove', future: isFuture, reasons: ['no rule keeps it'] };
  });

  // Safety: never remove the last snapshot of a source, whatever the rules (max_age included) say.
  if (!decisions.some((d) => d.action === 'keep' && !future.includes(d.snapshot)) && real.length) {
    const newest = decisions.find((d) => d.snapshot.id === real[0]!.id)!;
    newest.action = 'keep';
    newest.reasons = ['last snapshot of the source (never removed)'];
  }
  const { host, source } = groupKey(newestFirst[0]!);
  return { host, source, decisions };
}

/**
 * Safety: a snapshot is removed only when a newer snapshot of the same group,
 * which is kept, has passed its check. Removals without one become keeps.
 */
export function requireVerifiedNewer(plan: GroupPlan[], verified: ReadonlySet<string>): GroupPlan[] {
  return plan.map((g) => {
    const newestVerified = g.decisions.find((d) => d.action === 'keep' && !d.future && verified.has(d.snapshot.id));
    return {
      ...g,
      decisions: g.decisions.map((d) =>
        d.action === 'remove' && !(newestVerified && newestVerified.snapshot.time > d.snapshot.time)
          ? { ...d, action: 'keep', reasons: ['no newer snapshot of this source has passed its check'] }
          : d,
      ),
    };
  });
}

/** Kept snapshots of a group, newest first: the candidates whose check allows removals. */
export function keptNewestFirst(group: GroupPlan): RetentionSnapshot[] {
  return group.decisions.filter((d) => d.action === 'keep' && !d.future).map((d) => d.snapshot);
}

/** Groups that would lose more than half of their snapshots in one run. */
export function overHalf(plan: GroupPlan[]): GroupPlan[] {
  return plan.filter((g) => g.decisions.filter((d) => d.action === 'remove').length * 2 > g.decisions.length);
}
