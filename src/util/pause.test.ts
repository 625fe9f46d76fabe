/**
 * Tests for the abortable pause.
 *
 * @module
 */

import { describe, expect, it } from 'vitest';
import { pause } from './pause.js';

describe('pause', () => {
  it('resolves after the time when nothing aborts', async () => {
    const started = Date.now();
    await pause(50, new AbortController().signal);
    // setTimeout never fires early by more than a millisecond of rounding.
    expect(Date.now() - started).toBeGreaterThanOrEqual(49);
  });

  it('resolves at once when the signal aborts during the wait, without rejecting', async () => {
    const ac = new AbortController();
    const started = Date.now();
    const waiting = pause(60_000, ac.signal);
    ac.abort(new Error('stop'));
    await expect(waiting).resolves.toBeUndefined();
    // Far below the 60 s asked for: generous, only the abort can end it this soon.
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('resolves at once when the signal had already aborted', async () => {
    const ac = new AbortController();
    ac.abort();
    const started = Date.now();
    await pause(60_000, ac.signal);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('takes a negative time as no wait', async () => {
    await expect(pause(-5)).resolves.toBeUndefined();
  });
});
