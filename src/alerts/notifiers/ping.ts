/**
 * Pings in the healthchecks.io style around each job run: `<url>/start` as
 * it starts, the bare `<url>` when it ends ok, `<url>/fail` otherwise (partial,
 * failed, skipped). Each ping is a POST (the end ping carries the run's
 * summary as plain text) with a timeout per attempt; network errors, 5xx and
 * 429 are retried with backoff, other 4xx are not. The end ping of a job
 * waits until its start ping has settled, so the two arrive in order;
 * `abandon` ends a ping and its retries at once (the process is exiting). The
 * URL holds the check's key, so only its host is ever shown.
 *
 * @module
 */

import { readFileSync } from 'node:fs';
import { VERSION } from '../../version.js';
import type { RunEvent, RunNotifier } from '../notification.js';
import { PermanentError, withRetry, type RetryOptions } from './retry.js';

export interface PingSettings {
  url?: string;
  url_file?: string;
  jobs?: string[];
}

export const PING_TIMEOUT_MS = 10_000;
const MAX_BODY = 10_000;
const ABANDONED = 'abandoned (the process is exiting)';

export function pingNotifier(
  s: PingSettings,
  retry: RetryOptions = { attempts: 3, baseDelayMs: 1000 },
  timeoutMs = PING_TIMEOUT_MS,
): RunNotifier {
  const lastStart = new Map<string, Promise<unknown>>();
  const baseUrl = () => (s.url_file ? readFileSync(s.url_file, 'utf8').trim() : (s.url ?? ''));

  const ping = async (e: RunEvent, abandon: AbortSignal) => {
    const target = pingUrl(baseUrl(), e.phase === 'start' ? '/start' : e.outcome === 'ok' ? '' : '/fail');
    const body = e.phase === 'end' ? e.summary.slice(0, MAX_BODY) : '';
    const host = safeHost(target);
    await withRetry(
      async () => {
        let res: Response;
        try {
          res = await fetch(target, {
            method: 'POST',
            headers: { 'content-type': 'text/plain; charset=utf-8', 'user-agent': `lifeboat/${VERSION}` },
            body,
            signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), abandon]),
          });
        } catch (err) {
          const cause = (err as Error).cause as Error | undefined;
          const why = abandon.aborted
            ? ABANDONED
            : (err as Error).name === 'TimeoutError'
              ? `no answer within ${timeoutMs / 1000} s`
              : String(cause?.message ?? cause ?? (err as Error).message);
          throw new Error(`ping ${host} (${e.phase}): ${why}`);
        }
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok) return;
        const text = `ping ${host} (${e.phase}) answered ${res.status}`;
        if (res.status >= 400 && res.status < 500 && res.status !== 429) throw new PermanentError(text);
        throw new Error(text);
      },
      { ...retry, sleep: (ms) => sleepUnless(ms, abandon, `ping ${host} (${e.phase})`) },
    );
  };

  return {
    type: 'ping',
    name: s.url_file ? 'ping (URL in url_file)' : `ping ${safeHost(s.url ?? '')}`,
    jobs: s.jobs,
    timeoutMs,
    run(e, abandon) {
      if (e.phase === 'start') {
        const sent = ping(e, abandon);
        lastStart.set(e.job, sent);
        return sent;
      }
      const before = lastStart.get(e.job) ?? Promise.resolve();
      lastStart.delete(e.job);
      return before.then(
        () => ping(e, abandon),
        () => ping(e, abandon),
      );
    },
  };
}

/** `https://hc-ping.com/<uuid>` + `/start` → `https://hc-ping.com/<uuid>/start` (a query string is kept). */
export function pingUrl(base: string, suffix: string): string {
  const u = new URL(base);
  u.pathname = `${u.pathname.replace(/\/+$/, '')}${suffix}`;
  return u.toString();
}

/** Wait `ms`, or less when `signal` aborts (a process about to exit stops retrying). */
function sleepUnless(ms: number, signal: AbortSignal, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Error(`${what}: ${ABANDONED}`));
    const timer = setTimeout(() => (signal.removeEventListener('abort', stop), resolve()), ms);
    const stop = () => (clearTimeout(timer), reject(new Error(`${what}: ${ABANDONED}`)));
    signal.addEventListener('abort', stop, { once: true });
  });
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '';
  }
}
