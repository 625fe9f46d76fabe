/**
 * ntfy: a JSON publish (`POST` to the server's root with `topic`, `title`,
 * `message`, `priority`, `tags`) rather than headers on the topic URL, so
 * titles with non-ASCII names need no header encoding. `url` is the topic
 * URL as ntfy shows it (`https://ntfy.sh/mytopic`; a server under a path
 * prefix works too). On a public server the topic name is the secret, and
 * an access token (`token_file`) goes in `Authorization: Bearer`; only the
 * host is ever shown.
 *
 * @module
 */

import { DEFAULT_ON, type EventNotifier, type Notification, type NotifyEvent } from '../notification.js';
import { chatContent, clip } from './chat-content.js';
import { readSecret, safeHost, sendHttp, urlSecrets } from './http-send.js';
import type { RetryOptions } from './retry.js';

export interface NtfySettings {
  url?: string;
  url_file?: string;
  token_file?: string;
  on?: NotifyEvent[];
}

/** ntfy priorities 1 (min) to 5 (max): a failure is high, a success low. */
const PRIORITY = { failure: 4, alert: 3, recovered: 3, success: 2 } as const;
/** Tags that ntfy shows as emoji. */
const TAG = {
  failure: 'rotating_light',
  alert: 'warning',
  recovered: 'white_check_mark',
  success: 'floppy_disk',
} as const;

export function ntfyNotifier(
  s: NtfySettings,
  retry: RetryOptions = { attempts: 4, baseDelayMs: 1000 },
  timeoutMs = 10_000,
): EventNotifier {
  const label = `ntfy ${s.url ? safeHost(s.url) : '(URL in url_file)'}`;
  return {
    type: 'ntfy',
    name: label,
    on: s.on ?? DEFAULT_ON,
    async send(n: Notification) {
      const topicUrl = s.url_file ? readSecret(s.url_file) : (s.url ?? '');
      const { root, topic } = splitTopicUrl(topicUrl);
      const token = s.token_file ? readSecret(s.token_file) : undefined;
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (token) headers.authorization = `Bearer ${token}`;
      await sendHttp(
        { method: 'POST', url: root, headers, body: JSON.stringify(ntfyBody(topic, n)) },
        { label, secrets: [...urlSecrets(topicUrl), topic, ...(token ? [token] : [])], retry, timeoutMs },
      );
    },
  };
}

/** `https://host/prefix/topic` → the server's root (`https://host/prefix/`) and the topic. */
export function splitTopicUrl(url: string): { root: string; topic: string } {
  const u = new URL(url);
  const parts = u.pathname.split('/').filter(Boolean);
  const topic = parts.pop();
  if (!topic) throw new Error(`ntfy ${u.host}: the URL names no topic (expected https://server/topic)`);
  u.pathname = `/${parts.map((p) => `${p}/`).join('')}`;
  u.search = '';
  return { root: u.href, topic: decodeURIComponent(topic) };
}

export function ntfyBody(topic: string, n: Notification): Record<string, unknown> {
  const c = chatContent(n);
  const message = [c.text, ...c.facts.map(([k, v]) => `${k}: ${v}`)].filter(Boolean).join('\n');
  return {
    topic,
    title: clip(c.title, 250),
    message: clip(message, 4000),
    priority: PRIORITY[c.event],
    tags: [TAG[c.event], 'lifeboat'],
  };
}
