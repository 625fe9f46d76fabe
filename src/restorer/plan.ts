/**
 * What a restore will create: every entry of the snapshot (or the selected
 * subset) with its path inside the snapshot. Trees are untrusted input: an entry
 * whose name could escape the target (`..`, `/`, NUL, duplicates) is refused
 * with a named error and never planned.
 *
 * @module
 */

import { Minimatch } from 'minimatch';
import { isLifeboatError } from '../errors/index.js';
import type { Repository } from '../repository/repository.js';
import { isSafeName, type TreeNode } from '../repository/format/index.js';

export interface PlannedEntry {
  /** Path inside the snapshot, always starting with '/'. */
  path: string;
  node: TreeNode;
}

export interface RestorePlan {
  dirs: PlannedEntry[];
  files: PlannedEntry[];
  symlinks: PlannedEntry[];
  hardlinks: PlannedEntry[];
  bytes: number;
  refused: Array<{ path: string; message: string }>;
}

export interface Selection {
  include?: string[];
  exclude?: string[];
}

function compile(patterns: string[] | undefined): Minimatch[] {
  return (patterns ?? []).map(
    (p) =>
      new Minimatch(p.startsWith('/') || !p.includes('/') ? p : `/${p}`, { dot: true, matchBase: !p.includes('/') }),
  );
}

/** A path is selected when a pattern matches it or one of its ancestors. */
function matchesAny(patterns: Minimatch[], p: string): boolean {
  if (patterns.length === 0) return false;
  const parts = p.split('/').filter(Boolean);
  for (let i = parts.length; i >= 1; i--) {
    const prefix = '/' + parts.slice(0, i).join('/');
    if (patterns.some((m) => m.match(prefix))) return true;
  }
  return false;
}

/** Whether a directory could contain an included path (so it is walked and created). */
function couldContain(includes: string[], dir: string): boolean {
  return includes.some((raw) => {
    if (!raw.includes('/')) return true; // a bare name may match at any depth
    const pattern = raw.startsWith('/') ? raw : `/${raw}`;
    const literal = pattern.split(/[*?[{]/)[0]!;
    return literal.startsWith(dir + '/') || (dir + '/').startsWith(literal) || dir === '/';
  });
}

export async function planRestore(repo: Repository, rootTree: string, selection: Selection = {}): Promise<RestorePlan> {
  const includes = compile(selection.include);
  const excludes = compile(selection.exclude);
  const plan: RestorePlan = { dirs: [], files: [], symlinks: [], hardlinks: [], bytes: 0, refused: [] };
  const selected = (p: string) => (includes.length === 0 || matchesAny(includes, p)) && !matchesAny(excludes, p);

  const visit = async (treeId: string, dirPath: string): Promise<boolean> => {
    const tree = await repo.loadTree(treeId);
    const seen = new Set<string>();
    let any = false;
    for (const node of tree.nodes) {
      const shown = dirPath === '/' ? `/${String(node.name)}` : `${dirPath}/${String(node.name)}`;
      if (!isSafeName(node.name)) {
        plan.refused.push({
          path: shown,
          message: `unsafe name ${JSON.stringify(node.name)} refused: it could write outside the target`,
        });
        continue;
      }
      if (seen.has(node.name)) {
        plan.refused.push({ path: shown, message: 'duplicate name in one directory refused' });
        continue;
      }
      seen.add(node.name);
      const p = shown;
      if (node.type === 'dir') {
        if (!node.subtree) {
          plan.refused.push({ path: p, message: 'directory without a tree' });
          continue;
        }
        if (!selected(p) && !(includes.length > 0 && couldContain(selection.include ?? [], p))) continue;
        if (matchesAny(excludes, p)) continue;
        const index = plan.dirs.length;
        plan.dirs.push({ path: p, node });
        let inner: boolean;
        try {
          inner = await visit(node.subtree, p);
        } catch (err) {
          if (!isLifeboatError(err)) throw err;
          // Damage stays local: the directory is made, its unreadable content is named, the rest goes on.
          plan.refused.push({
            path: p,
            message: `the directory's contents cannot be read, nothing below it is restored: ${err.message}`,
          });
          inner = true;
        }
        if (!inner && !selected(p)) plan.dirs.splice(index, 1);
        else any = true;
        continue;
      }
      if (!selected(p)) continue;
      any = true;
      if (node.type === 'file' || node.type === 'stream') {
        plan.files.push({ path: p, node });
        plan.bytes += node.size ?? 0;
      } else if (node.type === 'symlink') plan.symlinks.push({ path: p, node });
      else if (node.type === 'hardlink') plan.hardlinks.push({ path: p, node });
    }
    return any;
  };
  await visit(rootTree, '/');
  return plan;
}
