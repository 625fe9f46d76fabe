/**
 * Errors on the wire: `{"error":{"code","message","hint","retryable"}}` with
 * the LifeboatError's own code, so the client can rebuild the same error. The
 * status follows the code: 404 not_found / repository_not_found, 401 for a
 * missing or wrong token, 403 append_only, 507 quota_exceeded, 400 a bad name
 * or request, 503 a retryable storage failure, 500 anything else.
 *
 * @module
 */

import { ErrorCode, LifeboatError, isLifeboatError } from '../errors/index.js';

export interface WireError {
  status: number;
  body: { error: { code: string; message: string; hint?: string; retryable: boolean } };
}

export function statusFor(err: LifeboatError): number {
  switch (err.code) {
    case ErrorCode.NotFound:
    case ErrorCode.RepositoryNotFound:
      return 404;
    case ErrorCode.AppendOnly:
      return 403;
    case ErrorCode.QuotaExceeded:
      return 507;
    case ErrorCode.Usage:
      return 400;
    case ErrorCode.NoPassword:
    case ErrorCode.WrongPassword:
      return 401;
    default:
      if (err.context.badRequest === true) return 400;
      return err.retryable ? 503 : 500;
  }
}

export function toWire(err: unknown): WireError {
  const e = isLifeboatError(err)
    ? err
    : new LifeboatError(ErrorCode.Storage, `internal error: ${(err as Error)?.message ?? String(err)}`);
  return {
    status: statusFor(e),
    body: {
      error: { code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}), retryable: e.retryable },
    },
  };
}

export function badRequest(message: string): LifeboatError {
  return new LifeboatError(ErrorCode.Storage, message, { retryable: false, context: { badRequest: true } });
}
