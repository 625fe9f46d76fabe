import type { z } from 'zod';

/** A zod error as one short line: `summary: expected object, received null; tree: not a tree id`. */
export function describeIssues(error: z.ZodError, max = 3): string {
  const parts = error.issues.slice(0, max).map((i) => `${i.path.length ? i.path.join('.') : '(top)'}: ${i.message}`);
  return parts.join('; ') + (error.issues.length > max ? `; and ${error.issues.length - max} more` : '');
}
