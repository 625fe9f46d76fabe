/**
 * How a long operation stops when its `AbortSignal` fires: at its next safe
 * point, with the LifeboatError `interrupted` the CLI prints for Ctrl-C
 * (exit code 130), never with the platform's bare `AbortError`.
 *
 * @module
 */

import { ErrorCode, LifeboatError } from '../errors/index.js';

/** The error of an operation stopped through its signal; `what` says what was left as it was. */
export function interruptedError(what: string, cause?: unknown): LifeboatError {
  return new LifeboatError(ErrorCode.Interrupted, `interrupted; ${what}`, {
    cause,
    hint: 'the operation was stopped through its AbortSignal (Ctrl-C for the CLI); run it again to finish',
  });
}

/** Throw `interruptedError(what)` when `signal` has fired. */
export function throwIfInterrupted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw interruptedError(what);
}
