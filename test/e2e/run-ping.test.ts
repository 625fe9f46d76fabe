import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastJson, runCli, tempDir } from '../helpers/cli.js';
import { cliEnvFor } from '../helpers/e2e.js';
import { startPingReceiver, type PingReceiver } from '../helpers/servers/ping-receiver.js';

/**
 * `lifeboat run` from cron gets the same healthchecks.io-style pings as the
 * daemon's runs: /start, then the bare URL or /fail. A ping receiver that
 * never answers changes neither the exit code nor, by more than one ping
 * timeout, when the command exits.
 */
describe('lifeboat run pings (built CLI)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let rx: PingReceiver;
  let config: string;
  const env = () => cliEnvFor(path.join(dir, 'cache'), undefined, { LIFEBOAT_STATE_DIR: undefined });
  const rel = () => rx.pings.map((p) => p.path.slice(new URL(rx.url).pathname.length) || '/');

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('lifeboat-e2e-run-ping-'));
    rx = await startPingReceiver();
    writeFileSync(path.join(dir, 'repo.pass'), 'run ping passphrase\n', { mode: 0o600 });
    writeFileSync(path.join(dir, 'notes.txt'), 'remember the milk\n');
    config = path.join(dir, 'lifeboat.yaml');
    writeFileSync(
      config,
      `version: 1
state_dir: ./state
repositories:
  local: { url: ./repo, password_file: repo.pass }
sources:
  notes:  { type: files, paths: [./notes.txt] }
  broken: { type: command, backup: "exit 3" }
jobs:
  nightly: { sources: [notes], to: local }
  bad:     { sources: [broken], to: local }
notify:
  - { type: ping, url: "${rx.url}", timeout: 1s }
`,
    );
    const init = await runCli(['--config', config, 'init', '--repo', 'local'], { env: env() });
    expect(init.code, init.stderr).toBe(0);
  });
  afterAll(async () => {
    await rx?.close();
    await cleanup?.();
  });

  it('pings /start and success around an ok run, /start and /fail around a failed one', async () => {
    const ok = await runCli(['--config', config, 'run', 'nightly'], { env: env() });
    expect(ok.code, ok.stderr).toBe(0);
    expect(rel()).toEqual(['/start', '/']);
    expect(rx.pings[1]!.body).toMatch(/^job nightly run \S+: ok in/);
    const bad = await runCli(['--config', config, 'run', 'bad'], { env: env() });
    expect(bad.code).not.toBe(0);
    expect(rel()).toEqual(['/start', '/', '/start', '/fail']);
    expect(rx.pings[3]!.body).toMatch(/failed\s+backup broken -> local/);
  });

  it('a receiver that never answers: same exit code, at most one ping timeout later, a warning', async () => {
    const t0 = Date.now();
    const answered = await runCli(['--config', config, '--json', 'run', 'nightly'], { env: env() });
    const answeredMs = Date.now() - t0;
    expect(answered.code).toBe(0);
    rx.hang(true);
    const t1 = Date.now();
    const hung = await runCli(['--config', config, '--json', 'run', 'nightly'], { env: env() });
    const hungMs = Date.now() - t1;
    expect(hung.code, hung.stderr).toBe(0);
    expect(lastJson<{ outcome: string }>(hung.stdout).outcome).toBe('ok');
    expect(hungMs).toBeLessThan(answeredMs + 2500); // one ping timeout (1 s) plus start-up noise
    expect(hung.stderr).toMatch(/warning: notify: ping 127\.0\.0\.1:\d+ failed: ping 127\.0\.0\.1:\d+ \((start|end)\)/);
    expect(hung.stderr).not.toContain('check-key');
  });
});
