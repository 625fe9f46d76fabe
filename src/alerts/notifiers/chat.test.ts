import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startHttpRecorder, type RecordedRequest } from '../../../test/helpers/servers/http-recorder.js';
import { notifySchema, type LifeboatConfig } from '../../config/schema.js';
import { redactorFor } from '../../daemon/redact.js';
import { Dispatcher } from '../dispatch.js';
import type { Notification } from '../notification.js';
import { notifiersFromConfig } from './from-config.js';

/**
 * Each chat and push notifier, configured as in lifeboat.yaml, sends one
 * alert to a real HTTP server on loopback standing in for the service; the
 * test checks what that service documents it needs (method, path, content
 * type, auth header, required body fields). Then the receiver refuses with
 * an answer that echoes the secret, and neither the log line nor the
 * notifier's status (what `/api/v1/alerts` shows) may contain it.
 */
const fast = { attempts: 3, baseDelayMs: 5 };
const alert: Notification = {
  event: 'failure',
  summary: 'backup of db to local failed',
  host: 'host-a',
  time: '2026-02-10T12:00:00.000Z',
  alert: {
    id: 7,
    rule: 'backup_failed',
    severity: 'critical',
    source: 'db',
    repository: 'local',
    job: 'nightly <@everyone> & co',
    message: 'pg_dump exited 1: connection refused',
    fired_at: '2026-02-10T12:00:00.000Z',
    repeat: false,
  },
};

interface Case {
  type: string;
  /** The `notify:` entry, given the receiver's origin and the temp dir. */
  entry: (origin: string, dir: string) => Record<string, unknown>;
  /** Every secret of the entry (webhook path, token). */
  secrets: string[];
  check: (r: RecordedRequest) => void;
}

const json = (r: RecordedRequest) => {
  expect(r.headers['content-type']).toMatch(/^application\/json/);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the bodies are checked field by field below
  return JSON.parse(r.body) as Record<string, any>;
};

