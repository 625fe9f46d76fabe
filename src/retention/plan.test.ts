import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bucketOf, type BucketRule } from './buckets.js';
import { planRetention, requireVerifiedNewer, type RetentionSnapshot } from './plan.js';
import type { RetentionPolicy } from './policy.js';

process.env.TZ = 'UTC'; // calendar buckets use local time; the golden files are in UTC

const NOW = new Date('2026-11-22T12:00:00Z');
const DAY = 86_400_000;

/** A realistic history: a daily backup (15:00) for 800 days, hourly ones on the last day, a tagged pre-migration snapshot. */
function history(): RetentionSnapshot[] {
  const out: RetentionSnapshot[] = [];
  let n = 0;
  const add = (time: number, tags: string[] = []) =>
    out.push({
      id: `s${String(n++).padStart(4, '0')}`,
      time: new Date(time).toISOString(),
      host: 'web1',
      paths: ['/srv/app'],
      source: 'app',
      tags,
    });
  for (let d = 800; d >= 1; d--) add(NOW.getTime() - d * DAY + 3 * 3_600_000);
  for (let h = 11; h >= 0; h--) add(NOW.getTime() - h * 3_600_000 - 60_000);
  add(NOW.getTime() - 40 * DAY + 5 * 3_600_000, ['pre-migration']);
  return out;
}

/** The twelve hourly snapshots of the last day, oldest first. */
const lastDay = () => history().slice(800, 812);

const GOLDEN: Record<string, RetentionPolicy> = {
  'keep-last-5': { keepLast: 5 },
  'keep-hourly-6': { keepHourly: 6 },
  'keep-daily-7': { keepDaily: 7 },
  'keep-weekly-4': { keepWeekly: 4 },
  'keep-monthly-12': { keepMonthly: 12 },
  'keep-yearly-7': { keepYearly: 7 },
  'keep-within-3d': { keepWithinSeconds: 3 * 86_400 },
  'keep-tag': { keepLast: 1, keepTags: ['pre-migration'] },
  'local-7-days': { keepDaily: 7 },
  'offsite-30d-12w-12m-7y': { keepDaily: 30, keepWeekly: 12, keepMonthly: 12, keepYearly: 7 },
  'daily-with-max-age-400d': { keepDaily: 30, keepMonthly: 24, maxAgeSeconds: 400 * 86_400 },
  'last-and-hourly': { keepLast: 2, keepHourly: 24 },
};

