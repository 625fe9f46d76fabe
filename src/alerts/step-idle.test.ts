import { describe, expect, it } from 'vitest';
import type { StepRecord } from '../state/history.js';
import { evaluateRules } from './rules.js';

const settings = {
  overdueAfterMs: 36 * 3_600_000,
  sizeChangePct: 50,
  freeWarningPct: 20,
  freeCriticalPct: 10,
  maxBackupMs: 3_600_000,
};
const NOW = Date.parse('2026-02-10T12:00:00Z');
const forget = (startedAt: string, outcome: StepRecord['outcome']): StepRecord => ({
  runId: startedAt,
  job: 'sync',
  step: 'forget',
  source: 'db',
  repository: 'offsite',
  startedAt,
  durationMs: 0,
  outcome,
  ...(outcome === 'nothing_to_do' ? { error: 'offsite holds no snapshot of "db" to apply retention to' } : {}),
});
const evaluate = (steps: StepRecord[]) =>
  evaluateRules({ now: NOW, watchedSince: NOW, scheduledSources: [], steps, space: [] }, settings);

describe('alert rule step_idle', () => {
  it('warns while the newest run of a job step had nothing to do, and clears once it acts again', () => {
    expect(evaluate([forget('2026-02-10T04:00:00Z', 'nothing_to_do')])).toEqual([
      expect.objectContaining({
        key: 'step_idle/sync/forget/db/offsite',
        rule: 'step_idle',
        severity: 'warning',
        message: expect.stringContaining(
          'had nothing to do at 2026-02-10T04:00:00Z: offsite holds no snapshot of "db"',
        ),
      }),
    ]);
    expect(evaluate([forget('2026-02-10T04:00:00Z', 'nothing_to_do'), forget('2026-02-10T05:00:00Z', 'ok')])).toEqual(
      [],
    );
  });
});
