import { describe, expect, it } from 'vitest';
import { traceLine } from './trace-timing.js';

describe('traceLine', () => {
  it('prints the time, memory, peak and phase name on one line', () => {
    expect(traceLine('key unlocked', 1234.4, 70 * 1048576, 134 * 1048576)).toBe(
      'lifeboat-trace 1234 ms rss 70 MB peak 134 MB key unlocked\n',
    );
  });

  it('shows an unknown peak as ?', () => {
    expect(traceLine('modules loaded', 5, 1048576, undefined)).toBe(
      'lifeboat-trace 5 ms rss 1 MB peak ? MB modules loaded\n',
    );
  });
});
