import type { z } from 'zod';
import { ErrorCode, LifeboatError } from '../../errors/index.js';

/** A zod error as one short line: `summary: expected object, received null; tree: not a tree id`. */
export function describeIssues(error: z.ZodError, max = 3): string {
  const parts = error.issues.slice(0, max).map((i) => `${i.path.length ? i.path.join('.') : '(top)'}: ${i.message}`);
  return parts.join('; ') + (error.issues.length > max ? `; and ${error.issues.length - max} more` : '');
}

/**
 * A decrypted JSON object checked against its schema. Bytes that are not JSON,
 * or an object the schema refuses, are corrupt and named by `what` (e.g.
 * `drill report reports/…`): never half-read.
 */
export function parseJsonWith<S extends z.ZodType>(plain: Buffer, schema: S, what: string): z.output<S> {
  let raw: unknown;
  try {
    raw = JSON.parse(plain.toString('utf8'));
  } catch (cause) {
    throw new LifeboatError(ErrorCode.Corrupt, `${what} is not valid JSON`, { cause });
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success)
    throw new LifeboatError(ErrorCode.Corrupt, `${what} is malformed: ${describeIssues(parsed.error)}`);
  return parsed.data;
}
