import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonLines } from '../helpers/e2e.js';
import { lastJson, runCli, tempDir, type CliResult } from '../helpers/cli.js';
import { cliEnvFor } from '../helpers/e2e.js';
import { startPingReceiver, type PingReceiver } from '../helpers/servers/ping-receiver.js';
import { startPodmanService, type PodmanService } from '../helpers/servers/podman.js';

/**
 * A docker source through the built CLI, against a real Docker Engine API
 * (podman): a job whose container does not start again after the backup
 * fails (exit code, run record, alert) while its snapshot is kept, and
 * `restore --to-volume` into a new volume and, with --force only, an existing one.
 */
describe('docker source (built CLI)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let podman: PodmanService;
  let rx: PingReceiver;
  let config: string;
  const lb = (args: string[]): Promise<CliResult> =>
    runCli(['--config', config, ...args], {
      env: cliEnvFor(path.join(dir, 'cache'), undefined, { LIFEBOAT_STATE_DIR: undefined }),
    });
  const show = (r: CliResult) => `exit ${r.code}\n${r.stdout.slice(-2500)}\n${r.stderr.slice(-1500)}`;
  const name = (s: string) => `${podman.prefix}${s}`;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('lifeboat-e2e-docker-'));
    podman = await startPodmanService();
    rx = await startPingReceiver();
    const shop = await podman.createVolume(name('shop'), { app: 'shop' });
    writeFileSync(path.join(shop.Mountpoint, 'orders.csv'), 'id,total\n1,9.50\n');
    // The container needs a host directory; removed while it runs, the container cannot start again once stopped.
    const needed = path.join(dir, 'needed');
    mkdirSync(needed);
    await podman.container(name('shop-app'), {
      volumes: { [name('shop')]: '/data' },
      binds: { [needed]: '/needed' },
      script: "trap 'exit 0' TERM; while true; do sleep 1; done",
    });
    rmSync(needed, { recursive: true });
    writeFileSync(path.join(dir, 'repo.pass'), 'docker e2e passphrase\n', { mode: 0o600 });
    config = path.join(dir, 'lifeboat.yaml');
    writeFileSync(
      config,
      `version: 1
state_dir: ./state
repositories:
  local: { url: ./repo, password_file: repo.pass }
sources:
  shop: { type: docker, volumes: ["${name('sh*')}"], socket: ${podman.socket}, stop_timeout: 20s }
jobs:
  nightly: { sources: [shop], to: local }
notify:
  - { type: ping, url: "${rx.url}", timeout: 5s }
`,
    );
    const init = await lb(['init', '--repo', 'local']);
    expect(init.code, show(init)).toBe(0);
  }, 180_000);
  afterAll(async () => {
    await rx?.close();
    await podman?.stop();
    await cleanup?.();
  }, 180_000);

  it('fails the run when a container does not start again, and keeps the snapshot', async () => {
    const r = await lb(['--json', 'run', 'nightly']);
    expect(r.code, show(r)).toBe(1);
    const summary = jsonLines(r.stdout).at(-1) as {
      outcome: string;
      steps: Array<{ step: string; source?: string; outcome: string; error?: string }>;
    };
    expect(summary.outcome).toBe('failed');
    const step = summary.steps.find((s) => s.step === 'backup' && s.source === 'shop')!;
    expect(step.outcome).toBe('failed');
    expect(step.error).toMatch(/snapshot [0-9a-f]{8} was saved and is kept, but 1 container\(s\) did not come back/);
    expect(step.error).toContain(name('shop-app'));
    expect(await podman.state(name('shop-app'))).not.toBe('running');

    const list = await lb(['--json', 'snapshots']);
    const snaps = (JSON.parse(list.stdout) as { snapshots: Array<{ source?: string }> }).snapshots;
    expect(snaps.map((s) => s.source)).toEqual(['shop']);
    const history = new Database(path.join(dir, 'state', 'state.db'), { readonly: true });
    const runs = history.prepare("SELECT outcome FROM runs WHERE job = 'nightly'").all() as Array<{ outcome: string }>;
    history.close();
    expect(runs.map((x) => x.outcome)).toEqual(['failed']);
    expect(rx.pings.map((p) => p.path.slice(new URL(rx.url).pathname.length) || '/')).toEqual(['/start', '/fail']);
    expect(rx.pings[1]!.body).toMatch(/failed\s+backup shop -> local/);
  }, 180_000);

  it('restores into a new volume, and into an existing one only with --force', async () => {
    const fresh = await lb(['--json', 'restore', 'latest', '--source', 'shop', '--to-volume', name('shop-copy')]);
    expect(fresh.code, show(fresh)).toBe(0);
    expect(lastJson<{ location: string; ok: boolean }>(fresh.stdout)).toMatchObject({
      location: `volume ${name('shop-copy')}`,
      ok: true,
    });
    const copy = await podman.api.get<{ Mountpoint: string; Labels: Record<string, string> }>(
      `/volumes/${name('shop-copy')}`,
    );
    expect(copy.Labels).toEqual({ app: 'shop' });
    expect(readFileSync(path.join(copy.Mountpoint, 'orders.csv'), 'utf8')).toBe('id,total\n1,9.50\n');

    writeFileSync(path.join(copy.Mountpoint, 'orders.csv'), 'changed since\n');
    const refused = await lb(['restore', 'latest', '--source', 'shop', '--to-volume', name('shop-copy')]);
    expect(refused.code, show(refused)).toBe(1);
    expect(refused.stderr).toContain(`volume ${name('shop-copy')} exists`);
    expect(readFileSync(path.join(copy.Mountpoint, 'orders.csv'), 'utf8')).toBe('changed since\n');
    const forced = await lb(['restore', 'latest', '--source', 'shop', '--to-volume', name('shop-copy'), '--force']);
    expect(forced.code, show(forced)).toBe(0);
    expect(readFileSync(path.join(copy.Mountpoint, 'orders.csv'), 'utf8')).toBe('id,total\n1,9.50\n');
  }, 180_000);
});
