import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.js';
import { evaluateRules } from '../alerts/rules.js';
import { alertSettingsOf } from './alert-inputs.js';
import { writeArchiverStatus } from './wal-archiver-status.js';
import { walFacts } from './wal-facts.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'lifeboat-wal-facts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const config = parseConfig(
  `version: 1
state_dir: ./state
repositories:
  local: { url: ./repo, password_file: repo.pass }
sources:
  db:
    type: postgres
    url: postgres://postgres@127.0.0.1:1/postgres
    pitr: { wal: archive }
`,
  path.join(dir, 'lifeboat.yaml'),
).config;
const state = path.join(dir, 'state');
const NOW = Date.parse('2026-12-07T12:00:00Z');

/** The server's own view decides the lag when the spool is empty; a failing archive_command is a problem of its own. */
describe('WAL facts from the archiver status', () => {
  it('counts the lag from the oldest segment waiting in the server and reports a failing archive_command', async () => {
    await writeArchiverStatus(state, {
      source: 'db',
      running: true,
      pid: 1,
      updatedMs: NOW - 10_000,
      drainedFiles: 3,
      lastArchivedWal: '000000010000000000000007',
      lastArchivedMs: NOW - 3 * 3600_000,
      lastBaseBackupMs: NOW - 86_400_000,
      server: {
        waiting: 4,
        oldestWaitingAt: new Date(NOW - 2 * 3600_000).toISOString(),
        lastArchivedAt: new Date(NOW - 3 * 3600_000).toISOString(),
        lastFailedWal: '000000010000000000000008',
        lastFailedAt: new Date(NOW - 60_000).toISOString(),
        failedCount: 120,
        checkedMs: NOW - 20_000,
      },
    });
    const [fact] = walFacts(config, state, NOW, NOW - 86_400_000);
    expect(fact).toMatchObject({ source: 'db', spooled: 0, serverWaiting: 4, limitSeconds: 3600, running: true });
    expect(fact!.lagSeconds).toBe(7200);
    expect(fact!.problems).toEqual([
      `archive_command is failing on the server: 000000010000000000000008 failed at ${new Date(NOW - 60_000).toISOString()}`,
    ]);
    const alerts = evaluateRules(
      { now: NOW, watchedSince: NOW - 86_400_000, scheduledSources: [], steps: [], space: [], wal: [fact!] },
      alertSettingsOf(config),
    );
    expect(alerts.map((a) => a.key).sort()).toEqual(['wal_archive_lag/db', 'wal_archiving/db']);
  });

  it('says when the archiver stopped reporting, and nothing is lag when nothing waits', async () => {
    await writeArchiverStatus(state, {
      source: 'db',
      running: true,
      pid: 1,
      updatedMs: NOW - 3600_000,
      drainedFiles: 0,
      lastBaseBackupMs: NOW - 3600_000,
      server: { waiting: 0, failedCount: 0, checkedMs: NOW - 3600_000 },
    });
    const [fact] = walFacts(config, state, NOW, NOW - 86_400_000);
    expect(fact!.lagSeconds).toBe(0);
    expect(fact!.running).toBe(false);
    expect(fact!.problems.join('\n')).toMatch(/last reported at 2026-12-07T11:00:00.000Z/);
  });
});
