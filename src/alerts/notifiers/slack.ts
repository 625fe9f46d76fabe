/**
 * Slack through an incoming webhook: a JSON `POST` with `text` (what the
 * notification and the phone show) and `blocks` (a header, the message, the
 * facts as fields). The webhook URL is the secret, so it comes from `url` or,
 * better, `url_file`, and only its host is ever shown.
 *
 * @module
 */

import { DEFAULT_ON, type EventNotifier, type Notification, type NotifyEvent } from '../notification.js';
import { chatContent, clip } from './chat-content.js';
import { readSecret, safeHost, sendHttp, urlSecrets } from './http-send.js';
import type { RetryOptions } from './retry.js';

export interface ChatWebhookSettings {
  url?: string;
  url_file?: string;
  on?: NotifyEvent[];
}

/** Slack's limits: header text 150, section text 3000, a field 2000, at most 10 fields. */
const HEADER_MAX = 150;
const SECTION_MAX = 3000;
const FIELDS_MAX = 10;

export function slackNotifier(
  s: ChatWebhookSettings,
  retry: RetryOptions = { attempts: 4, baseDelayMs: 1000 },
  timeoutMs = 10_000,
): EventNotifier {
  const label = `slack ${s.url ? safeHost(s.url) : '(URL in url_file)'}`;
  return {
    type: 'slack',
    name: label,
    on: s.on ?? DEFAULT_ON,
    async send(n: Notification) {
      const url = s.url_file ? readSecret(s.url_file) : (s.url ?? '');
      await sendHttp(
        { method: 'POST', url, headers: { 'content-type': 'application/json' }, body: JSON.stringify(slackBody(n)) },
        { label, secrets: urlSecrets(url), retry, timeoutMs },
      );
    },
  };
}

export function slackBody(n: Notification): Record<string, unknown> {
  const c = chatContent(n);
  const blocks: unknown[] = [{ type: 'header', text: { type: 'plain_text', text: clip(c.title, HEADER_MAX) } }];
  if (c.text) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: clip(escapeMrkdwn(c.text), SECTION_MAX) } });
  blocks.push({
    type: 'section',
    fields: c.facts
      .slice(0, FIELDS_MAX)
      .map(([k, v]) => ({ type: 'mrkdwn', text: clip(`*${k}*\n${escapeMrkdwn(v)}`, 2000) })),
  });
  return { text: escapeMrkdwn(c.title), blocks };
}

/** Slack reads `&`, `<` and `>` as markup; its documentation asks for these three escapes. */
function escapeMrkdwn(s: string): string {
  return s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}
