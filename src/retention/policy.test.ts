import { describe, expect, it } from 'vitest';
import { addToPolicy, describePolicy, policyFromConfig } from './policy.js';

describe('retention policy', () => {
  it('adds rules given on the command line to the configured policy, replacing only the same rule', () => {
    const configured = policyFromConfig({ keep_daily: 7, keep_weekly: 4, keep_tags: ['keep'] });
    const merged = addToPolicy(configured, { maxAgeSeconds: 90 * 86_400, keepWeekly: 8, keepTags: ['audit'] });
    expect(merged).toMatchObject({
      keepDaily: 7,
      keepWeekly: 8,
      maxAgeSeconds: 90 * 86_400,
      keepTags: ['keep', 'audit'],
    });
    expect(describePolicy(merged)).toBe('daily 7, weekly 8, tags keep,audit, max age 90d');
  });
});
