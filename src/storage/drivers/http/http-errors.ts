/**
 * How the repository-server client turns answers and network failures into
 * LifeboatErrors. The server sends `{"error":{"code","message","hint","retryable"}}`;
 * its code is kept (`not_found`, `append_only`, `quota_exceeded`, `storage`, …),
 * so a refusal reads the same through the server as it would locally. A
 * connection that fails or breaks mid-answer is `storage`, retryable.
 *
 * @module
 */

import { ErrorCode, LifeboatError, isLifeboatError } from '../../../errors/index.js';

const KNOWN = new Set<string>(Object.values(ErrorCode));

/** Default hints for refusals whose server message may lack one. */
const HINTS: Partial<Record<string, string>> = {
  [ErrorCode.AppendOnly]:
    'this token may only add objects; run forget, prune and other deleting commands with an admin token',
  [ErrorCode.QuotaExceeded]: "the server's administrator can raise the quota (token remove, then token add --quota)",
};

interface ErrorBody {
  error?: { code?: unknown; message?: unknown; hint?: unknown; retryable?: unknown };
}

/** The LifeboatError for a non-2xx answer. */
export async function errorFromResponse(res: Response, op: string, name: string): Promise<LifeboatError> {
  let body: ErrorBody = {};
  try {
    body = (await res.json()) as ErrorBody;
  } catch {
    // Not JSON (a proxy's error page): the status alone has to do.
  }
  const e = body.error ?? {};
  const status = res.status;
  const code =
    typeof e.code === 'string' && KNOWN.has(e.code)
      ? (e.code as ErrorCode)
      : status === 404
        ? ErrorCode.NotFound
        : ErrorCode.Storage;
  const message =
    typeof e.message === 'string' ? e.message : `${op} ${name}: the repository server answered HTTP ${status}`;
  let hint = typeof e.hint === 'string' ? e.hint : HINTS[code];
  if (status === 401)
    hint ??=
      'check the token in $LIFEBOAT_SERVER_TOKEN_FILE (or $LIFEBOAT_SERVER_TOKEN) against `token list` on the server';
  const retryable = typeof e.retryable === 'boolean' ? e.retryable : status >= 500 && status !== 507 && status !== 501;
  return new LifeboatError(code, message, { hint, retryable, context: { op, name, status } });
}

/** The LifeboatError for a request that got no (complete) answer. */
export function networkError(op: string, name: string, location: string, err: unknown): LifeboatError {
  if (isLifeboatError(err)) return err;
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  const detail = cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
  const tls = typeof cause?.code === 'string' && /CERT|SSL|TLS/i.test(cause.code);
  return new LifeboatError(ErrorCode.Storage, `${op} ${name} at ${location} failed: ${detail}`, {
    hint: tls
      ? "the server's TLS certificate is not trusted; for a private CA set NODE_EXTRA_CA_CERTS to its certificate file"
      : 'check that the repository server is running and reachable',
    retryable: !tls,
    context: { op, name },
    cause: err,
  });
}
