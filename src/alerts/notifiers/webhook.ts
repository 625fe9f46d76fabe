/**
 * JSON POST of the notification. With `secret_file`, the body is signed:
 * `X-Lifeboat-Signature: sha256=<hex HMAC-SHA256 of the exact body>`, so the
 * receiver can tell it came from this daemon. Network errors, 5xx and 429 are
 * retried with backoff; other 4xx answers are not. The URL may carry a token
 * (chat webhooks do), so only its host is ever shown.
 *
 * @module
 */

import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { VERSION } from '../../version.js';
import { DEFAULT_ON, type EventNotifier, type Notification, type NotifyEvent } from '../notification.js';
import { safeHost } from './http-send.js';
import { PermanentError, withRetry, type RetryOptions } from './retry.js';

export interface WebhookSettings {
  url: string;
  url_file?: string;
  secret_file?: string;
  on?: NotifyEvent[];
}

export function webhookNotifier(
  s: WebhookSettings,
  retry: RetryOptions = { attempts: 4, baseDelayMs: 1000 },
  timeoutMs = 10_000,
): EventNotifier {
  return {
    type: 'webhook',
    name: `webhook ${safeHost(s.url)}`,
    on: s.on ?? DEFAULT_ON,
    async send(n: Notification) {
      const url = s.url_file ? readFileSync(s.url_file, 'utf8').trim() : s.url;
      const body = JSON.stringify(n);
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'user-agent': `lifeboat/${VERSION}`,
        'x-lifeboat-event': n.event,
      };
      if (s.secret_file)
        headers['x-lifeboat-signature'] =
          `sha256=${createHmac('sha256', readFileSync(s.secret_file, 'utf8').trim()).update(body).digest('hex')}`;
      await withRetry(async () => {
        let res: Response;
        try {
          res = await fetch(url, {
            method: 'POST',
            headers,
            body,
            signal: AbortSignal.timeout(timeoutMs),
            redirect: 'error',
          });
        } catch (err) {
          throw new Error(
            `webhook ${safeHost(url)}: ${(err as Error).cause ? String(((err as Error).cause as Error).message ?? (err as Error).cause) : (err as Error).message}`,
          );
        }
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok) return;
        const text = `webhook ${safeHost(url)} answered ${res.status}`;
        if (res.status >= 400 && res.status < 500 && res.status !== 429) throw new PermanentError(text);
        throw new Error(text);
      }, retry);
    },
  };
}
