import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCli, tempDir } from '../helpers/cli.js';
import { cliEnvFor } from '../helpers/e2e.js';

/**
 * `lifeboat serve` as a user runs it: the built CLI on a free port with a
 * temporary config and state; the API with and without the token; a job run
 * started by POST seen in its runs and in /metrics; `lifeboat status` printing
 * the same document (and its text form with durations as people write them);
 * SIGTERM stopping it cleanly, with no warning from a dependency on stderr.
 */
describe('lifeboat serve (built CLI)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let config: string;
  const env = () => cliEnvFor(path.join(dir, 'cache'), undefined, { LIFEBOAT_STATE_DIR: undefined });

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('lifeboat-e2e-serve-'));
    writeFileSync(path.join(dir, 'repo.pass'), 'serve e2e passphrase\n', { mode: 0o600 });
    writeFileSync(path.join(dir, 'notes.txt'), 'remember the milk\n');
    config = path.join(dir, 'lifeboat.yaml');
    writeFileSync(
      config,
      `version: 1
state_dir: ./state
repositories:
  local: { url: ./repo, password_file: repo.pass }
sources:
  notes: { type: files, paths: [./notes.txt] }
  slow:  { type: command, backup: "sleep 30; echo late" }
jobs:
  nightly: { schedule: "0 3 * * *", sources: [notes], to: local, then: [check] }
  long:    { sources: [slow], to: local }
server: { listen: "127.0.0.1:0" }
`,
    );
    const init = await runCli(['--config', config, 'init', '--repo', 'local'], { env: env() });
    expect(init.code, init.stderr).toBe(0);
  });
  afterAll(async () => cleanup());

  it('serves the API with a token, runs a job by POST, and stops on SIGTERM', async () => {
    const child = startCli(['--config', config, 'serve'], { env: env() });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no listening line:\n${stderr}`)), 20_000);
        child.stderr!.on('data', () => {
          const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        });
      });
      const tokenFile = path.join(dir, 'state', 'api.token');
      expect(stderr).toContain(`API token generated in ${tokenFile}`);
      const token = readFileSync(tokenFile, 'utf8').trim();
      expect(stderr).not.toContain(token);
      const api = (p: string, init: RequestInit = {}, auth = true) =>
        fetch(`${url}${p}`, { ...init, headers: auth ? { authorization: `Bearer ${token}` } : {} });

      expect((await api('/api/v1/system/backup/status', {}, false)).status).toBe(401);
      expect((await api('/healthz', {}, false)).status).toBe(200);

      const post = await api('/api/v1/jobs/nightly/run', { method: 'POST' });
      expect(post.status).toBe(202);
      const { run_id } = (await post.json()) as { run_id: string };
      let outcome = 'running';
      for (let i = 0; i < 200 && outcome === 'running'; i++) {
        await new Promise((r) => setTimeout(r, 100));
        const runs = (await (await api('/api/v1/jobs/nightly/runs')).json()) as {
          runs: Array<{ id: string; outcome: string }>;
        };
        outcome = runs.runs.find((r) => r.id === run_id)?.outcome ?? 'running';
      }
      expect(outcome, stderr).toBe('ok');
      const metrics = await (await api('/metrics')).text();
      expect(metrics).toMatch(/lifeboat_backup_success_total\{job="nightly",source="notes",repository="local"\} 1/);
      expect(metrics).toMatch(
        /lifeboat_backup_last_success_timestamp_seconds\{job="nightly",source="notes",repository="local"\} \d+/,
      );

      const served = (await (await api('/api/v1/system/backup/status')).json()) as Record<string, unknown>;
      const status = await runCli(['--config', config, '--json', 'status'], { env: env() });
      const printed = JSON.parse(status.stdout) as Record<string, unknown>;
      expect(Object.keys(printed).sort()).toEqual(Object.keys(served).sort());
      expect(printed.last_backup).toEqual(served.last_backup);
      expect(printed.next_backup).toEqual(served.next_backup);

      // The text form reads as people write durations: "RPO 1d 12h", "(12s ago)", never "36h" of a fraction or "0h ago".
      const text = await runCli(['--config', config, 'status'], { env: env() });
      const said = text.stdout + text.stderr;
      expect(said).toMatch(/ok {3}notes: last success \S+ \((just now|\d+s ago|\d+m( \d+s)? ago)\), RPO 1d 12h/);
      expect(said).not.toMatch(/\d\.\d+h|\b0h ago/);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited, stderr).toBe(0);
    expect(stderr).toContain('stopped');
    // No dependency's deprecation or runtime warning reaches the user (Fastify's FSTDEP…, Node's DEP…).
    expect(stderr).not.toMatch(/Warning|\bDEP\d|FSTDEP/);
  });

  it('aborts a running step cleanly on SIGTERM: no snapshot of it, exit soon', async () => {
    const child = startCli(['--config', config, 'serve'], { env: env() });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line:\n${stderr}`)), 20_000);
      child.stderr!.on('data', () => {
        const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
    });
    const token = readFileSync(path.join(dir, 'state', 'api.token'), 'utf8').trim();
    const post = await fetch(`${url}/api/v1/jobs/long/run`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(post.status).toBe(202);
    await new Promise((r) => setTimeout(r, 700)); // the command is running
    const stoppedAt = Date.now();
    child.kill('SIGTERM');
    expect(await exited, stderr).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(15_000);
    const list = await runCli(['--config', config, '--repo', 'local', '--json', 'snapshots'], { env: env() });
    const snaps = (JSON.parse(list.stdout) as { snapshots: Array<{ source?: string }> }).snapshots;
    expect(snaps.some((s) => s.source === 'slow')).toBe(false);
    expect(snaps.some((s) => s.source === 'notes')).toBe(true);
  });
});
