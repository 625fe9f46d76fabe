/**
 * HTTP calls to a time-series server's API (VictoriaMetrics, Prometheus) with a
 * timeout and errors that say which server did what. Credentials written into
 * the URL (`http://user:pass@host`) become a Basic Authorization header and
 * never appear in messages.
 *
 * @module
 */

import { ErrorCode, LifeboatError } from '../errors/index.js';

export interface TsdbCall {
  /** What the call is for, in messages: "creating a snapshot". */
  purpose: string;
  method?: 'GET' | 'POST';
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface TsdbAnswer {
  status: number;
  text: string;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** The URL without credentials, for messages. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return '(an invalid URL)';
  }
}

/** `base` + `pathAndQuery`, with the credentials moved into headers. */
function prepare(
  base: string,
  pathAndQuery: string,
): { url: string; headers: Record<string, string>; secrets: string[] } {
  let u: URL;
  try {
    u = new URL(pathAndQuery.replace(/^\//, ''), base.endsWith('/') ? base : `${base}/`);
  } catch {
    throw new LifeboatError(ErrorCode.Config, `${displayUrl(base)} is not a valid URL`);
  }
  const headers: Record<string, string> = {};
  const secrets: string[] = [];
  if (u.username || u.password) {
    const user = decodeURIComponent(u.username);
    const pass = decodeURIComponent(u.password);
    headers.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
    if (pass) secrets.push(pass, u.password);
    u.username = '';
    u.password = '';
  }
  return { url: u.toString(), headers, secrets };
}

function mask(text: string, secrets: string[]): string {
  let out = text;
  for (const s of secrets) if (s) out = out.split(s).join('***');
  return out;
}

/** One request; resolves with any status, rejects only when no answer came. */
export async function tsdbRequest(base: string, pathAndQuery: string, call: TsdbCall): Promise<TsdbAnswer> {
  const { url, headers, secrets } = prepare(base, pathAndQuery);
  const shown = displayUrl(url);
  const timeoutMs = call.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = call.signal ? AbortSignal.any([call.signal, timeout]) : timeout;
  try {
    const res = await fetch(url, { method: call.method ?? 'GET', headers, signal, redirect: 'error' });
    return { status: res.status, text: mask(await res.text(), secrets) };
  } catch (err) {
    if (call.signal?.aborted) throw new LifeboatError(ErrorCode.Interrupted, `${call.purpose}: interrupted`);
    if (timeout.aborted) {
      throw new LifeboatError(
        ErrorCode.SourceFailed,
        `${call.purpose}: ${shown} gave no answer within ${Math.round(timeoutMs / 1000)} s`,
        { retryable: true },
      );
    }
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (err as Error).message;
    throw new LifeboatError(
      ErrorCode.SourceFailed,
      `${call.purpose}: cannot reach ${shown}: ${mask(String(why), secrets)}`,
      {
        hint: 'is the server running, and is `url` its HTTP address?',
        retryable: true,
        cause: err,
      },
    );
  }
}

/** A request whose answer must be a 2xx JSON document. */
export async function tsdbJson<T>(base: string, pathAndQuery: string, call: TsdbCall): Promise<T> {
  const answer = await tsdbRequest(base, pathAndQuery, call);
  const shown = displayUrl(prepare(base, pathAndQuery).url);
  if (answer.status < 200 || answer.status > 299) throw httpFailure(call.purpose, shown, answer);
  try {
    return JSON.parse(answer.text) as T;
  } catch {
    throw new LifeboatError(
      ErrorCode.SourceFailed,
      `${call.purpose}: ${shown} did not answer with JSON: ${answer.text.slice(0, 200)}`,
    );
  }
}

export function httpFailure(purpose: string, shownUrl: string, answer: TsdbAnswer, hint?: string): LifeboatError {
  const body = answer.text.trim().slice(0, 500);
  return new LifeboatError(
    ErrorCode.SourceFailed,
    `${purpose}: ${shownUrl} answered HTTP ${answer.status}${body ? `: ${body}` : ''}`,
    { hint },
  );
}
