/**
 * Mail through the SMTP server named in `smtp_url_file`
 * (`smtp[s]://user:password@host:port`); the file is read at each send, so
 * the credentials can be rotated without a restart and never sit in the
 * config. Only the server's host is ever shown.
 *
 * @module
 */

import { readFileSync } from 'node:fs';
import os from 'node:os';
import nodemailer from 'nodemailer';
import { DEFAULT_ON, renderText, type EventNotifier, type Notification, type NotifyEvent } from '../notification.js';
import { withRetry, type RetryOptions } from './retry.js';
import { safeHost } from './http-send.js';

export interface EmailSettings {
  smtp_url_file: string;
  from?: string;
  to: string[];
  on?: NotifyEvent[];
}

export function emailNotifier(
  s: EmailSettings,
  retry: RetryOptions = { attempts: 3, baseDelayMs: 2000 },
): EventNotifier {
  return {
    type: 'email',
    name: `email to ${s.to.join(', ')}`,
    on: s.on ?? DEFAULT_ON,
    async send(n: Notification) {
      const url = readFileSync(s.smtp_url_file, 'utf8').trim();
      const host = safeHost(url);
      const transport = nodemailer.createTransport(url);
      try {
        await withRetry(async () => {
          try {
            await transport.sendMail({
              from: s.from ?? `lifeboat@${os.hostname()}`,
              to: s.to,
              subject: `[lifeboat] ${n.summary}`,
              text: renderText(n),
            });
          } catch (err) {
            throw new Error(`smtp ${host}: ${(err as Error).message.replaceAll(url, '(smtp url)')}`);
          }
        }, retry);
      } finally {
        transport.close();
      }
    },
  };
}
