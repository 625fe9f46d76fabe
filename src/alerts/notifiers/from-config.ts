import type { LifeboatConfig } from '../../config/schema.js';
import { parseDuration } from '../../config/duration.js';
import type { Notifier } from '../notification.js';
import { emailNotifier } from './email.js';
import { pingNotifier, PING_TIMEOUT_MS } from './ping.js';
import type { RetryOptions } from './retry.js';
import { webhookNotifier } from './webhook.js';

/** One notifier per `notify:` entry. */
export function notifiersFromConfig(config: LifeboatConfig, retry?: RetryOptions): Notifier[] {
  return (config.notify ?? []).map((n) => {
    if (n.type === 'webhook') return webhookNotifier(n, retry);
    if (n.type === 'email') return emailNotifier(n, retry);
    return pingNotifier(n, retry, n.timeout ? parseDuration(n.timeout) * 1000 : PING_TIMEOUT_MS);
  });
}
