import { describe, expect, it } from 'vitest';
import { formatAgo, formatDuration, formatSeconds } from './format.js';

describe('durations as people write them', () => {
  it('shows the two largest units, leaving a zero second unit out', () => {
    const cases: Array<[number, string]> = [
      [0, '0s'],
      [0.4, '0s'],
      [1, '1s'],
      [59, '59s'],
      [59.6, '1m'],
      [60, '1m'],
      [61, '1m 1s'],
      [120, '2m'],
      [3599, '59m 59s'],
      [3600, '1h'],
      [3 * 3600 + 12 * 60 + 40, '3h 12m'],
      [86_399, '23h 59m'],
      [86_400, '1d'],
      [86_400 + 2 * 3600, '1d 2h'],
      [86_400 + 2 * 3600 + 59 * 60, '1d 2h'],
      [30 * 86_400, '30d'],
      [120 / 3600, '0s'],
    ];
    for (const [seconds, text] of cases) expect(formatSeconds(seconds), String(seconds)).toBe(text);
  });

  it('never prints a fraction of an hour or a zero hour', () => {
    for (let s = 0; s < 4 * 86_400; s += 97) {
      const text = formatSeconds(s);
      expect(text).toMatch(/^\d+[dhms]( \d+[hms])?$/);
      expect(text).not.toMatch(/^0[dhm]|\.\d/);
    }
  });

  it('says how long ago, and not "0h ago"', () => {
    expect(formatAgo(0)).toBe('just now');
    expect(formatAgo(0.5)).toBe('just now');
    expect(formatAgo(59)).toBe('59s ago');
    expect(formatAgo(3 * 3600 + 12 * 60)).toBe('3h 12m ago');
    expect(formatAgo(-300)).toBe('in 5m');
    expect(formatAgo(Number.NaN)).toBe('at an unknown time');
  });

  it('shows a measured duration with a tenth of a second under a minute', () => {
    expect(formatDuration(350)).toBe('350 ms');
    expect(formatDuration(1234)).toBe('1.2s');
    expect(formatDuration(59_940)).toBe('59.9s');
    expect(formatDuration(59_960)).toBe('1m');
    expect(formatDuration(125_000)).toBe('2m 5s');
    expect(formatDuration(3_780_000)).toBe('1h 3m');
  });
});