const cases: Case[] = [
  {
    type: 'slack',
    entry: (o) => ({ type: 'slack', url: `${o}/services/T0SLACK/B0SLACK/slackSECRETxyz` }),
    secrets: ['slackSECRETxyz', '/services/T0SLACK/B0SLACK'],
    check: (r) => {
      expect([r.method, r.url]).toEqual(['POST', '/services/T0SLACK/B0SLACK/slackSECRETxyz']);
      const b = json(r);
      expect(b.text).toBe('backup of db to local failed');
      expect(b.blocks[0]).toEqual({
        type: 'header',
        text: { type: 'plain_text', text: 'backup of db to local failed' },
      });
      expect(b.blocks[1]).toEqual({
        type: 'section',
        text: { type: 'mrkdwn', text: 'pg_dump exited 1: connection refused' },
      });
      expect(b.blocks[2].fields).toContainEqual({ type: 'mrkdwn', text: '*job*\nnightly &lt;@everyone&gt; &amp; co' });
      expect(b.blocks[2].fields.length).toBeLessThanOrEqual(10);
    },
  },
  {
    type: 'discord',
    entry: (o, dir) => file(dir, 'discord.url', `${o}/api/webhooks/123/discordSECRETtok`, { type: 'discord' }),
    secrets: ['discordSECRETtok'],
    check: (r) => {
      expect([r.method, r.url]).toEqual(['POST', '/api/webhooks/123/discordSECRETtok']);
      const b = json(r);
      expect(b.content).toBe('backup of db to local failed');
      expect(b.allowed_mentions).toEqual({ parse: [] });
      expect(b.embeds).toHaveLength(1);
      expect(b.embeds[0]).toMatchObject({
        title: 'backup of db to local failed',
        description: 'pg_dump exited 1: connection refused',
        color: 0xdc2626,
        timestamp: '2026-02-10T12:00:00.000Z',
      });
      expect(b.embeds[0].fields).toContainEqual({ name: 'source', value: 'db', inline: true });
    },
  },
  {
    type: 'teams',
    entry: (o) => ({
      type: 'teams',
      url: `${o}/workflows/abc/triggers/manual/paths/invoke?api-version=1&sig=teamsSIGsecret`,
    }),
    secrets: ['teamsSIGsecret'],
    check: (r) => {
      expect(r.method).toBe('POST');
      expect(r.url).toContain('sig=teamsSIGsecret');
      const b = json(r);
      expect(b.type).toBe('message');
      expect(b.attachments).toHaveLength(1);
      const a = b.attachments[0];
      expect(a.contentType).toBe('application/vnd.microsoft.card.adaptive');
      expect(a.content).toMatchObject({ type: 'AdaptiveCard', version: '1.4' });
      expect(a.content.$schema).toBe('http://adaptivecards.io/schemas/adaptive-card.json');
      expect(a.content.body[0]).toMatchObject({ type: 'TextBlock', text: 'backup of db to local failed', wrap: true });
      const facts = a.content.body.find((x: { type: string }) => x.type === 'FactSet').facts;
      expect(facts).toContainEqual({ title: 'repository', value: 'local' });
    },
  },
  {
    type: 'ntfy',
    entry: (o, dir) => ({
      ...file(
        dir,
        'ntfy.token',
        'tk_ntfySECRETtoken',
        { type: 'ntfy', url: `${o}/prefix/alerts-ntfySECRETtopic` },
        'token_file',
      ),
    }),
    secrets: ['tk_ntfySECRETtoken', 'alerts-ntfySECRETtopic'],
    check: (r) => {
      expect([r.method, r.url]).toEqual(['POST', '/prefix/']);
      expect(r.headers.authorization).toBe('Bearer tk_ntfySECRETtoken');
      const b = json(r);
      expect(b).toMatchObject({
        topic: 'alerts-ntfySECRETtopic',
        title: 'backup of db to local failed',
        priority: 4,
        tags: ['rotating_light', 'lifeboat'],
      });
      expect(b.message).toContain('pg_dump exited 1: connection refused');
      expect(b.message).toContain('source: db');
    },
  },
  {
    type: 'gotify',
    entry: (o, dir) =>
      file(dir, 'gotify.token', 'AgotifySECRET.tok', { type: 'gotify', url: `${o}/gotify` }, 'token_file'),
    secrets: ['AgotifySECRET.tok'],
    check: (r) => {
      expect([r.method, r.url]).toEqual(['POST', '/gotify/message']);
      expect(r.headers['x-gotify-key']).toBe('AgotifySECRET.tok');
      const b = json(r);
      expect(b).toMatchObject({ title: 'backup of db to local failed', priority: 8 });
      expect(b.message).toContain('pg_dump exited 1: connection refused');
      expect(typeof b.message).toBe('string');
    },
  },
  {
    type: 'matrix',
    entry: (o, dir) =>
      file(
        dir,
        'matrix.token',
        'syt_matrixSECRETtoken',
        { type: 'matrix', homeserver: o, room: '!roomid:example.org' },
        'access_token_file',
      ),
    secrets: ['syt_matrixSECRETtoken'],
    check: (r) => {
      expect(r.method).toBe('PUT');
      expect(r.url).toMatch(
        /^\/_matrix\/client\/v3\/rooms\/!roomid%3Aexample\.org\/send\/m\.room\.message\/lifeboat-[\w-]+$/,
      );
      expect(r.headers.authorization).toBe('Bearer syt_matrixSECRETtoken');
      expect(r.url).not.toContain('access_token');
      const b = json(r);
      expect(b.msgtype).toBe('m.text');
      expect(b.body).toContain('backup of db to local failed');
      expect(b.format).toBe('org.matrix.custom.html');
      expect(b.formatted_body).toContain('<strong>backup of db to local failed</strong>');
      expect(b.formatted_body).toContain('nightly &lt;@everyone&gt; &amp; co');
    },
  },
];

/** `entry` with `key` (default url_file) naming a 0600 file that holds `content`. */
function file(dir: string, name: string, content: string, entry: Record<string, unknown>, key = 'url_file') {
  const p = path.join(dir, name);
  writeFileSync(p, `${content}\n`, { mode: 0o600 });
  return { ...entry, [key]: p };
}

