import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RunHistory } from '../state/history.js';
import { buildStatus } from './status.js';

/** A step with nothing to act on reaches the status document as itself, never as `ok`. */
describe('nothing_to_do in the status document', () => {
  let dir: string | undefined;
  afterEach(() => dir && rmSync(dir, { recursive: true, force: true }));

  it('shows a verification that had nothing to verify as nothing_to_do', () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lifeboat-idle-'));
    const history = RunHistory.open(dir);
    try {
      const startedAt = new Date(Date.now() - 60_000).toISOString();
      history.startRun({ id: 'r1', job: 'sync', startedAt });
      history.recordStep({
        runId: 'r1',
        job: 'sync',
        step: 'verify',
        repository: 'offsite',
        startedAt,
        durationMs: 0,
        outcome: 'nothing_to_do',
        error: 'offsite holds no snapshot of a configured source to verify',
      });
      history.finishRun('r1', 'nothing_to_do');
      const doc = buildStatus({
        config: {
          version: 1,
          repositories: { offsite: { url: '/srv/offsite' } },
          jobs: { sync: { copy_to: ['offsite'], then: ['verify'] } },
        },
        history,
        storage: [],
        nextRuns: new Map(),
        alerts: [],
        now: Date.now(),
      });
      expect(doc.last_verification).toEqual({ timestamp: startedAt, status: 'nothing_to_do' });
      expect(history.runs('sync')[0]!.outcome).toBe('nothing_to_do');
    } finally {
      history.close();
    }
  });
});
