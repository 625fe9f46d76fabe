/**
 * Matrix: `PUT /_matrix/client/v3/rooms/{roomId}/send/m.room.message/{txnId}`
 * on the homeserver, with the access token in `Authorization: Bearer` (read
 * from `access_token_file` at each send) and an `m.text` body with an HTML
 * `formatted_body`. The transaction id is made once per notification and kept
 * across retries, so a retry after a lost answer does not post twice (the
 * homeserver deduplicates by it).
 *
 * @module
 */

import { randomUUID } from 'node:crypto';
import { DEFAULT_ON, type EventNotifier, type Notification, type NotifyEvent } from '../notification.js';
import { chatContent, chatPlainText } from './chat-content.js';
import { readSecret, safeHost, sendHttp } from './http-send.js';
import type { RetryOptions } from './retry.js';

export interface MatrixSettings {
  homeserver: string;
  room: string;
  access_token_file: string;
  on?: NotifyEvent[];
}

export function matrixNotifier(
  s: MatrixSettings,
  retry: RetryOptions = { attempts: 4, baseDelayMs: 1000 },
  timeoutMs = 10_000,
): EventNotifier {
  const label = `matrix ${s.room} on ${safeHost(s.homeserver)}`;
  return {
    type: 'matrix',
    name: label,
    on: s.on ?? DEFAULT_ON,
    async send(n: Notification) {
      const token = readSecret(s.access_token_file);
      const base = s.homeserver.endsWith('/') ? s.homeserver : `${s.homeserver}/`;
      const path = `_matrix/client/v3/rooms/${encodeURIComponent(s.room)}/send/m.room.message/lifeboat-${randomUUID()}`;
      await sendHttp(
        {
          method: 'PUT',
          url: new URL(path, base).href,
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify(matrixBody(n)),
        },
        { label, secrets: [token], retry, timeoutMs },
      );
    },
  };
}

export function matrixBody(n: Notification): Record<string, unknown> {
  const c = chatContent(n);
  const html = [
    `<strong>${escapeHtml(c.title)}</strong>`,
    ...(c.text ? [`<p>${escapeHtml(c.text)}</p>`] : []),
    `<ul>${c.facts.map(([k, v]) => `<li>${escapeHtml(k)}: ${escapeHtml(v)}</li>`).join('')}</ul>`,
  ].join('');
  return { msgtype: 'm.text', body: chatPlainText(c), format: 'org.matrix.custom.html', formatted_body: html };
}

function escapeHtml(s: string): string {
  return s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}
