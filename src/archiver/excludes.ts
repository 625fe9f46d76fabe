/**
 * Exclude patterns: a pattern without '/' matches a name anywhere (`*.key`,
 * `node_modules`); a pattern with '/' matches the absolute path (`/etc/app/secrets.yaml`,
 * `/var/cache/**`).
 *
 * @module
 */

import path from 'node:path';
import { Minimatch } from 'minimatch';

export type ExcludeMatcher = (absolutePath: string) => boolean;

export function compileExcludes(patterns: readonly string[]): ExcludeMatcher {
  const byName: Minimatch[] = [];
  const byPath: Minimatch[] = [];
  for (const p of patterns) {
    const trimmed = p.endsWith('/') && p.length > 1 ? p.slice(0, -1) : p;
    (trimmed.includes('/') ? byPath : byName).push(new Minimatch(trimmed, { dot: true }));
  }
  if (byName.length === 0 && byPath.length === 0) return () => false;
  return (absolutePath) => {
    const base = path.posix.basename(absolutePath);
    return byName.some((m) => m.match(base)) || byPath.some((m) => m.match(absolutePath));
  };
}
