import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPingReceiver, type PingReceiver } from '../../test/helpers/servers/ping-receiver.js';
import { parseConfig } from '../config/load.js';
import { Repository } from '../repository/repository.js';
import { openStorage } from '../storage/registry.js';
import { startDaemon, type Daemon } from './daemon.js';

/**
 * The daemon's job runner pings around every run it starts (here through
 * the API; the scheduler goes through the same runner): /start, then the
 * bare URL or /fail. A ping receiver that never answers holds up neither the
 * run nor the daemon's stop beyond the ping timeout.
 */
describe('ping notifier around daemon job runs', () => {
  let dir: string;
  let rx: PingReceiver;
  let daemon: Daemon;
  let token: string;
  const api = (p: string, method = 'GET') =>
    fetch(`${daemon.url}${p}`, { method, headers: { authorization: `Bearer ${token}` } });
  const runAndWait = async (job: string): Promise<string> => {
    const res = await api(`/api/v1/jobs/${job}/run`, 'POST');
    expect(res.status).toBe(202);
    const { run_id } = (await res.json()) as { run_id: string };
    for (let i = 0; i < 300; i++) {
      const { runs } = (await (await api(`/api/v1/jobs/${job}/runs`)).json()) as {
        runs: Array<{ id: string; outcome: string }>;
      };
      const outcome = runs.find((r) => r.id === run_id)?.outcome;
      if (outcome && outcome !== 'running') return outcome;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`run ${run_id} did not finish`);
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lifeboat-pings-'));
    rx = await startPingReceiver();
    mkdirSync(path.join(dir, 'data'));
    writeFileSync(path.join(dir, 'data', 'a.txt'), 'hello\n');
    writeFileSync(path.join(dir, 'repo.pass'), 'ping test passphrase\n', { mode: 0o600 });
    writeFileSync(path.join(dir, 'hc.url'), `${rx.url}\n`, { mode: 0o600 });
    await (
      await Repository.init(
        await openStorage(path.join(dir, 'repo'), { create: true }),
        Buffer.from('ping test passphrase'),
      )
    ).close();
    const loaded = parseConfig(
      `version: 1
state_dir: ./state
repositories:
  local: { url: ./repo, password_file: repo.pass }
sources:
  files:  { type: files, paths: [./data] }
  broken: { type: command, backup: "echo 'cannot read ${dir}/repo.pass' >&2; exit 3" }
jobs:
  nightly: { schedule: "0 3 * * *", sources: [files], to: local }
  bad:     { sources: [broken], to: local }
  quiet:   { sources: [files], to: local }
notify:
  - { type: ping, url_file: hc.url, jobs: [nightly, bad], timeout: 1s }
`,
      path.join(dir, 'lifeboat.yaml'),
    );
    daemon = await startDaemon(loaded, {
      listen: '127.0.0.1:0',
      cacheRoot: path.join(dir, 'cache'),
      notifyRetry: { attempts: 2, baseDelayMs: 20 },
    });
    token = readFileSync(daemon.tokenFile, 'utf8').trim();
  });
  afterAll(async () => {
    await daemon?.stop();
    await rx?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  let answeredRunMs = 0;
  const waitPings = async (n: number) => {
    for (let i = 0; i < 100 && rx.pings.length < n; i++) await new Promise((r) => setTimeout(r, 20));
    return rx.pings.map((p) => p.path.slice(new URL(rx.url).pathname.length) || '/');
  };

  it('pings start and success around an ok run, start and fail around a failed one, and skips unlisted jobs', async () => {
    const t0 = Date.now();
    expect(await runAndWait('nightly')).toBe('ok');
    answeredRunMs = Date.now() - t0;
    expect(await waitPings(2)).toEqual(['/start', '/']);
    expect(await runAndWait('bad')).toBe('failed');
    expect(await waitPings(4)).toEqual(['/start', '/', '/start', '/fail']);
    const body = rx.pings[3]!.body;
    expect(body).toMatch(/^job bad run \S+: failed/);
    expect(body).toContain('[secret file]'); // the error named the password file: redacted like every message
    expect(body).not.toContain(path.join(dir, 'repo.pass'));
    expect(await runAndWait('quiet')).toBe('ok');
    await new Promise((r) => setTimeout(r, 200));
    expect(rx.pings).toHaveLength(4);
    const { notifiers } = (await (await api('/api/v1/alerts')).json()) as {
      notifiers: Array<{ type: string; name: string; failures: number }>;
    };
    expect(notifiers).toEqual([expect.objectContaining({ type: 'ping', name: 'ping (URL in url_file)', failures: 0 })]);
  });

  it('a receiver that never answers delays neither the run nor the stop beyond the timeout', async () => {
    rx.hang(true);
    const before = rx.requests();
    const t0 = Date.now();
    expect(await runAndWait('nightly')).toBe('ok');
    const runMs = Date.now() - t0;
    expect(rx.requests() - before).toBeGreaterThanOrEqual(1); // the start ping is out, unanswered
    expect(rx.pings.length).toBe(4);
    const s0 = Date.now();
    await daemon.stop(); // waits at most one ping timeout (1 s) for the pings in flight, then drops them
    expect(Date.now() - s0).toBeLessThan(3000);
    // The run never waits for a ping: a hung receiver adds less than one ping timeout (1 s) to it.
    expect(runMs).toBeLessThan(answeredRunMs + 1000);
  });
});
