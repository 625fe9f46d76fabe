/**
 * A removal the storage refuses because the object is still under a retention
 * it was written with (S3 Object Lock). Not a failure of the operation that
 * asked: the object is protected by design and goes once its retention ends,
 * so prune and forget leave it for a later run and say so.
 *
 * @module
 */

import { ErrorCode, LifeboatError, isLifeboatError } from '../errors/index.js';

export function retainedError(name: string, location: string, cause: unknown): LifeboatError {
  return new LifeboatError(
    ErrorCode.Refused,
    `remove ${name}: ${location} refused (AccessDenied): the object is still under its Object Lock retention`,
    {
      hint: 'it stays until its retain-until date; a later prune or forget removes it',
      retryable: false,
      context: { op: 'remove', name, retained: true },
      cause,
    },
  );
}

export function isRetained(err: unknown): boolean {
  return isLifeboatError(err, ErrorCode.Refused) && err.context.retained === true;
}
