import { describe, expect, it } from 'vitest';
import { feedProgress } from './progress-feed.js';

describe('feedProgress', () => {
  // An interval no test run reaches: which writes are reported does not depend on the machine's speed.
  const NEVER = 3600_000;

  it('reports steps at once, byte counts only once the interval passed, and the final state on flush', () => {
    const counters = { phase: 'scanning', filesDone: 0, bytesDone: 0 };
    const seen: Array<typeof counters> = [];
    const feed = feedProgress(counters, (p) => seen.push(p), NEVER);
    feed.live.bytesDone += 10; // the first change is reported at once
    feed.live.bytesDone += 10; // within the interval: held back
    feed.live.filesDone++; // a step: at once
    feed.live.bytesDone += 5;
    feed.live.phase = 'done';
    feed.flush();
    feed.flush(); // nothing changed since: no report
    expect(seen).toEqual([
      { phase: 'scanning', filesDone: 0, bytesDone: 10 },
      { phase: 'scanning', filesDone: 1, bytesDone: 20 },
      { phase: 'done', filesDone: 1, bytesDone: 25 },
    ]);
    // The caller's object is the one written, and reports are copies.
    expect(counters).toEqual({ phase: 'done', filesDone: 1, bytesDone: 25 });
    seen[0]!.bytesDone = -1;
    expect(counters.bytesDone).toBe(25);
  });

  it('writes without reporting when there is no callback, and a write of the same value is no change', () => {
    const counters = { filesDone: 0 };
    const none = feedProgress(counters, undefined);
    expect(none.live).toBe(counters);
    const seen: number[] = [];
    const feed = feedProgress(counters, (p) => seen.push(p.filesDone), NEVER);
    feed.live.filesDone = 0;
    feed.flush();
    expect(seen).toEqual([]);
  });
});
