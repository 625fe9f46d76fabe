/**
 * Discord through a channel webhook: a JSON `POST` with `content` (the one
 * line) and one embed (title, message, colour by event, facts as fields,
 * timestamp). `allowed_mentions` is empty, so a source or job name such as
 * `@everyone` never pings anyone. The webhook URL is the secret: only its
 * host is ever shown.
 *
 * @module
 */

import { DEFAULT_ON, type EventNotifier, type Notification } from '../notification.js';
import { chatContent, clip } from './chat-content.js';
import { readSecret, safeHost, sendHttp, urlSecrets } from './http-send.js';
import type { RetryOptions } from './retry.js';
import type { ChatWebhookSettings } from './slack.js';

/** Embed colours (decimal RGB): red, amber, green, blue. */
const COLOUR = { failure: 0xdc2626, alert: 0xd97706, recovered: 0x16a34a, success: 0x2563eb } as const;

export function discordNotifier(
  s: ChatWebhookSettings,
  retry: RetryOptions = { attempts: 4, baseDelayMs: 1000 },
  timeoutMs = 10_000,
): EventNotifier {
  const label = `discord ${s.url ? safeHost(s.url) : '(URL in url_file)'}`;
  return {
    type: 'discord',
    name: label,
    on: s.on ?? DEFAULT_ON,
    async send(n: Notification) {
      const url = s.url_file ? readSecret(s.url_file) : (s.url ?? '');
      await sendHttp(
        { method: 'POST', url, headers: { 'content-type': 'application/json' }, body: JSON.stringify(discordBody(n)) },
        { label, secrets: urlSecrets(url), retry, timeoutMs },
      );
    },
  };
}

/** Within Discord's limits: content 2000, title 256, description 4096, 25 fields of 256/1024. */
export function discordBody(n: Notification): Record<string, unknown> {
  const c = chatContent(n);
  return {
    content: clip(c.title, 2000),
    allowed_mentions: { parse: [] },
    embeds: [
      {
        title: clip(c.title, 256),
        ...(c.text ? { description: clip(c.text, 4096) } : {}),
        color: COLOUR[c.event],
        timestamp: c.time,
        fields: c.facts.slice(0, 25).map(([k, v]) => ({ name: clip(k, 256), value: clip(v, 1024), inline: true })),
      },
    ],
  };
}