describe('retention plan', () => {
  for (const [name, policy] of Object.entries(GOLDEN)) {
    it(`golden: ${name}`, async () => {
      const [group] = planRetention(history(), policy, NOW);
      const kept = group!.decisions
        .filter((d) => d.action === 'keep')
        .map((d) => `${d.snapshot.time.slice(0, 16)} ${d.reasons.join('; ')}`);
      const removed = group!.decisions.filter((d) => d.action === 'remove');
      await expect(JSON.stringify({ policy, removed: removed.length, kept }, null, 1) + '\n').toMatchFileSnapshot(
        `golden/${name}.json`,
      );
    });
  }

  it('never removes the last snapshot of a source, even past max_age', () => {
    const old = history().slice(0, 3);
    const [group] = planRetention(old, { keepLast: 1, maxAgeSeconds: 86_400 }, NOW);
    const kept = group!.decisions.filter((d) => d.action === 'keep');
    expect(kept.map((d) => d.snapshot.id)).toEqual(['s0002']);
    expect(kept[0]!.reasons).toEqual(['last snapshot of the source (never removed)']);
  });

  it('does not let snapshots dated in the future push real ones out', () => {
    const snaps = lastDay().slice(-4);
    snaps.push({ ...snaps[0]!, id: 'future', time: '2099-01-01T00:00:00.000Z' });
    const [group] = planRetention(snaps, { keepLast: 2 }, NOW);
    const kept = group!.decisions.filter((d) => d.action === 'keep').map((d) => d.snapshot.id);
    expect(kept).toEqual(['future', snaps[3]!.id, snaps[2]!.id]);
    // and a future-dated snapshot never counts as the newer, checked one
    const checked = requireVerifiedNewer([group!], new Set(['future']));
    expect(checked[0]!.decisions.filter((d) => d.action === 'remove')).toEqual([]);
  });

  it('groups by source and host', () => {
    const a = lastDay().slice(-3);
    const b = a.map((s) => ({ ...s, id: `${s.id}b`, host: 'web2' }));
    const c = a.map((s) => ({ ...s, id: `${s.id}c`, source: 'db' }));
    const plan = planRetention([...a, ...b, ...c], { keepLast: 1 }, NOW);
    expect(plan.map((g) => [g.source, g.host, g.decisions.filter((d) => d.action === 'keep').length])).toEqual([
      ['app', 'web1', 1],
      ['app', 'web2', 1],
      ['db', 'web1', 1],
    ]);
  });

  it('removes a snapshot only when a newer kept one has passed its check', () => {
    const snaps = lastDay().slice(-4);
    const [group] = planRetention(snaps, { keepLast: 2 }, NOW);
    const newest = snaps[3]!.id;
    const second = snaps[2]!.id;
    const none = requireVerifiedNewer([group!], new Set());
    expect(none[0]!.decisions.every((d) => d.action === 'keep')).toBe(true);
    const onlySecond = requireVerifiedNewer([group!], new Set([second]));
    expect(onlySecond[0]!.decisions.filter((d) => d.action === 'remove').map((d) => d.snapshot.id)).toEqual([
      snaps[1]!.id,
      snaps[0]!.id,
    ]);
    expect(
      requireVerifiedNewer([group!], new Set([newest]))[0]!.decisions.filter((d) => d.action === 'remove'),
    ).toHaveLength(2);
  });

  it('matches a simple reference model for any history and policy', () => {
    const RULES: Array<[BucketRule, keyof RetentionPolicy]> = [
      ['hourly', 'keepHourly'],
      ['daily', 'keepDaily'],
      ['weekly', 'keepWeekly'],
      ['monthly', 'keepMonthly'],
      ['yearly', 'keepYearly'],
    ];
    const snapshotArb = fc
      .uniqueArray(fc.integer({ min: 0, max: 3 * 365 * 24 }), { minLength: 1, maxLength: 60 })
      .map((hours) =>
        hours.map((h, i): RetentionSnapshot => ({
          id: `id${i}`,
          time: new Date(NOW.getTime() - h * 3_600_000).toISOString(),
          host: 'h',
          paths: ['/p'],
          source: 's',
          tags: i % 7 === 0 ? ['keep'] : [],
        })),
      );
    const count = fc.option(fc.integer({ min: 1, max: 10 }), { nil: undefined });
    const policyArb = fc.record({
      keepLast: count,
      keepHourly: count,
      keepDaily: count,
      keepWeekly: count,
      keepMonthly: count,
      keepYearly: count,
      keepTags: fc.option(fc.constant(['keep'] as string[]), { nil: undefined }),
    }) as fc.Arbitrary<RetentionPolicy>;
    fc.assert(
      fc.property(snapshotArb, policyArb, (snaps, policy) => {
        // Reference: for each rule independently, the newest snapshot of each of the newest N buckets.
        const newestFirst = [...snaps].sort((a, b) => (a.time < b.time ? 1 : -1));
        const expected = new Set(newestFirst.slice(0, policy.keepLast ?? 0).map((s) => s.id));
        for (const [rule, field] of RULES) {
          const buckets = new Map<string, string>();
          for (const s of newestFirst) {
            const b = bucketOf(rule, new Date(s.time));
            if (!buckets.has(b)) buckets.set(b, s.id);
          }
          [...buckets.values()].slice(0, (policy[field] as number | undefined) ?? 0).forEach((id) => expected.add(id));
        }
        for (const s of snaps) if (s.tags.some((t) => policy.keepTags?.includes(t))) expected.add(s.id);
        if (expected.size === 0) expected.add(newestFirst[0]!.id); // the last snapshot is never removed
        const [group] = planRetention(snaps, policy, NOW);
        const kept = new Set(group!.decisions.filter((d) => d.action === 'keep').map((d) => d.snapshot.id));
        expect([...kept].sort()).toEqual([...expected].sort());
        for (const d of group!.decisions) expect(d.reasons.length).toBeGreaterThan(0);
      }),
      { numRuns: 300 },
    );
  });
});
