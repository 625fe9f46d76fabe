import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { evaluateRules } from '../alerts/rules.js';
import { parseConfig } from '../config/load.js';
import { writeReplicationStatus, type ReplicationStatus } from '../sources/sqlite/continuous/replication-status.js';
import { renderMetrics } from './metrics.js';
import { RunHistory } from '../state/history.js';
import { replicationFacts } from './replication.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'lb-repl-facts-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const { config } = parseConfig(
  `version: 1
repositories:
  local: { url: ./repo, password_file: repo.pass }
sources:
  app: { type: sqlite, path: app.db, rpo: 30s, continuous: { interval: 1s } }
  other: { type: sqlite, path: other.db, continuous: {} }
  plain: { type: sqlite, path: plain.db }
`,
  '/etc/lb/lifeboat.yaml',
);

function status(over: Partial<ReplicationStatus>): ReplicationStatus {
  return {
    source: 'app',
    repository: 'local',
    generation: 'g',
    position: { index: 0, frame: 1 },
    lagSeconds: 0,
    unshippedCommits: 0,
    objectsWritten: 1,
    bytesWritten: 1,
    transactionsShipped: 1,
    generationsStarted: 1,
    shipFailures: 0,
    checkpoints: 0,
    errors: 0,
    running: true,
    pid: 1,
    intervalMs: 1000,
    updatedMs: 0,
    ...over,
  };
}

const settings = { overdueAfterMs: 1e12, sizeChangePct: 0, freeWarningPct: 0, freeCriticalPct: 0, maxBackupMs: 1e12 };

describe('replication facts, metrics and the replication_lag alert', () => {
  it('a running replicator within its limit: lag as recorded, no alert; the metrics carry lag and newest shipped time', async () => {
    const now = 1_000_000_000;
    await writeReplicationStatus(
      dir,
      status({ updatedMs: now - 500, lagSeconds: 0.4, lastShippedCommitMs: now - 900 }),
    );
    const facts = replicationFacts(config, dir, now, now - 3600_000);
    expect(facts.map((f) => f.source)).toEqual(['app', 'other']);
    expect(facts[0]).toMatchObject({ lagSeconds: 0.4, limitSeconds: 30, running: true });
    const alerts = evaluateRules(
      { now, watchedSince: now, scheduledSources: [], steps: [], space: [], replication: facts },
      settings,
    );
    // `other` was never replicated since watching began an hour ago: past its default limit of 60 s.
    expect(alerts.map((a) => a.key)).toEqual(['replication_lag/other']);
    const history = RunHistory.open(dir);
    try {
      const { text } = await renderMetrics({ config, history, storage: [], replication: facts });
      expect(text).toContain('lifeboat_replication_lag_seconds{source="app"} 0.4');
      expect(text).toContain(`lifeboat_replication_last_shipped_timestamp_seconds{source="app"} ${(now - 900) / 1000}`);
    } finally {
      history.close();
    }
  });

  it('a replicator that stopped reporting: the lag grows with the silence and the alert fires past the RPO', async () => {
    const now = 1_000_000_000;
    await writeReplicationStatus(
      dir,
      status({ updatedMs: now - 45_000, lagSeconds: 0, lastShippedCommitMs: now - 45_000 }),
    );
    const [app] = replicationFacts(config, dir, now, now);
    expect(app!.lagSeconds).toBeCloseTo(45, 5);
    const alerts = evaluateRules(
      { now, watchedSince: now, scheduledSources: [], steps: [], space: [], replication: [app!] },
      settings,
    );
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ rule: 'replication_lag', severity: 'critical', source: 'app' });
    expect(alerts[0]!.message).toMatch(/45s behind, past its limit of 30s/);
  });
});
