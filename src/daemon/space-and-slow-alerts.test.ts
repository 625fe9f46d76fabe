import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3Server, type S3Server } from '../../test/helpers/servers/s3.js';
import { startWebhookReceiver } from '../../test/helpers/servers/webhook-receiver.js';
import { parseConfig } from '../config/load.js';
import { Repository } from '../repository/repository.js';
import { openStorage } from '../storage/registry.js';
import { startDaemon, type Daemon } from './daemon.js';

/**
 * The runbook's alert limits in the running daemon, with real notifiers: a
 * repository on a small tmpfs filled past 20 % used-up (warning, sent to
 * `on: [alert]` only) and then past 10 % (critical, sent to `on: [failure]`),
 * a backup running longer than `max_backup_duration`, and an S3 repository
 * whose free space is reported as unknown, never as healthy.
 */
describe('free-space and slow-backup alerts (daemon, tmpfs, webhooks)', () => {
  let dir: string;
  let disk: string;
  let daemon: Daemon;
  let token: string;
  let s3: S3Server;
  let failureHook: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let alertHook: Awaited<ReturnType<typeof startWebhookReceiver>>;
  const bodies = (h: typeof failureHook) =>
    h.received.map(
      (r) =>
        JSON.parse(r.body) as {
          event: string;
          alert?: { rule: string; severity: string; message: string; repository?: string };
        },
    );
  const waitFor = async <T>(fn: () => T | undefined, what: string): Promise<T> => {
    // Generous: the alert loop runs every 200 ms, but a loaded machine may be slow.
    for (let i = 0; i < 600; i++) {
      const v = fn();
      if (v !== undefined) return v;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out waiting for ${what}`);
  };
  /** Fill the tmpfs until `freePct` percent of it is left. */
  const fillTo = (freePct: number, name: string) => {
    const st = statfsSync(disk);
    const total = st.blocks * st.bsize;
    const toWrite = st.bavail * st.bsize - Math.floor((total * freePct) / 100);
    if (toWrite > 0) writeFileSync(path.join(disk, name), Buffer.alloc(toWrite, 1));
  };

  beforeAll(async () => {
    expect(process.getuid?.(), 'this test mounts a tmpfs and must run as root (as CI does)').toBe(0);
    dir = mkdtempSync(path.join(os.tmpdir(), 'lifeboat-space-alerts-'));
    disk = path.join(dir, 'small-disk');
    mkdirSync(disk);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', disk]);
    failureHook = await startWebhookReceiver();
    alertHook = await startWebhookReceiver();
    s3 = await startS3Server();
    writeFileSync(path.join(dir, 'repo.pass'), 'space alerts passphrase\n', { mode: 0o600 });
    writeFileSync(
      path.join(dir, 's3.creds'),
      `AWS_ACCESS_KEY_ID=${s3.accessKeyId}\nAWS_SECRET_ACCESS_KEY=${s3.secretAccessKey}\n`,
      { mode: 0o600 },
    );
    const repo = await Repository.init(
      await openStorage(path.join(disk, 'repo'), { create: true }),
      Buffer.from('space alerts passphrase'),
    );
    await repo.close();
    const remote = {
      endpoint: s3.endpoint,
      region: 'us-east-1',
      pathStyle: true,
      credentialsFile: path.join(dir, 's3.creds'),
    };
    const cloud = await Repository.init(
      await openStorage('s3://space-alerts/repo', { create: true, remote }),
      Buffer.from('space alerts passphrase'),
    );
    await cloud.close();
    fillTo(15, 'ballast-1');
    const loaded = parseConfig(
      `version: 1
state_dir: ./state
repositories:
  small: { url: ${disk}/repo, password_file: repo.pass }
  cloud: { url: "s3://space-alerts/repo", endpoint: "${s3.endpoint}", region: us-east-1, path_style: true, credentials_file: s3.creds, password_file: repo.pass }
sources:
  slow: { type: command, backup: "sleep 4; echo slow" }
jobs:
  slowjob: { sources: [slow], to: small }
alerts: { max_backup_duration: 2s, free_space_warning_pct: 20, free_space_critical_pct: 10 }
notify:
  - { type: webhook, url: "${failureHook.url}", on: [failure] }
  - { type: webhook, url: "${alertHook.url}", on: [alert] }
`,
      path.join(dir, 'lifeboat.yaml'),
    );
    daemon = await startDaemon(loaded, {
      listen: '127.0.0.1:0',
      cacheRoot: path.join(dir, 'cache'),
      alertIntervalMs: 200,
      notifyRetry: { attempts: 2, baseDelayMs: 5 },
    });
    token = readFileSync(daemon.tokenFile, 'utf8').trim();
  }, 120_000);
  afterAll(async () => {
    await daemon?.stop();
    await failureHook?.close();
    await alertHook?.close();
    await s3?.stop();
    if (disk) execFileSync('umount', [disk]);
    rmSync(dir, { recursive: true, force: true });
  });
  const get = async (p: string, init: RequestInit = {}) =>
    fetch(`${daemon.url}${p}`, { ...init, headers: { authorization: `Bearer ${token}` } });

  it("warns below 20 % free to `on: [alert]` notifiers only; says the S3 repository's free space is unknown", async () => {
    const warning = await waitFor(
      () => bodies(alertHook).find((b) => b.alert?.rule === 'low_free_space' && b.alert.repository === 'small'),
      'the free-space warning',
    );
    expect(warning).toMatchObject({
      event: 'alert',
      alert: {
        severity: 'warning',
        message: expect.stringMatching(/^repository small has 1\d\.\d% free .*the warning limit is 20%$/),
      },
    });
    expect(
      bodies(failureHook).filter((b) => b.alert?.rule === 'low_free_space' && b.alert.repository === 'small'),
    ).toEqual([]);
    const doc = (await (await get('/api/v1/system/backup/status')).json()) as {
      storage: Record<string, { free_space: string; free_space_note?: string; connected: boolean }>;
    };
    expect(doc.storage.small).toMatchObject({ connected: true, free_space: 'warning' });
    expect(doc.storage.cloud).toMatchObject({
      connected: true,
      free_space: 'unknown',
      free_space_note: expect.stringContaining('cannot be measured'),
    });
    expect(
      bodies(alertHook)
        .concat(bodies(failureHook))
        .some((b) => b.alert?.repository === 'cloud'),
    ).toBe(false);
  });

  it('warns while a backup runs past max_backup_duration and after it took longer; below 10 % free goes critical to `on: [failure]`', async () => {
    fillTo(5, 'ballast-2');
    const { run_id } = (await (await get('/api/v1/jobs/slowjob/run', { method: 'POST' })).json()) as { run_id: string };
    expect(run_id).toBeTruthy();
    const running = await waitFor(
      () =>
        bodies(alertHook).find((b) => b.alert?.rule === 'backup_slow' && /has been backing up/.test(b.alert.message)),
      'the slow-backup warning while running',
    );
    expect(running.alert!.message).toMatch(
      /^job slowjob has been backing up for \d+s \(since .*\), longer than the limit of 2s$/,
    );
    const took = await waitFor(
      () => bodies(alertHook).find((b) => b.alert?.rule === 'backup_slow' && / took /.test(b.alert.message)),
      'the slow-backup warning after the run',
    );
    expect(took.alert!.message).toMatch(
      /^backup of slow to small \(job slowjob\) at .* took \d+s, longer than the limit of 2s$/,
    );
    // The job finished: the storage view is read again and the warning becomes critical.
    const critical = await waitFor(
      () => bodies(failureHook).find((b) => b.alert?.rule === 'low_free_space' && b.alert.repository === 'small'),
      'the critical free-space alert',
    );
    expect(critical).toMatchObject({
      event: 'failure',
      alert: {
        severity: 'critical',
        message: expect.stringMatching(/has [0-9]\.\d% free .*the critical limit is 10%$/),
      },
    });
    expect(bodies(failureHook).some((b) => b.alert?.rule === 'backup_slow')).toBe(false);
    // No "recovered" for the warning that became critical.
    expect(
      bodies(alertHook)
        .concat(bodies(failureHook))
        .some((b) => b.event === 'recovered' && b.alert?.rule === 'low_free_space'),
    ).toBe(false);
  });
});
