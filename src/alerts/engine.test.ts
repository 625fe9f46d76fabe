import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSmtpServer } from '../../test/helpers/servers/smtp.js';
import { startWebhookReceiver } from '../../test/helpers/servers/webhook-receiver.js';
import { AlertStore } from '../state/alerts-store.js';
import { Dispatcher } from './dispatch.js';
import { AlertEngine } from './engine.js';
import type { Notification } from './notification.js';
import { emailNotifier } from './notifiers/email.js';
import { webhookNotifier } from './notifiers/webhook.js';
import type { AlertCondition } from './rules.js';

const fast = { attempts: 4, baseDelayMs: 5 };
const failed: AlertCondition = {
  key: 'backup_failed/nightly/db/local',
  rule: 'backup_failed',
  severity: 'critical',
  job: 'nightly',
  source: 'db',
  repository: 'local',
  message: 'backup of db to local failed',
};
const full: AlertCondition = {
  key: 'low_free_space/local',
  rule: 'low_free_space',
  severity: 'warning',
  repository: 'local',
  message: '3% free',
};
const T0 = Date.parse('2026-02-10T12:00:00Z');
const MIN = 60_000;

describe('alert engine and notifiers', () => {
  let dir: string;
  let hook: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lifeboat-alerts-'));
    hook = await startWebhookReceiver();
    smtp = await startSmtpServer(dir);
    writeFileSync(path.join(dir, 'hook.secret'), 'hmac-key-zzz\n', { mode: 0o600 });
    writeFileSync(path.join(dir, 'smtp.url'), `smtp://mailer:SMTPPASS-qqq@127.0.0.1:${smtp.port}\n`, { mode: 0o600 });
  });
  afterAll(async () => {
    await hook.close();
    await smtp.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('fires once, repeats on the interval, resolves with a recovered message, and survives a restart', async () => {
    const sent: Notification[] = [];
    const stateDir = path.join(dir, 'state-engine');
    let store = AlertStore.open(stateDir);
    let engine = new AlertEngine(store, async (n) => void sent.push(n), 60 * MIN, 'host-a');
    expect((await engine.evaluate([failed, full], T0)).fired).toHaveLength(2);
    expect((await engine.evaluate([failed, full], T0 + 10 * MIN)).fired).toHaveLength(0);
    expect(sent.map((n) => n.event)).toEqual(['failure', 'alert']);

    store.close(); // the daemon restarts: nothing fires again
    store = AlertStore.open(stateDir);
    engine = new AlertEngine(store, async (n) => void sent.push(n), 60 * MIN, 'host-a');
    const again = await engine.evaluate([failed, full], T0 + 61 * MIN);
    expect(again.fired).toEqual([]);
    expect(again.repeated.map((a) => a.key).sort()).toEqual([failed.key, full.key].sort());
    expect(sent.slice(2).every((n) => n.alert!.repeat)).toBe(true);

    const cleared = await engine.evaluate([full], T0 + 70 * MIN);
    expect(cleared.resolved.map((a) => a.key)).toEqual([failed.key]);
    expect(sent.at(-1)).toMatchObject({
      event: 'recovered',
      alert: { rule: 'backup_failed', resolved_at: new Date(T0 + 70 * MIN).toISOString() },
    });
    expect(store.active().map((a) => a.key)).toEqual([full.key]);
    expect(store.recent().find((a) => a.key === failed.key)).toMatchObject({
      sentCount: 2,
      resolvedAt: new Date(T0 + 70 * MIN).toISOString(),
    });

    // the same condition later is a new alert
    expect((await engine.evaluate([failed, full], T0 + 80 * MIN)).fired.map((a) => a.key)).toEqual([failed.key]);
    store.close();
  });

  it('posts signed JSON to a webhook, retrying through server errors and dropped connections', async () => {
    const notifier = webhookNotifier({ url: hook.url, secret_file: path.join(dir, 'hook.secret') }, fast);
    hook.failNext(2, 503);
    const n: Notification = {
      event: 'failure',
      summary: 'FAILURE backup_failed db',
      host: 'h',
      time: new Date(T0).toISOString(),
    };
    await notifier.send(n);
    hook.failNext(1, 0);
    await notifier.send({ ...n, event: 'recovered' });
    expect(hook.received).toHaveLength(2);
    const [first] = hook.received;
    expect(JSON.parse(first!.body)).toEqual(n);
    expect(first!.headers['x-lifeboat-signature']).toBe(
      `sha256=${createHmac('sha256', 'hmac-key-zzz').update(first!.body).digest('hex')}`,
    );
    expect(first!.headers['x-lifeboat-event']).toBe('failure');
    expect(notifier.name).toBe(`webhook ${new URL(hook.url).host}`);
  });

  it('does not retry a 4xx answer, and a failing notifier never stops the others', async () => {
    const before = hook.received.length;
    const logged: string[] = [];
    hook.failNext(1, 404);
    const dispatcher = new Dispatcher(
      [
        webhookNotifier({ url: hook.url }, fast),
        webhookNotifier({ url: 'http://127.0.0.1:1/unreachable' }, { attempts: 2, baseDelayMs: 1 }),
        emailNotifier({ smtp_url_file: path.join(dir, 'smtp.url'), to: ['ops@example.com'] }, fast),
      ],
      (l) => logged.push(l),
    );
    await dispatcher.send({
      event: 'failure',
      summary: 'FAILURE drill_failed db',
      host: 'h',
      time: new Date(T0).toISOString(),
    });
    expect(hook.received.length).toBe(before); // the 404 was final
    const report = dispatcher.report();
    expect(report[0]).toMatchObject({ failures: 1, last_error: expect.stringContaining('answered 404') });
    expect(report[0]!.last_error).toContain('after up to 4 attempts');
    expect(report[1]).toMatchObject({ failures: 1, last_error: expect.stringContaining('127.0.0.1:1') });
    expect(report[2]).toMatchObject({ failures: 0, last_ok: expect.any(String) });
    expect(logged).toHaveLength(2);
    expect(JSON.stringify(report)).not.toContain('SECRETPATH');
  });

  it('mails through a real SMTP server, filtered by `on`, without secrets in the message', async () => {
    const mail = emailNotifier(
      {
        smtp_url_file: path.join(dir, 'smtp.url'),
        from: 'lifeboat@test.example',
        to: ['ops@example.com'],
        on: ['failure'],
      },
      fast,
    );
    const dispatcher = new Dispatcher([mail]);
    const count = smtp.messages().length;
    const store = AlertStore.open(path.join(dir, 'state-mail'));
    const engine = new AlertEngine(store, (n) => dispatcher.send(n), 0, 'db-host');
    await engine.evaluate([failed, full], T0); // the warning is not wanted by this notifier
    await engine.evaluate([], T0 + MIN); // nor the recoveries
    store.close();
    const messages = smtp.messages().slice(count);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain('Subject: [lifeboat] FAILURE backup_failed db @ local');
    expect(messages[0]).toContain('To: ops@example.com');
    expect(messages[0]).toContain('backup of db to local failed');
    expect(messages[0]).toContain('host: db-host');
    for (const secret of ['SMTPPASS-qqq', 'mailer:', 'smtp.url']) expect(messages[0]).not.toContain(secret);
  });
});
