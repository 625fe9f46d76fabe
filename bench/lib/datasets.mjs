// The datasets ("cases") of one bench run: generated datasets at each scale (or one --dataset
// directory) and the real node_modules tree. Each case knows its pristine directory (never
// modified; every sequence starts from a `cp -a` of it), its cache mode and its ~1% change.

import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ensurePristine } from './remote-support.mjs';
import { ensureRealTree, changeRealTree } from './real-tree.mjs';
import { treeStats } from './tree-compare.mjs';
import { caseMode } from './options.mjs';

/** The generator's ~1% mutation (`make-dataset.mjs mutate DATA --round 1`), logged to mutate.log. */
function generatorMutation(generator) {
  return async (dataPath, logs) => {
    const m = spawnSync(process.execPath, [generator, 'mutate', dataPath, '--round', '1'], { encoding: 'utf8' });
    const logFile = path.join(logs, 'mutate.log');
    fs.writeFileSync(logFile, `${m.stdout}${m.stderr}`);
    if (m.status !== 0) throw Object.assign(new Error(`mutate exited with ${m.status}`), { logFile });
    try {
      return JSON.parse(m.stdout.trim().split('\n').pop());
    } catch {
      return { raw: m.stdout };
    }
  };
}

/** Prepare every case named by the options (generating or installing what is missing). */
export async function prepareCases({ opts, generator, specDir, canCold, log }) {
  const cases = [];
  if (opts.parts.includes('generated')) {
    if (opts.dataset) {
      const dir = fs.realpathSync(opts.dataset);
      cases.push({
        id: 'dataset',
        label: `dataset ${dir}`,
        kind: 'dataset',
        mode: caseMode({}, opts, canCold),
        dir,
        source: '--dataset',
        generatorReport: null,
        change: 'make-dataset.mjs mutate --round 1 (~1% of the data)',
        mutate: generatorMutation(generator),
      });
    } else {
      for (const s of opts.scales) {
        const p = await ensurePristine({ work: opts.work, scale: s.scale, seed: opts.seed, generator, log });
        cases.push({
          id: `scale-${s.scale}`,
          label: `scale ${s.scale}`,
          kind: 'generated',
          mode: caseMode(s, opts, canCold),
          dir: p.dir,
          source: p.source,
          scale: s.scale,
          seed: opts.seed,
          generatorReport: p.report,
          change: 'make-dataset.mjs mutate --round 1 (~1% of the data)',
          mutate: generatorMutation(generator),
        });
      }
    }
  }
  if (opts.parts.includes('real-tree')) {
    const t = await ensureRealTree({ work: opts.work, specDir, log });
    cases.push({
      id: 'real-tree',
      label: 'real tree (node_modules)',
      kind: 'real-tree',
      mode: caseMode({}, opts, canCold),
      dir: t.dir,
      source: t.source,
      hash: t.hash,
      files: t.files,
      dirs: t.dirs,
      bytes: t.bytes,
      spec: path.relative(path.resolve(specDir, '../..'), specDir),
      change: 'one line appended to every 100th file (~1% of the files)',
      mutate: (dataPath) => changeRealTree(dataPath),
    });
  }
  for (const c of cases) {
    if (c.files === undefined) Object.assign(c, await treeStats(c.dir)); // the real tree was counted on install
    log(`${c.label}: ${c.files} files, ${(c.bytes / 1e6).toFixed(1)} MB, ${c.mode} cache (${c.source})`);
  }
  return cases;
}

/** The JSON form of a case (without its functions). */
export function describeCase(c) {
  const rest = { ...c, path: c.dir };
  delete rest.mutate;
  return rest;
}
