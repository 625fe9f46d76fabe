/**
 * Maps failures of the AWS SDK (service errors, network errors, timeouts) to
 * LifeboatErrors: a missing key is `not_found`, a missing bucket
 * `repository_not_found`, everything else `storage` with `retryable` set for
 * throttling, 5xx, resets and timeouts. Messages never contain a secret: any
 * known secret that shows up in a server's text is replaced.
 *
 * @module
 */

import { ErrorCode, LifeboatError, isLifeboatError, systemErrorCode } from '../../../errors/index.js';

/** What an error message may name: the operation, the object and where it lives. */
export interface S3ErrorContext {
  op: string;
  /** Object name (or list prefix) relative to the repository; '' for repository-wide calls. */
  name: string;
  bucket: string;
  /** Display location for hints, e.g. `s3://bucket/prefix on host:port`. */
  location: string;
  /** Where the credentials came from, for the hint on auth failures. */
  credentialSource: string;
  /** Values that must never appear in a message (secret key, session token). */
  secrets: readonly string[];
}

const NOT_FOUND = new Set(['NoSuchKey', 'NotFound']);
const AUTH = new Set([
  'AccessDenied',
  'AllAccessDisabled',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'AccountProblem',
  'CredentialsProviderError',
]);
const THROTTLING = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'RequestThrottled',
  'RequestThrottledException',
  'BandwidthLimitExceeded',
  'EC2ThrottledException',
  'PriorRequestNotComplete',
]);
const TRANSIENT = new Set([
  'RequestTimeout',
  'RequestTimeoutException',
  'InternalError',
  'ServiceUnavailable',
  'TimeoutError',
  'RequestTimeTooSkewed',
  'OperationAborted',
]);
/** Node/network error codes where the same request may well succeed a moment later. */
const NETWORK = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EADDRNOTAVAIL',
  'UND_ERR_SOCKET',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

interface SdkErrorShape {
  name?: string;
  message?: string;
  Code?: string;
  $fault?: 'client' | 'server';
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: number; requestId?: string };
}

function shape(err: unknown): SdkErrorShape {
  return err && typeof err === 'object' ? (err as SdkErrorShape) : {};
}

/** The S3 error code (`NoSuchKey`, `SlowDown`, …) or the error's name. */
export function s3ErrorName(err: unknown): string | undefined {
  const e = shape(err);
  return e.Code ?? e.name;
}

export function httpStatusOf(err: unknown): number | undefined {
  return shape(err).$metadata?.httpStatusCode;
}

/** A network-level failure (no HTTP response): refused, reset, timed out. */
function networkCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = systemErrorCode(e);
    if (code && NETWORK.has(code)) return code;
    const name = shape(e).name;
    if (name === 'TimeoutError' || name === 'AbortError') return name;
    const message = shape(e).message ?? '';
    if (/socket hang up|premature close|aborted/i.test(message)) return 'ECONNRESET';
  }
  return undefined;
}

/** True for a missing object (404 / NoSuchKey), false for a missing bucket. */
export function isNotFound(err: unknown): boolean {
  const name = s3ErrorName(err);
  if (name === 'NoSuchBucket') return false;
  return (name !== undefined && NOT_FOUND.has(name)) || httpStatusOf(err) === 404;
}

export function isNoSuchBucket(err: unknown): boolean {
  return s3ErrorName(err) === 'NoSuchBucket';
}

/** Replaces every known secret in `text`. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join('[redacted]');
  return out;
}

/** Whether a retry of the same request may succeed (throttling, 5xx, resets, timeouts). */
export function isRetryable(err: unknown): boolean {
  const name = s3ErrorName(err);
  const status = httpStatusOf(err);
  if (name && (THROTTLING.has(name) || TRANSIENT.has(name))) return true;
  if (status !== undefined && (status === 429 || status >= 500)) return true;
  if (shape(err).$retryable) return true;
  return status === undefined && networkCode(err) !== undefined;
}

/** The LifeboatError for a failed S3 call. LifeboatErrors pass through unchanged. */
export function s3Error(err: unknown, ctx: S3ErrorContext): LifeboatError {
  if (isLifeboatError(err)) return err;
  const name = s3ErrorName(err) ?? 'Error';
  const status = httpStatusOf(err);
  const what = ctx.name ? `${ctx.op} ${ctx.name}` : ctx.op;
  const context: Record<string, unknown> = { op: ctx.op, name: ctx.name, bucket: ctx.bucket, s3Code: name };
  if (status !== undefined) context.httpStatus = status;
  const requestId = shape(err).$metadata?.requestId;
  if (requestId) context.requestId = requestId;
  const serverText = redact(shape(err).message ?? String(err), ctx.secrets);

  if (isNotFound(err)) {
    return new LifeboatError(ErrorCode.NotFound, `object ${ctx.name} not found`, { context, cause: err });
  }
  if (isNoSuchBucket(err)) {
    return new LifeboatError(ErrorCode.RepositoryNotFound, `${what} failed: bucket ${ctx.bucket} does not exist`, {
      hint: `check the bucket name, endpoint and region of ${ctx.location}, or run \`lifeboat init\` to create it`,
      context,
      cause: err,
    });
  }
  if (AUTH.has(name) || status === 401 || status === 403) {
    return new LifeboatError(
      ErrorCode.Storage,
      `${what} failed: access denied by ${ctx.location} (${name}): ${serverText}`,
      {
        hint: `check the S3 credentials (${ctx.credentialSource}), that they are allowed to use bucket ${ctx.bucket}, and that the clock is right`,
        retryable: false,
        context,
        cause: err,
      },
    );
  }
  if (isRetryable(err)) {
    const net = status === undefined ? networkCode(err) : undefined;
    const detail = net ? `${net}: ${serverText}` : `${name}${status ? ` (HTTP ${status})` : ''}: ${serverText}`;
    return new LifeboatError(ErrorCode.Storage, `${what} failed at ${ctx.location}: ${detail}`, {
      hint: net
        ? `check that the S3 endpoint of ${ctx.location} is reachable`
        : 'the server is busy or failing; the operation can be retried',
      retryable: true,
      context: net ? { ...context, network: net } : context,
      cause: err,
    });
  }
  return new LifeboatError(
    ErrorCode.Storage,
    `${what} failed at ${ctx.location}: ${name}${status ? ` (HTTP ${status})` : ''}: ${serverText}`,
    {
      retryable: false,
      context,
      cause: err,
    },
  );
}
