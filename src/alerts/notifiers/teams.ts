/**
 * Microsoft Teams through an incoming webhook or a Workflows ("When a Teams
 * webhook request is received") URL: a JSON `POST` of a message with one
 * Adaptive Card attachment (title, message, facts). Both kinds of URL carry
 * their signature in the URL, so only the host is ever shown.
 *
 * @module
 */

import { DEFAULT_ON, type EventNotifier, type Notification } from '../notification.js';
import { chatContent } from './chat-content.js';
import { readSecret, safeHost, sendHttp, urlSecrets } from './http-send.js';
import type { RetryOptions } from './retry.js';
import type { ChatWebhookSettings } from './slack.js';

/** Adaptive Card text colours by event. */
const COLOUR = { failure: 'Attention', alert: 'Warning', recovered: 'Good', success: 'Default' } as const;

export function teamsNotifier(
  s: ChatWebhookSettings,
  retry: RetryOptions = { attempts: 4, baseDelayMs: 1000 },
  timeoutMs = 10_000,
): EventNotifier {
  const label = `teams ${s.url ? safeHost(s.url) : '(URL in url_file)'}`;
  return {
    type: 'teams',
    name: label,
    on: s.on ?? DEFAULT_ON,
    async send(n: Notification) {
      const url = s.url_file ? readSecret(s.url_file) : (s.url ?? '');
      await sendHttp(
        { method: 'POST', url, headers: { 'content-type': 'application/json' }, body: JSON.stringify(teamsBody(n)) },
        { label, secrets: urlSecrets(url), retry, timeoutMs },
      );
    },
  };
}

export function teamsBody(n: Notification): Record<string, unknown> {
  const c = chatContent(n);
  const body: unknown[] = [
    { type: 'TextBlock', text: c.title, weight: 'Bolder', size: 'Medium', wrap: true, color: COLOUR[c.event] },
  ];
  if (c.text) body.push({ type: 'TextBlock', text: c.text, wrap: true });
  body.push({ type: 'FactSet', facts: c.facts.map(([title, value]) => ({ title, value })) });
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body,
        },
      },
    ],
  };
}
