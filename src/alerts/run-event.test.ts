import { describe, expect, it } from 'vitest';
import type { JobResult } from '../jobs/run-job.js';
import { runEndEvent } from './run-event.js';

describe('the end-of-run summary a ping carries', () => {
  it('gives the run time as people write it', () => {
    const result = { outcome: 'ok', durationMs: 192_400, steps: [] } as unknown as JobResult;
    const e = runEndEvent('nightly', 'r1', { result });
    expect(e).toMatchObject({ phase: 'end', outcome: 'ok' });
    expect(e.phase === 'end' && e.summary).toBe('job nightly run r1: ok in 3m 12s\n');
  });
});
