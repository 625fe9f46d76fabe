import { describe, expect, it } from 'vitest';
import type { SnapshotEntry } from '../repository/format/index.js';
import { chooseSnapshot } from './choose.js';

describe('chooseSnapshot', () => {
  const now = new Date('2026-12-07T00:00:00.000Z');
  const snap = (id: string, hoursFromNow: number) =>
    ({ id, source: 'db', time: new Date(now.getTime() + hoursFromNow * 3600_000).toISOString() }) as SnapshotEntry;

  it('does not take a snapshot dated in the future as the newest, nor as one within the window', () => {
    const list = [snap('old', -48), snap('recent', -1), snap('future', 48)];
    expect(chooseSnapshot(list, 'db', { seed: 1, now }).snapshot.id).toBe('recent');
    for (let seed = 1; seed <= 10; seed++)
      expect(chooseSnapshot(list, 'db', { seed, now, within: '30d' }).snapshot.id).not.toBe('future');
  });

  it('uses a future-dated snapshot only when it is the only one', () => {
    expect(chooseSnapshot([snap('future', 48)], 'db', { seed: 1, now }).snapshot.id).toBe('future');
  });
});
