import { ErrorCode } from './codes.js';

/**
 * The HTTP status the daemon's API answers for an error code, beside
 * `exitCodeFor` for the CLI: a code the client can act on (a name that does
 * not exist, a request that makes no sense) is a 4xx, everything else a 500.
 */
export function httpStatusFor(code: ErrorCode): number {
  switch (code) {
    case ErrorCode.NotFound:
      return 404;
    case ErrorCode.Usage:
      return 400;
    default:
      return 500;
  }
}
