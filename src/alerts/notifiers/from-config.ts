import type { LifeboatConfig } from '../../config/schema.js';
import { parseDuration } from '../../config/duration.js';
import type { Notifier } from '../notification.js';
import { discordNotifier } from './discord.js';
import { emailNotifier } from './email.js';
import { gotifyNotifier } from './gotify.js';
import { matrixNotifier } from './matrix.js';
import { ntfyNotifier } from './ntfy.js';
import { pingNotifier, PING_TIMEOUT_MS } from './ping.js';
import type { RetryOptions } from './retry.js';
import { slackNotifier } from './slack.js';
import { teamsNotifier } from './teams.js';
import { webhookNotifier } from './webhook.js';

/** One notifier per `notify:` entry. */
export function notifiersFromConfig(config: LifeboatConfig, retry?: RetryOptions): Notifier[] {
  return (config.notify ?? []).map((n) => {
    switch (n.type) {
      case 'webhook':
        return webhookNotifier(n, retry);
      case 'email':
        return emailNotifier(n, retry);
      case 'slack':
        return slackNotifier(n, retry);
      case 'discord':
        return discordNotifier(n, retry);
      case 'teams':
        return teamsNotifier(n, retry);
      case 'ntfy':
        return ntfyNotifier(n, retry);
      case 'gotify':
        return gotifyNotifier(n, retry);
      case 'matrix':
        return matrixNotifier(n, retry);
      case 'ping':
        return pingNotifier(n, retry, n.timeout ? parseDuration(n.timeout) * 1000 : PING_TIMEOUT_MS);
    }
  });
}
