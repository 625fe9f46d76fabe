export { ErrorCode, ExitCode, exitCodeFor } from './codes.js';
export { httpStatusFor } from './http-status.js';
export { LifeboatError, isLifeboatError, systemErrorCode } from './lifeboat-error.js';
export type { LifeboatErrorOptions } from './lifeboat-error.js';
