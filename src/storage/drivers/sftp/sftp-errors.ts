/**
 * Maps failures of the ssh2 client (SFTP status codes, socket errors, dropped
 * channels) to LifeboatErrors: a missing file is `not_found`, everything else
 * `storage`, retryable exactly when the connection rather than the request failed.
 *
 * @module
 */

import { ErrorCode, LifeboatError, isLifeboatError, systemErrorCode } from '../../../errors/index.js';

/** SFTP v3 status codes (draft-ietf-secsh-filexfer-02 §7). */
export const SFTP_STATUS = {
  EOF: 1,
  NO_SUCH_FILE: 2,
  PERMISSION_DENIED: 3,
  FAILURE: 4,
  BAD_MESSAGE: 5,
  NO_CONNECTION: 6,
  CONNECTION_LOST: 7,
  OP_UNSUPPORTED: 8,
} as const;

/** Socket errors after which a new connection may well succeed. */
const NETWORK_ERRNO = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTDOWN',
  'EAI_AGAIN',
]);

/** Messages ssh2 uses when the connection or channel went away under a request. */
const DROPPED =
  /No response from server|Not connected|Keepalive timeout|Timed out while waiting for handshake|Connection lost|Channel closed|connection closed|socket hang up/i;

export const PERMISSION_HINT =
  'the SFTP user needs read, write and search permission on the repository directory and everything below it';

/** The numeric SFTP status of an ssh2 error, if it carries one. */
export function sftpStatus(err: unknown): number | undefined {
  if (err && typeof err === 'object' && 'code' in err && typeof (err as { code: unknown }).code === 'number') {
    return (err as { code: number }).code;
  }
  return undefined;
}

export function isNoSuchFile(err: unknown): boolean {
  return sftpStatus(err) === SFTP_STATUS.NO_SUCH_FILE;
}

/** Whether `err` means the connection (not the request) failed, so a new connection may succeed. */
export function isConnectionFailure(err: unknown): boolean {
  if (isLifeboatError(err)) return err.retryable;
  const status = sftpStatus(err);
  if (status === SFTP_STATUS.NO_CONNECTION || status === SFTP_STATUS.CONNECTION_LOST) return true;
  const errno = systemErrorCode(err);
  if (errno !== undefined && NETWORK_ERRNO.has(errno)) return true;
  const level = err && typeof err === 'object' && 'level' in err ? (err as { level: unknown }).level : undefined;
  if (level === 'client-socket' || level === 'client-timeout') return true;
  return err instanceof Error && DROPPED.test(err.message);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The LifeboatError for a failed SFTP operation on object `name` (or prefix). */
export function sftpError(op: string, name: string, err: unknown): LifeboatError {
  if (isLifeboatError(err)) return err;
  const status = sftpStatus(err);
  const context: Record<string, unknown> = { op, name, ...(status !== undefined ? { sftpStatus: status } : {}) };
  if (status === SFTP_STATUS.NO_SUCH_FILE) {
    return new LifeboatError(ErrorCode.NotFound, `object ${name} not found`, { context, cause: err });
  }
  if (status === SFTP_STATUS.PERMISSION_DENIED) {
    return new LifeboatError(ErrorCode.Storage, `${op} ${name} failed: permission denied on the SFTP server`, {
      hint: PERMISSION_HINT,
      context,
      cause: err,
    });
  }
  const retryable = isConnectionFailure(err);
  return new LifeboatError(
    ErrorCode.Storage,
    `${op} ${name} failed: ${messageOf(err)}${retryable ? ' (connection lost)' : ''}`,
    {
      retryable,
      context,
      cause: err,
    },
  );
}
