import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { minimatch } from 'minimatch';

const GLOB = /[*?[\]{}]/;

/**
 * Config paths may be globs (`/etc/app/*.key`). Each glob expands to the
 * existing paths it matches, in order; a plain path is kept as it is (a missing
 * one is reported by the backup as an input error). A glob that matches
 * nothing is returned in `unmatched`, for the caller to report the same way.
 */
export async function expandPaths(patterns: readonly string[]): Promise<{ paths: string[]; unmatched: string[] }> {
  const paths = new Set<string>();
  const unmatched: string[] = [];
  for (const pattern of patterns) {
    if (!GLOB.test(pattern)) {
      paths.add(path.resolve(pattern));
      continue;
    }
    const matches = await expandGlob(path.resolve(pattern));
    if (matches.length === 0) unmatched.push(pattern);
    for (const m of matches) paths.add(m);
  }
  return { paths: [...paths].sort(), unmatched };
}

async function expandGlob(pattern: string): Promise<string[]> {
  const parts = pattern.split('/');
  const firstGlob = parts.findIndex((p) => GLOB.test(p));
  const base = parts.slice(0, firstGlob).join('/') || '/';
  const depth = parts.includes('**') ? Infinity : parts.length - firstGlob;
  const out: string[] = [];
  const walk = async (dir: string, level: number) => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const full = path.join(dir, e.name);
      if (minimatch(full, pattern, { dot: true })) out.push(full);
      if (e.isDirectory() && level + 1 < depth) await walk(full, level + 1);
    }
  };
  await walk(base, 0);
  return out.sort();
}
