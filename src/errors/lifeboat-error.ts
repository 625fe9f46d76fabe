import type { ErrorCode } from './codes.js';

export interface LifeboatErrorOptions {
  /** What the user can do about it, in one sentence. */
  hint?: string;
  /** Whether trying the same operation again may succeed (network, lock held). */
  retryable?: boolean;
  /** Key/value facts that help diagnose the error. Never put secrets here. */
  context?: Record<string, unknown>;
  cause?: unknown;
}

/** The one error type of Lifeboat: a stable code, a message, a hint, and context. */
export class LifeboatError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly retryable: boolean;
  readonly context: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: LifeboatErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LifeboatError';
    this.code = code;
    this.hint = options.hint;
    this.retryable = options.retryable ?? false;
    this.context = options.context ?? {};
  }

  /** The error as the CLI prints it with `--json`: code, message, hint and context. */
  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      ...(this.hint ? { hint: this.hint } : {}),
      ...(Object.keys(this.context).length ? { context: this.context } : {}),
    };
  }
}

export function isLifeboatError(err: unknown, code?: ErrorCode): err is LifeboatError {
  return err instanceof LifeboatError && (code === undefined || err.code === code);
}

/** Node's system errors carry a string `code` such as ENOENT. */
export function systemErrorCode(err: unknown): string | undefined {
  if (err && typeof err === 'object' && 'code' in err && typeof (err as { code: unknown }).code === 'string') {
    return (err as { code: string }).code;
  }
  return undefined;
}