describe('chat and push notifiers against a local receiver', () => {
  let dir: string;
  let rx: Awaited<ReturnType<typeof startHttpRecorder>>;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lifeboat-chat-'));
    rx = await startHttpRecorder();
  });
  afterAll(async () => {
    await rx.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => void (rx.requests.length = 0));

  for (const c of cases) {
    it(`${c.type}: sends the body the service documents, retries a 503, keeps its secrets out of logs and status`, async () => {
      const entry = notifySchema.parse(c.entry(rx.origin, dir));
      const config = { version: 1, notify: [entry] } as unknown as LifeboatConfig;
      const logged: string[] = [];
      const dispatcher = new Dispatcher(notifiersFromConfig(config, fast), (l) => logged.push(l), redactorFor(config));

      rx.answerNext({ status: 503, body: 'busy' });
      await dispatcher.send(alert);
      expect(rx.requests).toHaveLength(2);
      c.check(rx.requests[1]!);
      expect(rx.requests[1]!.body).toBe(rx.requests[0]!.body);
      expect(dispatcher.report()[0]).toMatchObject({ type: c.type, failures: 0 });
      expect(logged).toEqual([]);

      // a refusal is not retried, and what it echoes of the secrets is cut out
      rx.answerNext({ status: 401, body: `{"error":"bad credentials ${c.secrets.join(' ')}"}` });
      await dispatcher.send({ ...alert, event: 'failure' });
      expect(rx.requests).toHaveLength(3);
      const [status] = dispatcher.report();
      expect(status).toMatchObject({ type: c.type, failures: 1 });
      expect(status!.last_error).toMatch(new RegExp(`^${c.type} .*answered 401: .*bad credentials`));
      expect(logged).toHaveLength(1);
      for (const shown of [...logged, status!.name, status!.last_error!])
        for (const secret of c.secrets) expect(shown).not.toContain(secret);
    });
  }

  it('a notifier skips the events its on: leaves out, and a network failure names only the host', async () => {
    const config = {
      version: 1,
      notify: [
        notifySchema.parse({ type: 'discord', url: 'http://127.0.0.1:1/api/webhooks/9/neverSHOWN', on: ['recovered'] }),
      ],
    } as unknown as LifeboatConfig;
    const logged: string[] = [];
    const dispatcher = new Dispatcher(notifiersFromConfig(config, fast), (l) => logged.push(l), redactorFor(config));
    await dispatcher.send(alert);
    expect(dispatcher.report()[0]).toMatchObject({ failures: 0 });
    await dispatcher.send({ ...alert, event: 'recovered' });
    expect(dispatcher.report()[0]!.last_error).toMatch(/^discord 127\.0\.0\.1:1: .*after up to 3 attempts/);
    expect(logged.join('\n')).not.toContain('neverSHOWN');
  });

  it('the daemon redactor hides the path of a notifier URL written inline in the config', () => {
    const config = {
      version: 1,
      notify: [{ type: 'slack', url: 'https://hooks.slack.com/services/T0/B0/inlineSECRET' }],
    } as unknown as LifeboatConfig;
    const shown = redactorFor(config)('request to https://hooks.slack.com/services/T0/B0/inlineSECRET timed out');
    expect(shown).toBe('request to https://hooks.slack.com/[secret] timed out');
  });

  it('the config accepts one entry per target and refuses an incomplete one', () => {
    expect(() => notifySchema.parse({ type: 'slack' })).toThrow(/exactly one of url and url_file/);
    expect(() => notifySchema.parse({ type: 'gotify', url: 'https://g.example.com' })).toThrow(/token_file/);
    expect(() =>
      notifySchema.parse({
        type: 'matrix',
        homeserver: 'https://m.example.org',
        room: '#alias:example.org',
        access_token_file: '/t',
      }),
    ).toThrow(/room id/);
    expect(notifySchema.parse({ type: 'webhook', url: 'https://hooks.example.com/x' })).toMatchObject({
      type: 'webhook',
    });
  });
});
