// The SQLite comparison: bytes added to a repository by backing up the dataset's
// SQLite database again after the ~1% row update of `make-dataset.mjs mutate`,
// Lifeboat (as a `sqlite` source, and as a plain file) against restic on the
// same file. The bar: Lifeboat's sqlite source adds at most half of restic's.

import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { PASSWORD } from './tools.mjs';
import { treeBytes } from './tree-compare.mjs';

const DB = path.join('db', 'app.sqlite');

function run(cmd, args, env, what) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status}): ${(r.stderr || r.stdout).slice(-2000)}`);
  return r.stdout;
}

/** The database before and after the mutation: a copy of the pristine dataset is mutated (not timed). */
function prepareDatabases(pristine, work, generator, log) {
  const dir = path.join(work, 'sqlite-compare');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const before = path.join(dir, 'before.sqlite');
  const after = path.join(dir, 'after.sqlite');
  fs.copyFileSync(path.join(pristine, DB), before);
  const copy = path.join(dir, 'dataset');
  log('sqlite: copying the dataset to apply the 1% mutation (not timed)…');
  run('cp', ['-a', pristine, copy], {}, 'copying the dataset');
  run(process.execPath, [generator, 'mutate', copy, '--round', '1'], {}, 'mutating the dataset');
  fs.renameSync(path.join(copy, DB), after);
  fs.rmSync(copy, { recursive: true, force: true });
  return { dir, before, after };
}

/** Each way of backing up: init, back up `live` holding `before`, then holding `after`; bytes the second backup added. */
function variants(tools, dir, live) {
  const out = [];
  const lifeboat = tools.find((t) => t.name === 'lifeboat');
  if (lifeboat) {
    const node = process.execPath;
    const main = lifeboat.binary;
    const pass = path.join(dir, 'lifeboat.pass');
    fs.writeFileSync(pass, `${PASSWORD}\n`, { mode: 0o600 });
    for (const [label, backupArgs] of [
      ['lifeboat (sqlite source)', ['backup', '--source', 'db']],
      ['lifeboat (plain file)', ['backup', live]],
    ]) {
      const repo = path.join(dir, `repo-${out.length}`);
      const config = path.join(dir, `lifeboat-${out.length}.yaml`);
      fs.writeFileSync(
        config,
        `version: 1\nrepositories:\n  r: { url: ${repo}, password_file: ${pass} }\nsources:\n  db: { type: sqlite, path: ${live} }\n`,
      );
      const env = { LIFEBOAT_CACHE_DIR: path.join(dir, `cache-${out.length}`) };
      out.push({
        label,
        repo,
        init: () => run(node, [main, '--config', config, 'init'], env, `${label} init`),
        backup: () => run(node, [main, '--config', config, ...backupArgs], env, `${label} backup`),
      });
    }
  }
  const restic = tools.find((t) => t.name === 'restic');
  if (restic) {
    const repo = path.join(dir, 'repo-restic');
    const env = { RESTIC_PASSWORD: PASSWORD, RESTIC_CACHE_DIR: path.join(dir, 'cache-restic') };
    out.push({
      label: 'restic',
      repo,
      init: () => run(restic.binary, ['-r', repo, 'init'], env, 'restic init'),
      backup: () => run(restic.binary, ['-r', repo, 'backup', '--host', 'bench', live], env, 'restic backup'),
    });
  }
  return out;
}

export async function compareSqliteAddedBytes({ pristine, work, generator, tools, log }) {
  const { dir, before, after } = prepareDatabases(pristine, work, generator, log);
  const live = path.join(dir, 'app.sqlite');
  const databaseBytes = fs.statSync(before).size;
  const results = [];
  try {
    for (const v of variants(tools, dir, live)) {
      fs.copyFileSync(before, live);
      v.init();
      v.backup();
      const first = await treeBytes(v.repo);
      fs.copyFileSync(after, live);
      const mtime = new Date(Date.now() + 5000);
      fs.utimesSync(live, mtime, mtime);
      v.backup();
      const added = (await treeBytes(v.repo)) - first;
      log(
        `sqlite: ${v.label.padEnd(26)} first backup ${(first / 1e6).toFixed(1)} MB, added after the 1% update ${(added / 1e6).toFixed(2)} MB`,
      );
      results.push({ tool: v.label, firstBackupBytes: first, addedBytes: added });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const restic = results.find((r) => r.tool === 'restic');
  const source = results.find((r) => r.tool === 'lifeboat (sqlite source)');
  const ratio = restic && source ? source.addedBytes / restic.addedBytes : null;
  return {
    databaseBytes,
    results,
    lifeboatToResticRatio: ratio,
    meetsHalfOfRestic: ratio === null ? null : ratio <= 0.5,
  };
}

export function formatSqliteComparison(c) {
  if (!c) return '';
  const lines = ['', 'SQLite database, bytes added by the backup after the 1% row update:'];
  for (const r of c.results) lines.push(`  ${r.tool.padEnd(26)} ${(r.addedBytes / 1e6).toFixed(2).padStart(8)} MB`);
  if (c.lifeboatToResticRatio !== null)
    lines.push(
      `  Lifeboat sqlite source / restic: ${c.lifeboatToResticRatio.toFixed(2)} (bar: at most 0.50) — ${c.meetsHalfOfRestic ? 'MET' : 'NOT MET'}`,
    );
  return lines.join('\n');
}
