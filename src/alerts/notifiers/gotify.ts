/**
 * Gotify: a JSON `POST <url>/message` with `title`, `message` and
 * `priority`. The application token goes in the `X-Gotify-Key` header (never
 * in the `?token=` query, where proxies log it) and is read from
 * `token_file` at each send.
 *
 * @module
 */

import { DEFAULT_ON, type EventNotifier, type Notification, type NotifyEvent } from '../notification.js';
import { chatContent, chatPlainText } from './chat-content.js';
import { readSecret, safeHost, sendHttp } from './http-send.js';
import type { RetryOptions } from './retry.js';

export interface GotifySettings {
  url: string;
  token_file: string;
  on?: NotifyEvent[];
}

/** Gotify's Android app notifies from priority 4 and makes a sound from 8. */
const PRIORITY = { failure: 8, alert: 5, recovered: 4, success: 2 } as const;

export function gotifyNotifier(
  s: GotifySettings,
  retry: RetryOptions = { attempts: 4, baseDelayMs: 1000 },
  timeoutMs = 10_000,
): EventNotifier {
  const label = `gotify ${safeHost(s.url)}`;
  return {
    type: 'gotify',
    name: label,
    on: s.on ?? DEFAULT_ON,
    async send(n: Notification) {
      const token = readSecret(s.token_file);
      await sendHttp(
        {
          method: 'POST',
          url: new URL('message', s.url.endsWith('/') ? s.url : `${s.url}/`).href,
          headers: { 'content-type': 'application/json', 'x-gotify-key': token },
          body: JSON.stringify(gotifyBody(n)),
        },
        { label, secrets: [token], retry, timeoutMs },
      );
    },
  };
}

export function gotifyBody(n: Notification): Record<string, unknown> {
  const c = chatContent(n);
  const [, ...rest] = chatPlainText(c).split('\n');
  return {
    title: c.title,
    message: rest.join('\n').trim(),
    priority: PRIORITY[c.event],
    extras: { 'client::display': { contentType: 'text/plain' } },
  };
}
