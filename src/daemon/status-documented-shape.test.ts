import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.js';
import { Repository } from '../repository/repository.js';
import { openStorage } from '../storage/registry.js';
import { startDaemon, type Daemon } from './daemon.js';

/**
 * The Backup Status API's documented example response, copied as the
 * documentation gives it: a client written against that page must read our
 * answer unchanged: every field it names is there with the same JSON type,
 * and `status` uses the same words (`success`, or `failed`).
 */
const DOCUMENTED_EXAMPLE = {
  last_backup: {
    timestamp: '2026-01-13T03:00:00Z',
    type: 'daily',
    status: 'success',
    duration_seconds: 45,
    size_bytes: 52428800,
  },
  last_verification: {
    timestamp: '2026-01-01T05:00:00Z',
    status: 'success',
  },
  next_backup: {
    timestamp: '2026-01-14T03:00:00Z',
    type: 'daily',
  },
  storage: {
    local: {
      used_bytes: 524288000,
      available_bytes: 10737418240,
    },
    usb: {
      connected: true,
      used_bytes: 1073741824,
    },
  },
};

/** Each field of `expected` present in `actual` with the same JSON type (integers stay integers); returns the differences. */
function shapeDifferences(expected: unknown, actual: unknown, at = '$'): string[] {
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object')
      return [`${at}: expected an object, got ${JSON.stringify(actual)}`];
    return Object.entries(expected).flatMap(([k, v]) =>
      k in actual ? shapeDifferences(v, (actual as Record<string, unknown>)[k], `${at}.${k}`) : [`${at}.${k}: missing`],
    );
  }
  if (typeof expected !== typeof actual) return [`${at}: expected a ${typeof expected}, got ${JSON.stringify(actual)}`];
  if (Number.isInteger(expected) && !Number.isInteger(actual))
    return [`${at}: expected an integer, got ${JSON.stringify(actual)}`];
  return [];
}

describe('status API in its documented shape', () => {
  let dir: string;
  let daemon: Daemon;
  let token: string;
  const get = async (p: string, init: RequestInit = {}) =>
    fetch(`${daemon.url}${p}`, { ...init, headers: { authorization: `Bearer ${token}` } });
  const runJob = async (job: string) => {
    const { run_id } = (await (await get(`/api/v1/jobs/${job}/run`, { method: 'POST' })).json()) as { run_id: string };
    for (let i = 0; i < 600; i++) {
      const { runs } = (await (await get(`/api/v1/jobs/${job}/runs`)).json()) as {
        runs: Array<{ id: string; outcome: string }>;
      };
      const run = runs.find((r) => r.id === run_id);
      if (run && run.outcome !== 'running') return run.outcome;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`job ${job} did not finish`);
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lifeboat-status-shape-'));
    mkdirSync(path.join(dir, 'data'));
    writeFileSync(path.join(dir, 'data', 'a.txt'), 'hello\n');
    writeFileSync(path.join(dir, 'repo.pass'), 'status shape passphrase\n', { mode: 0o600 });
    for (const name of ['local', 'usb']) {
      const repo = await Repository.init(
        await openStorage(path.join(dir, name), { create: true }),
        Buffer.from('status shape passphrase'),
      );
      await repo.close();
    }
    const loaded = parseConfig(
      `version: 1
state_dir: ./state
repositories:
  local: { url: ./local, password_file: repo.pass }
  usb:   { url: ./usb, password_file: repo.pass }
sources:
  files:  { type: files, paths: [./data] }
  broken: { type: command, backup: "exit 1" }
jobs:
  daily:   { schedule: "0 3 * * *", sources: [files], to: local, then: [check] }
  failing: { sources: [broken], to: usb }
`,
      path.join(dir, 'lifeboat.yaml'),
    );
    daemon = await startDaemon(loaded, { listen: '127.0.0.1:0', cacheRoot: path.join(dir, 'cache') });
    token = readFileSync(daemon.tokenFile, 'utf8').trim();
  });
  afterAll(async () => {
    await daemon?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers a successful backup and verification with the documented example\'s fields, types and "success"', async () => {
    expect(await runJob('daily')).toBe('ok');
    const doc = (await (await get('/api/v1/system/backup/status')).json()) as typeof DOCUMENTED_EXAMPLE;
    expect(shapeDifferences(DOCUMENTED_EXAMPLE, doc)).toEqual([]);
    expect(doc.last_backup.status).toBe(DOCUMENTED_EXAMPLE.last_backup.status);
    expect(doc.last_verification.status).toBe(DOCUMENTED_EXAMPLE.last_verification.status);
    expect(doc.last_backup.type).toBe('daily');
    expect(doc.next_backup.type).toBe('daily');
  });

  it('answers a failed backup as "failed"', async () => {
    await runJob('failing');
    const doc = (await (await get('/api/v1/system/backup/status')).json()) as typeof DOCUMENTED_EXAMPLE;
    expect(shapeDifferences(DOCUMENTED_EXAMPLE, doc)).toEqual([]);
    expect(doc.last_backup).toMatchObject({ type: 'failing', status: 'failed' });
  });
});
