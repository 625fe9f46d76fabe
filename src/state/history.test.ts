import { mkdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import Database from 'better-sqlite3';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Repository } from '../repository/repository.js';
import { backupSource } from '../sources/run-source.js';
import { openStorage } from '../storage/registry.js';
import { RunHistory } from './history.js';
import { rebuildHistory } from './rebuild.js';

describe('run history', () => {
  let work: string;
  let repo: Repository;
  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-history-'));
    await mkdir(path.join(work, 'app'));
    await writeFile(path.join(work, 'app', 'config.yaml'), 'a: 1\n');
    repo = await Repository.init(await openStorage(path.join(work, 'repo'), { create: true }), Buffer.from('pw'));
  });
  afterAll(async () => {
    await repo.close();
    await rm(work, { recursive: true, force: true });
  });

  it('adds the output column to a state database made before hooks, keeping its rows', () => {
    const dir = path.join(work, 'state-old');
    mkdirSync(dir, { recursive: true });
    const old = new Database(path.join(dir, 'state.db'));
    old.exec(`CREATE TABLE steps (
      run_id TEXT NOT NULL, job TEXT NOT NULL, step TEXT NOT NULL, source TEXT, repository TEXT,
      started_at TEXT NOT NULL, duration_ms INTEGER NOT NULL, bytes INTEGER, added_bytes INTEGER,
      snapshot TEXT, outcome TEXT NOT NULL, error TEXT, UNIQUE (run_id, step, source, repository));
      INSERT INTO steps VALUES ('r0', 'nightly', 'backup', 'db', 'local', '2026-11-21T03:00:00.000Z', 5, NULL, NULL, 'abc', 'ok', NULL);`);
    old.close();
    const h = RunHistory.open(dir);
    h.recordStep({
      runId: 'r1',
      job: 'nightly',
      step: 'hook:before',
      source: 'db',
      startedAt: '2026-11-22T03:00:00.000Z',
      durationMs: 3,
      outcome: 'failed',
      error: '"exit 4" exited with status 4',
      output: '$ exit 4\n',
    });
    expect(h.steps({ runId: 'r1' })[0]).toMatchObject({ step: 'hook:before', output: '$ exit 4\n' });
    expect(h.steps({ runId: 'r0' })[0]).toMatchObject({ step: 'backup', snapshot: 'abc' });
    expect(h.steps({ runId: 'r0' })[0]!.output).toBeUndefined();
    h.close();
  });

  it('records runs and steps, and survives reopening', () => {
    const dir = path.join(work, 'state-a');
    const h = RunHistory.open(dir);
    h.startRun({ id: 'r1', job: 'nightly', startedAt: '2026-11-22T03:00:00.000Z' });
    h.recordStep({
      runId: 'r1',
      job: 'nightly',
      step: 'backup',
      source: 'db',
      repository: 'local',
      startedAt: '2026-11-22T03:00:01.000Z',
      durationMs: 1200,
      bytes: 10,
      addedBytes: 2,
      snapshot: 'abc',
      outcome: 'ok',
    });
    h.recordStep({
      runId: 'r1',
      job: 'nightly',
      step: 'backup',
      source: 'vault',
      repository: 'local',
      startedAt: '2026-11-22T03:00:03.000Z',
      durationMs: 50,
      outcome: 'failed',
      error: 'sealed',
    });
    h.finishRun('r1', 'failed', 'sealed', '2026-11-22T03:00:04.000Z');
    h.close();
    const again = RunHistory.open(dir);
    expect(again.runs()).toEqual([
      {
        id: 'r1',
        job: 'nightly',
        startedAt: '2026-11-22T03:00:00.000Z',
        finishedAt: '2026-11-22T03:00:04.000Z',
        outcome: 'failed',
        error: 'sealed',
      },
    ]);
    expect(again.steps({ source: 'vault' })[0]).toMatchObject({ outcome: 'failed', error: 'sealed' });
    again.close();
  });

  it('is rebuilt from the snapshots jobs left in the repositories when the state is lost', async () => {
    const config = { type: 'files' as const, paths: [path.join(work, 'app')] };
    const a = await backupSource(repo, 'conf', config, { run: { job: 'nightly', runId: 'run-1' } });
    const b = await backupSource(repo, 'conf', config, { run: { job: 'nightly', runId: 'run-2' } });
    await backupSource(repo, 'conf', config); // an ad-hoc backup is not part of any run
    const fresh = RunHistory.open(path.join(work, 'state-lost'));
    expect(await rebuildHistory(fresh, [{ name: 'local', repo }])).toEqual({ runs: 2, steps: 2 });
    expect(
      fresh
        .runs()
        .map((r) => [r.id, r.job, r.outcome])
        .sort(),
    ).toEqual([
      ['run-1', 'nightly', 'ok'],
      ['run-2', 'nightly', 'ok'],
    ]);
    const steps = fresh.steps({ step: 'backup' });
    expect(steps.map((s) => s.snapshot).sort()).toEqual([a.snapshot.id, b.snapshot.id].sort());
    expect(steps[0]).toMatchObject({ source: 'conf', repository: 'local', outcome: 'ok' });
    fresh.close();
  });
});
