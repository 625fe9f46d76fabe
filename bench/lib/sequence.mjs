// One tool's sequence on one case: fresh copy of the pristine tree, then the steps below in order,
// then verification of the restored tree against the (changed) working copy.
// A step with `command` is timed under `time -v`; `mutate` applies the case's ~1% change (untimed).

import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { runMeasured, tailFile, dropCaches } from './measure.mjs';
import { machineLoad } from './remote-support.mjs';
import { compareTrees, treeBytes } from './tree-compare.mjs';
import { COPY_STEPS, runCopySteps } from './copy-steps.mjs';

export const SEQUENCE = [
  { name: 'init', command: (cmds) => cmds.init },
  { name: 'backup-full', command: (cmds) => cmds.backup(1) },
  { name: 'backup-unchanged', command: (cmds) => cmds.backup(2) },
  { name: 'mutate', mutate: true },
  { name: 'backup-mutated', command: (cmds) => cmds.backup(3) },
  { name: 'restore', command: (cmds) => cmds.restore },
];

/** The timed steps, in order; the copy steps (copy-steps.mjs) follow the restore on the generated datasets. */
export const STEPS = [...SEQUENCE.filter((s) => s.command).map((s) => s.name), ...COPY_STEPS];

const rmrf = (p) => fs.rmSync(p, { recursive: true, force: true });
const load1 = () => {
  const { one, five, fifteen } = machineLoad();
  return { one, five, fifteen };
};

/** Run the whole sequence for `tool` on case `c`. Never throws for a failing step: it is recorded. */
export async function runSequence(tool, c, run, { opts, dataPath, logRoot, log }) {
  const name = tool.name;
  const repo = path.join(opts.work, 'repos', name);
  const restore = path.join(opts.work, 'restore', c.id, name);
  const cache = path.join(opts.work, 'cache', name);
  const logs = path.join(logRoot, c.id, `run${run}`, name);
  const tag = `[${c.id} run ${run}/${opts.runs}] ${name.padEnd(8)}`;
  const result = {
    run,
    ok: false,
    failedStep: null,
    loadBefore: load1(),
    steps: {},
    mutate: null,
    repoAddedByMutatedBackup: null,
    verify: null,
    logs,
  };

  for (const p of [dataPath, repo, restore, cache]) rmrf(p);
  for (const p of [restore, cache, logs, path.dirname(repo)]) fs.mkdirSync(p, { recursive: true });
  const t0 = Date.now();
  const cp = spawnSync('cp', ['-a', '--', c.dir, dataPath], { encoding: 'utf8' });
  if (cp.status !== 0) throw new Error(`cp -a ${c.dir} ${dataPath} failed: ${cp.stderr}`);
  log(`${tag} fresh copy of the pristine tree (${((Date.now() - t0) / 1000).toFixed(1)} s)`);

  const env = { ...process.env, ...tool.env(cache) };
  const cmds = tool.commands({ repo, data: dataPath, restore });
  for (const step of SEQUENCE) {
    if (step.mutate) {
      try {
        result.mutate = await c.mutate(dataPath, logs);
      } catch (e) {
        result.failedStep = 'mutate';
        result.failureLog = e.logFile ?? null;
        result.failureTail = e.logFile ? tailFile(e.logFile) : String(e.message || e);
        log(`${tag} mutate FAILED (${e.message}) ${e.logFile ? `— ${e.logFile}` : ''}`);
        return result;
      }
      log(`${tag} changed the tree: ${c.change} (not timed)`);
      continue;
    }
    if (c.mode === 'cold') dropCaches();
    const loadBefore = load1();
    const logFile = path.join(logs, `${step.name}.log`);
    const m = await runMeasured({ ...step.command(cmds), env, logFile, timeFile: `${logFile}.time` });
    m.loadBefore = loadBefore;
    m.repoBytes = await treeBytes(repo);
    m.log = logFile;
    result.steps[step.name] = m;
    if (!m.ok) {
      result.failedStep = step.name;
      result.failureTail = tailFile(logFile);
      log(
        `${tag} ${step.name} FAILED (${m.error || `exit ${m.exitCode}`}) after ${m.wallSeconds.toFixed(2)} s — ${logFile}`,
      );
      return result;
    }
    const rss = m.maxRssKB === null ? '?' : ((m.maxRssKB * 1024) / 1e6).toFixed(0);
    log(
      `${tag} ${step.name.padEnd(16)} ${m.wallSeconds.toFixed(2).padStart(8)} s wall, ${String(m.cpuSeconds?.toFixed(2)).padStart(7)} s CPU, ${rss.padStart(5)} MB RSS, repo ${(m.repoBytes / 1e6).toFixed(1)} MB, load ${loadBefore.one}`,
    );
  }
  result.repoAddedByMutatedBackup =
    result.steps['backup-mutated'].repoBytes - result.steps['backup-unchanged'].repoBytes;
  if (c.kind !== 'real-tree') {
    const copyLog = (m) => log(`${tag} ${m}`);
    const cold = c.mode === 'cold';
    if (!(await runCopySteps({ tool, repo, env, logs, result, work: opts.work, cold, log: copyLog }))) return result;
  }

  const restored = path.join(restore, dataPath);
  log(`${tag} verifying ${restored} against the changed working copy (not timed)…`);
  result.verify = await compareTrees(dataPath, restored);
  result.verify.restoredPath = restored;
  log(
    `${tag} verify: ${result.verify.ok ? 'OK' : 'MISMATCH'} (${result.verify.files} files, ${result.verify.seconds.toFixed(1)} s)`,
  );
  if (!opts.keep) rmrf(restore);
  result.ok = result.verify.ok;
  return result;
}
