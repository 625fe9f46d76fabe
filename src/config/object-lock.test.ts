import { describe, expect, it } from 'vitest';
import { configJsonSchema } from './json-schema.js';
import { parseConfig } from './load.js';
import { longestKeepSeconds, objectLockDaysNeeded } from './object-lock.js';
import type { ConfigProblem } from './problems.js';

function problemsOf(repository: string): ConfigProblem[] {
  const yaml = `version: 1\nrepositories:\n  vault: ${repository}\n`;
  try {
    parseConfig(yaml, '/etc/lifeboat/lifeboat.yaml', {});
    return [];
  } catch (err) {
    return ((err as { context?: { problems?: ConfigProblem[] } }).context?.problems ?? []) as ConfigProblem[];
  }
}

const S3 = 'url: s3://backups/host, credentials_file: /etc/lifeboat/s3.env, password_file: /etc/lifeboat/repo.pass';

describe('object_lock against the retention policy', () => {
  it('counts the longest time-based rule, a month as 31 days and a year as 366, capped by max_age', () => {
    expect(longestKeepSeconds({ keep_daily: 7, keep_monthly: 12 })).toBe(12 * 31 * 86_400);
    expect(longestKeepSeconds({ keep_yearly: 2, max_age: '400d' })).toBe(400 * 86_400);
    expect(longestKeepSeconds({ keep_within: '36h', keep_hourly: 24 })).toBe(36 * 3600);
    expect(longestKeepSeconds({ keep_last: 5, keep_tags: ['release'] })).toBeUndefined();
    // keep_monthly 12 → 372 days, plus one day of prune grace.
    expect(objectLockDaysNeeded({ keep_daily: 30, keep_monthly: 12 })).toBe(373);
    expect(objectLockDaysNeeded({ keep_hourly: 48 })).toBe(3);
  });

  it('refuses days shorter than the policy keeps plus the grace, saying how many are needed', () => {
    const problems = problemsOf(
      `{ ${S3}, object_lock: { mode: compliance, days: 90 }, retention: { keep_daily: 30, keep_monthly: 12 } }`,
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]!.path).toBe('repositories.vault.object_lock.days');
    expect(problems[0]!.message).toBe(
      "object_lock.days is 90 but the retention policy keeps snapshots up to 372 days; with prune's 24h grace the objects must stay locked at least 373 days",
    );
    expect(problems[0]!.hint).toBe(
      'set object_lock.days to 373 or more, or shorten the retention policy of repositories.vault',
    );
  });

  it('accepts days that cover the policy and the grace, and a policy without time-based rules', () => {
    expect(
      problemsOf(
        `{ ${S3}, object_lock: { mode: governance, days: 373 }, retention: { keep_daily: 30, keep_monthly: 12 } }`,
      ),
    ).toEqual([]);
    expect(problemsOf(`{ ${S3}, object_lock: { mode: compliance, days: 1 }, retention: { keep_last: 10 } }`)).toEqual(
      [],
    );
  });

  it('refuses the day the grace does not fit: keep_daily 30 needs 31 days', () => {
    expect(
      problemsOf(`{ ${S3}, object_lock: { mode: compliance, days: 30 }, retention: { keep_daily: 30 } }`).map(
        (p) => p.message,
      ),
    ).toEqual([
      "object_lock.days is 30 but the retention policy keeps snapshots up to 30 days; with prune's 24h grace the objects must stay locked at least 31 days",
    ]);
  });

  it('refuses object_lock on a repository that is not on S3, and an unknown mode', () => {
    expect(
      problemsOf('{ url: /var/backup/lifeboat, object_lock: { mode: compliance, days: 30 } }').map((p) => p.message),
    ).toEqual(['object_lock is a setting of S3 repositories only']);
    expect(problemsOf(`{ ${S3}, object_lock: { mode: legal-hold, days: 30 } }`)).toHaveLength(1);
  });

  it('is in the JSON Schema of lifeboat.yaml, for editors', () => {
    const schema = configJsonSchema() as {
      properties: { repositories: { additionalProperties: { properties: Record<string, unknown> } } };
    };
    expect(schema.properties.repositories.additionalProperties.properties.object_lock).toMatchObject({
      properties: { mode: { enum: ['governance', 'compliance'] }, days: { type: 'integer', exclusiveMinimum: 0 } },
      required: ['mode', 'days'],
      additionalProperties: false,
    });
  });
});
