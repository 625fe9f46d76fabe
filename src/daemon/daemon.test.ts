/* eslint-disable @typescript-eslint/no-explicit-any -- the API's JSON answers are read loosely, as scripts do */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebhookReceiver } from '../../test/helpers/servers/webhook-receiver.js';
import { parseConfig, type LoadedConfig } from '../config/load.js';
import { Repository } from '../repository/repository.js';
import { openStorage } from '../storage/registry.js';
import { startDaemon, type Daemon } from './daemon.js';

/**
 * The daemon in process against a real repository, over real HTTP on
 * loopback: auth, the status document, a run started by the API (and refused
 * while it runs), runs, paged snapshots, /metrics through promtool, alerts
 * sent to a real webhook receiver, server-sent events, and the history
 * rebuilt from the repository when the state database is lost.
 */
describe('lifeboat serve (in process)', () => {
  let dir: string;
  let loaded: LoadedConfig;
  let daemon: Daemon;
  let token: string;
  let hook: Awaited<ReturnType<typeof startWebhookReceiver>>;
  const call = async (pathname: string, init: RequestInit & { auth?: string | null } = {}) => {
    const headers: Record<string, string> = {
      ...(init.auth === null ? {} : { authorization: `Bearer ${init.auth ?? token}` }),
    };
    const res = await fetch(`${daemon.url}${pathname}`, { ...init, headers });
    const text = await res.text();
    return {
      status: res.status,
      type: res.headers.get('content-type') ?? '',
      text,
      json: () => JSON.parse(text) as Record<string, any>,
    };
  };
  const waitFor = async <T>(fn: () => Promise<T | undefined>, what: string): Promise<T> => {
    for (let i = 0; i < 200; i++) {
      const v = await fn();
      if (v !== undefined) return v;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`timed out waiting for ${what}`);
  };
  const start = async () => {
    daemon = await startDaemon(loaded, {
      listen: '127.0.0.1:0',
      cacheRoot: path.join(dir, 'cache'),
      notifyRetry: { attempts: 2, baseDelayMs: 5 },
    });
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lifeboat-daemon-'));
    hook = await startWebhookReceiver();
    mkdirSync(path.join(dir, 'data'));
    writeFileSync(path.join(dir, 'data', 'a.txt'), 'hello\n');
    writeFileSync(path.join(dir, 'repo.pass'), 'daemon test passphrase\n', { mode: 0o600 });
    const repo = await Repository.init(
      await openStorage(path.join(dir, 'repo'), { create: true }),
      Buffer.from('daemon test passphrase'),
    );
    await repo.close();
    loaded = parseConfig(
      `version: 1
state_dir: ./state
repositories:
  local: { url: ./repo, password_file: repo.pass, retention: { keep_last: 10 } }
sources:
  files:  { type: files, paths: [./data], rpo: 1d }
  slow:   { type: command, backup: "sleep 1; echo slow" }
  broken: { type: command, backup: "echo 'cannot read ${dir}/repo.pass' >&2; exit 3" }
jobs:
  nightly: { schedule: "0 3 * * *", sources: [files, slow], to: local, then: [check] }
  bad:     { sources: [broken], to: local }
notify:
  - { type: webhook, url: "${hook.url}", on: [failure, recovered, success] }
`,
      path.join(dir, 'lifeboat.yaml'),
    );
    await start();
    token = (await import('node:fs')).readFileSync(daemon.tokenFile, 'utf8').trim();
  });
  afterAll(async () => {
    await daemon?.stop();
    await hook?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('generates a 0600 token and refuses requests without it; /healthz is open', async () => {
    expect(daemon.tokenCreated).toBe(true);
    expect(statSync(daemon.tokenFile).mode & 0o777).toBe(0o600);
    expect((await call('/healthz', { auth: null })).json()).toEqual({ status: 'ok' });
    for (const auth of [null, 'wrong-token']) {
      const r = await call('/api/v1/jobs', { auth });
      expect(r.status).toBe(401);
      expect(r.json()).toEqual({ error: { code: 'unauthorized', message: 'missing or wrong bearer token' } });
    }
    expect((await call('/metrics', { auth: null })).status).toBe(401);
    expect((await call('/api/v1/nope')).json().error.code).toBe('not_found');
  });

  it('starts a job by POST (202, then 409 while it runs) and shows it in runs, jobs, events and metrics', async () => {
    const events: string[] = [];
    const sse = http.get(`${daemon.url}/api/v1/events`, { headers: { authorization: `Bearer ${token}` } }, (res) =>
      res.setEncoding('utf8').on('data', (d: string) => events.push(d)),
    );
    await waitFor(async () => (events.length ? true : undefined), 'the event stream');

    const r = await call('/api/v1/jobs/nightly/run', { method: 'POST' });
    expect(r.status).toBe(202);
    const runId = r.json().run_id as string;
    const again = await call('/api/v1/jobs/nightly/run', { method: 'POST' });
    expect(again.status).toBe(409);
    expect(again.json().error.code).toBe('conflict');
    expect((await call('/api/v1/jobs/ghost/run', { method: 'POST' })).status).toBe(404);

    const run = await waitFor(async () => {
      const runs = (await call('/api/v1/jobs/nightly/runs')).json().runs as Array<Record<string, any>>;
      return runs.find((x) => x.id === runId && x.outcome !== 'running');
    }, 'the run to finish');
    expect(run.outcome).toBe('ok');
    expect(run.steps.map((s: { step: string; source: string | null }) => `${s.step}:${s.source}`)).toEqual([
      'backup:files',
      'backup:slow',
      'check:null',
    ]);

    const stream = events.join('');
    for (const type of ['run.started', 'step.started', 'step.finished', 'run.finished'])
      expect(stream).toContain(`event: ${type}\n`);
    sse.destroy();

    const jobs = (await call('/api/v1/jobs')).json().jobs as Array<Record<string, any>>;
    expect(jobs.find((j) => j.name === 'nightly')).toMatchObject({
      schedule: '0 3 * * *',
      next_run: expect.stringMatching(/T03:00:00.000Z$/),
      running: null,
      last_run: { id: runId, outcome: 'ok' },
    });

    const metrics = await call('/metrics');
    expect(metrics.type).toContain('text/plain');
    expect(metrics.text).toMatch(/lifeboat_backup_success_total\{job="nightly",source="files",repository="local"\} 1/);
    expect(metrics.text).toMatch(/lifeboat_verification_ok\{repository="local"\} 1/);
    expect(metrics.text).toMatch(/lifeboat_repository_size_bytes\{repository="local"\} \d+/);
    const promtool = spawnSync('promtool', ['check', 'metrics'], { input: metrics.text, encoding: 'utf8' });
    expect(promtool.status, promtool.stdout + promtool.stderr).toBe(0);

    await waitFor(
      async () => (hook.received.some((h) => JSON.parse(h.body).event === 'success') ? true : undefined),
      'the success webhook',
    );
  });

  it('serves the status document', async () => {
    const doc = (await call('/api/v1/system/backup/status')).json();
    expect(Object.keys(doc).sort()).toEqual([
      'alerts',
      'last_backup',
      'last_verification',
      'next_backup',
      'sources',
      'storage',
    ]);
    expect(doc.last_backup).toMatchObject({
      type: 'nightly',
      status: 'success',
      size_bytes: expect.any(Number),
      duration_seconds: expect.any(Number),
    });
    expect(doc.last_verification).toMatchObject({ status: 'success' });
    expect(doc.next_backup).toMatchObject({ type: 'nightly', timestamp: expect.stringMatching(/T03:00:00.000Z$/) });
    expect(doc.storage.local).toMatchObject({
      connected: true,
      used_bytes: expect.any(Number),
      available_bytes: expect.any(Number),
    });
    expect(doc.sources.files).toMatchObject({ ok: true, rpo_seconds: 86400, age_seconds: expect.any(Number) });
    expect(doc.sources.broken).toMatchObject({ ok: false, last_success: null, age_seconds: null });
  });

  it('alerts on a failed job through the webhook, without secret file paths', async () => {
    expect((await call('/api/v1/jobs/bad/run', { method: 'POST' })).status).toBe(202);
    const alert = await waitFor(
      async () =>
        ((await call('/api/v1/alerts')).json().active as Array<Record<string, any>>).find(
          (a) => a.rule === 'backup_failed',
        ),
      'the alert',
    );
    expect(alert).toMatchObject({ source: 'broken', repository: 'local', job: 'bad', severity: 'critical' });
    expect(alert.message).toContain('[secret file]');
    const sent = await waitFor(
      async () => hook.received.map((h) => JSON.parse(h.body)).find((b) => b.event === 'failure'),
      'the failure webhook',
    );
    expect(sent.alert).toMatchObject({ rule: 'backup_failed', source: 'broken' });
    const all = JSON.stringify([
      (await call('/api/v1/alerts')).json(),
      (await call('/api/v1/jobs/bad/runs')).json(),
      hook.received.map((h) => h.body),
    ]);
    expect(all).not.toContain(path.join(dir, 'repo.pass'));
    expect(all).not.toContain(token);
    const active = (await call('/api/v1/alerts')).json().active as Array<{ id: number; rule: string }>;
    expect((await call('/api/v1/system/backup/status')).json().alerts).toEqual(
      active.map((a) => expect.objectContaining({ id: a.id, rule: a.rule })),
    );
    expect(active.map((a) => a.rule)).toContain('compliance_321'); // one repository is not 3-2-1
  });

  it('pages snapshots with a cursor and validates its parameters', async () => {
    for (let i = 0; i < 2; i++) {
      const runId = (await call('/api/v1/jobs/nightly/run', { method: 'POST' })).json().run_id as string;
      await waitFor(
        async () =>
          ((await call('/api/v1/jobs/nightly/runs')).json().runs as Array<{ id: string; outcome: string }>).find(
            (r) => r.id === runId && r.outcome !== 'running',
          ),
        'a run',
      );
    }
    const all = (await call('/api/v1/snapshots?limit=1000')).json();
    expect(all.snapshots).toHaveLength(6); // 3 runs × (files, slow)
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Record<string, any> = (
        await call(`/api/v1/snapshots?limit=4${cursor ? `&cursor=${cursor}` : ''}`)
      ).json();
      seen.push(...page.snapshots.map((s: { id: string }) => s.id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toEqual(all.snapshots.map((s: { id: string }) => s.id));
    const files = (await call('/api/v1/snapshots?source=files&repository=local')).json().snapshots as Array<{
      source: string;
      time: string;
      job: string;
    }>;
    expect(files).toHaveLength(3);
    expect(files.every((s) => s.source === 'files' && s.job === 'nightly')).toBe(true);
    expect(files.map((s) => s.time)).toEqual([...files.map((s) => s.time)].sort().reverse());
    for (const bad of ['limit=0', 'limit=abc', 'limit=5000', 'cursor=%%%'])
      expect((await call(`/api/v1/snapshots?${bad}`)).json().error.code).toBe('bad_request');
    expect((await call('/api/v1/snapshots?repository=nope')).status).toBe(404);
    expect((await call('/api/v1/drills')).json()).toEqual({ drills: [] });
  });

  it('rejects oversized bodies with a JSON error', async () => {
    const r = await call('/api/v1/jobs/nightly/run', { method: 'POST', body: 'x'.repeat(64 * 1024) });
    expect(r.status).toBe(413);
    expect(r.json().error.code).toBe('payload_too_large');
  });

  it('rebuilds the run history from the repository when the state database is lost', async () => {
    await daemon.stop();
    for (const f of ['state.db', 'state.db-wal', 'state.db-shm']) rmSync(path.join(dir, 'state', f), { force: true });
    await start();
    expect(daemon.tokenCreated).toBe(false); // the token file is kept
    const runs = (await call('/api/v1/jobs/nightly/runs')).json().runs as Array<{
      outcome: string;
      steps: Array<{ step: string }>;
    }>;
    expect(runs).toHaveLength(3);
    expect(runs.every((r) => r.outcome === 'ok' && r.steps.every((s) => s.step === 'backup'))).toBe(true);
    expect((await call('/api/v1/system/backup/status')).json().sources.files.ok).toBe(true);
  });
});
