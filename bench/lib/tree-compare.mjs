// Directory-tree helpers: walk a tree, sum file sizes, and verify that two trees are identical
// (same relative paths and entry types, same file sizes, same SHA-256 of file content, same
// symlink targets). File content is hashed with streams, a few files at a time.

import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import crypto from 'node:crypto';
import { pipeline } from 'node:stream/promises';

/**
 * Walk `root` (not following symlinks). Returns a Map of relative path (posix separators) ->
 * { type: 'file'|'dir'|'symlink'|'other', size }, sorted by path.
 */
export async function walkTree(root) {
  const entries = new Map();
  async function walk(abs, rel) {
    const dirents = await fsp.readdir(abs, { withFileTypes: true });
    dirents.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const d of dirents) {
      const childAbs = path.join(abs, d.name);
      const childRel = rel ? `${rel}/${d.name}` : d.name;
      if (d.isDirectory()) {
        entries.set(childRel, { type: 'dir', size: 0 });
        await walk(childAbs, childRel);
      } else if (d.isFile()) {
        const st = await fsp.lstat(childAbs);
        entries.set(childRel, { type: 'file', size: st.size });
      } else if (d.isSymbolicLink()) {
        entries.set(childRel, { type: 'symlink', size: 0 });
      } else {
        entries.set(childRel, { type: 'other', size: 0 });
      }
    }
  }
  await walk(root, '');
  return entries;
}

/** Sum of the sizes of all regular files under `root` (0 if it does not exist). */
export async function treeBytes(root) {
  if (!fs.existsSync(root)) return 0;
  let total = 0;
  for (const e of (await walkTree(root)).values()) if (e.type === 'file') total += e.size;
  return total;
}

/** { files, dirs, bytes } for a tree. */
export async function treeStats(root) {
  let files = 0,
    dirs = 0,
    bytes = 0;
  for (const e of (await walkTree(root)).values()) {
    if (e.type === 'file') {
      files++;
      bytes += e.size;
    } else if (e.type === 'dir') dirs++;
  }
  return { files, dirs, bytes };
}

export async function sha256File(file) {
  const hash = crypto.createHash('sha256');
  await pipeline(fs.createReadStream(file, { highWaterMark: 1 << 20 }), hash);
  return hash.digest('hex');
}

/**
 * Compare `actualRoot` (e.g. a restored tree) against `expectedRoot` (the source).
 * Resolves with { ok, files, dirs, bytes, differences: [{ path, problem }], moreDifferences, seconds }.
 */
export async function compareTrees(expectedRoot, actualRoot, { concurrency = 4, maxDifferences = 20 } = {}) {
  const t0 = Date.now();
  const differences = [];
  let moreDifferences = 0;
  const report = (p, problem) => {
    if (differences.length < maxDifferences) differences.push({ path: p, problem });
    else moreDifferences++;
  };
  if (!fs.existsSync(actualRoot)) {
    report('.', `restored tree not found at ${actualRoot}`);
    return { ok: false, files: 0, dirs: 0, bytes: 0, differences, moreDifferences, seconds: 0 };
  }
  const [expected, actual] = await Promise.all([walkTree(expectedRoot), walkTree(actualRoot)]);
  let files = 0,
    dirs = 0,
    bytes = 0;
  const toHash = [];
  for (const [rel, e] of expected) {
    const a = actual.get(rel);
    if (!a) {
      report(rel, `missing in restore (${e.type})`);
      continue;
    }
    if (a.type !== e.type) {
      report(rel, `type ${a.type} in restore, expected ${e.type}`);
      continue;
    }
    if (e.type === 'dir') {
      dirs++;
      continue;
    }
    if (e.type === 'symlink') {
      const [te, ta] = await Promise.all([
        fsp.readlink(path.join(expectedRoot, rel)),
        fsp.readlink(path.join(actualRoot, rel)),
      ]);
      if (te !== ta) report(rel, `symlink target ${JSON.stringify(ta)}, expected ${JSON.stringify(te)}`);
      continue;
    }
    if (e.type !== 'file') continue;
    files++;
    bytes += e.size;
    if (a.size !== e.size) {
      report(rel, `size ${a.size}, expected ${e.size}`);
      continue;
    }
    toHash.push(rel);
  }
  for (const [rel, a] of actual) if (!expected.has(rel)) report(rel, `extra in restore (${a.type})`);

  let next = 0;
  async function worker() {
    while (next < toHash.length) {
      const rel = toHash[next++];
      const [he, ha] = await Promise.all([
        sha256File(path.join(expectedRoot, rel)),
        sha256File(path.join(actualRoot, rel)),
      ]);
      if (he !== ha) report(rel, `content differs (sha256 ${ha.slice(0, 12)}…, expected ${he.slice(0, 12)}…)`);
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  const ok = differences.length === 0 && moreDifferences === 0;
  return { ok, files, dirs, bytes, differences, moreDifferences, seconds: (Date.now() - t0) / 1000 };
}
