/**
 * One HTTP request of a chat notifier, with the timeout and retries every
 * notifier shares: network errors, 5xx and 429 are tried again with backoff,
 * other 4xx answers are not. Errors name the notifier by its safe label only
 * (chat webhook URLs and tokens are secrets); the start of the service's
 * answer is kept, with every secret the notifier knows cut out of it.
 *
 * @module
 */

import { readFileSync } from 'node:fs';
import { VERSION } from '../../version.js';
import { PermanentError, withRetry, type RetryOptions } from './retry.js';

export interface HttpMessage {
  method: 'POST' | 'PUT';
  url: string;
  headers: Record<string, string>;
  body: string;
}

export interface SendOptions {
  /** How the notifier is named in errors: type and host, never a secret. */
  label: string;
  /** Values that must never appear in an error (tokens, secret URLs). */
  secrets: string[];
  retry: RetryOptions;
  timeoutMs: number;
}

/** How much of a refusing service's answer is kept in the error: enough for its error code. */
const ANSWER_EXCERPT = 200;

export async function sendHttp(m: HttpMessage, o: SendOptions): Promise<void> {
  const scrub = (text: string) =>
    [...o.secrets]
      .filter((s) => s.length > 0)
      .sort((a, b) => b.length - a.length)
      .reduce((t, s) => t.split(s).join('***'), text);
  await withRetry(async () => {
    let res: Response;
    try {
      res = await fetch(m.url, {
        method: m.method,
        headers: { 'user-agent': `lifeboat/${VERSION}`, ...m.headers },
        body: m.body,
        signal: AbortSignal.timeout(o.timeoutMs),
        redirect: 'error',
      });
    } catch (err) {
      const e = err as Error;
      const why =
        e.name === 'TimeoutError'
          ? `no answer within ${o.timeoutMs / 1000} s`
          : String((e.cause as Error | undefined)?.message ?? e.cause ?? e.message);
      throw new Error(`${o.label}: ${scrub(why)}`);
    }
    const answer = await res.text().catch(() => '');
    if (res.ok) return;
    const excerpt = scrub(answer.replace(/\s+/g, ' ').trim().slice(0, ANSWER_EXCERPT));
    const text = `${o.label} answered ${res.status}${excerpt ? `: ${excerpt}` : ''}`;
    if (res.status >= 400 && res.status < 500 && res.status !== 429) throw new PermanentError(text);
    throw new Error(text);
  }, o.retry);
}

/** `scheme://host[:port]` of a URL, the only part of a secret URL that may be shown. */
export function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '(invalid URL)';
  }
}

/** A secret held in a file: read at each send, so it can be rotated without a restart. */
export function readSecret(file: string): string {
  return readFileSync(file, 'utf8').trim();
}

/**
 * The parts of a secret URL that must not be shown: all of it, its path and
 * query, and each path segment and query value long enough to be a token
 * (a service's error may echo just the token).
 */
export function urlSecrets(url: string): string[] {
  try {
    const u = new URL(url);
    const pieces = [...u.pathname.split('/'), ...[...u.searchParams.values()]].filter((p) => p.length >= TOKEN_MIN);
    return [url, `${u.pathname}${u.search}`, u.search.slice(1), ...pieces].filter((p) => p.length > 1);
  } catch {
    return [url];
  }
}

/** Shorter path segments (`api`, `services`…) are names, not tokens. */
const TOKEN_MIN = 8;
