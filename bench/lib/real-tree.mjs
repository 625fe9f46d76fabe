// The real tree: a node_modules of ≥ 50,000 small files that we did not generate, installed from
// the npm registry with the pinned package.json + package-lock.json in bench/real-tree/.
//
// It is installed once into <work>/real-tree-<hash of the two files> with
// `npm ci --ignore-scripts --no-audit --no-fund`; a `.complete.json` marker beside it records
// completion (and the file count), so an interrupted install is redone and a complete one reused.

import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawn } from 'node:child_process';
import { treeStats, walkTree } from './tree-compare.mjs';
import { which } from './tools.mjs';

export const MIN_REAL_TREE_FILES = 50_000;
const PINNED = ['package.json', 'package-lock.json'];

export class RealTreeError extends Error {}

function pinnedHash(specDir) {
  const h = crypto.createHash('sha256');
  for (const f of PINNED) h.update(fs.readFileSync(path.join(specDir, f)));
  return h.digest('hex').slice(0, 12);
}

function npmCi(dir, logFile) {
  return new Promise((resolve, reject) => {
    const out = fs.openSync(logFile, 'w');
    const child = spawn('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], {
      cwd: dir,
      stdio: ['ignore', out, out],
    });
    child.once('error', (e) => {
      fs.closeSync(out);
      reject(e);
    });
    child.once('close', (code) => {
      fs.closeSync(out);
      if (code === 0) resolve();
      else reject(new RealTreeError(`npm ci exited with ${code} (log: ${logFile})`));
    });
  });
}

/** Install (or reuse) the real tree. Resolves with { dir, source, hash, files, dirs, bytes }. */
export async function ensureRealTree({ work, specDir, log }) {
  for (const f of PINNED)
    if (!fs.existsSync(path.join(specDir, f))) throw new RealTreeError(`${path.join(specDir, f)} is missing`);
  const hash = pinnedHash(specDir);
  const dir = path.join(work, `real-tree-${hash}`);
  const marker = `${dir}.complete.json`;
  if (fs.existsSync(dir) && fs.existsSync(marker)) {
    log(`real tree: reusing ${dir}`);
    const m = JSON.parse(fs.readFileSync(marker, 'utf8'));
    return { dir, source: 'reused', hash, files: m.files, dirs: m.dirs, bytes: m.bytes };
  }
  if (!which('npm')) throw new RealTreeError('npm is not on PATH (needed to install the real tree once)');
  if (fs.existsSync(dir)) log(`real tree: ${dir} has no completion marker (interrupted install?) — reinstalling`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(marker, { force: true });
  fs.mkdirSync(dir, { recursive: true });
  for (const f of PINNED) fs.copyFileSync(path.join(specDir, f), path.join(dir, f));
  const logFile = `${dir}.npm-ci.log`;
  log(`real tree: npm ci into ${dir} (once; reused by later runs; log ${logFile})`);
  const t0 = Date.now();
  await npmCi(dir, logFile);
  const stats = await treeStats(dir);
  log(
    `real tree: installed in ${((Date.now() - t0) / 1000).toFixed(1)} s — ${stats.files} files, ${(stats.bytes / 1e6).toFixed(1)} MB`,
  );
  if (stats.files < MIN_REAL_TREE_FILES)
    throw new RealTreeError(
      `the real tree has ${stats.files} files, fewer than ${MIN_REAL_TREE_FILES}: add packages to ${path.join(specDir, 'package.json')}`,
    );
  fs.writeFileSync(marker, `${JSON.stringify({ hash, completedAt: new Date().toISOString(), ...stats }, null, 2)}\n`);
  return { dir, source: 'installed', hash, ...stats };
}

/**
 * The change before the third backup of the real tree: append one line to every 100th regular
 * file (in path order), so ~1% of the files change in size and mtime. Deterministic.
 */
export async function changeRealTree(root) {
  const files = [...(await walkTree(root))].filter(([, e]) => e.type === 'file').map(([rel]) => rel);
  let changed = 0,
    bytesAppended = 0;
  const line = '\n/* changed by the lifeboat benchmark, round 1 */\n';
  for (let i = 0; i < files.length; i += 100) {
    await fsp.appendFile(path.join(root, files[i]), line);
    changed++;
    bytesAppended += Buffer.byteLength(line);
  }
  return { filesChanged: changed, bytesAppended, filesTotal: files.length };
}
