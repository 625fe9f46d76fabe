// Copy steps of the benchmark sequence (Lifeboat and restic): after the backup of the
// mutated data, the tool's repository holds three snapshots (tagged bench-1..3 by the backup
// commands). `copy-full` copies the first into an empty second repository; `copy-incremental`
// copies the rest (the unchanged and the mutated snapshot), which the destination can copy
// against its copy of the first. Lifeboat's `--json` summary says what was read from the source.

import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { dropCaches, runMeasured, tailFile } from './measure.mjs';
import { treeBytes } from './tree-compare.mjs';

export const COPY_STEPS = ['copy-full', 'copy-incremental'];

/** Per tool: how to make the destination and copy (all of it, or the snapshots tagged `tag`) into it; null when the tool has no copy. */
function copyCommands(tool, from, to) {
  if (tool.name === 'lifeboat') {
    const main = tool.binary;
    return {
      env: { LIFEBOAT_TO_PASSWORD: tool.env('').LIFEBOAT_PASSWORD },
      init: [process.execPath, [main, 'init', '--repo', to]],
      copy: (tag) => [
        process.execPath,
        [main, 'copy', '--repo', from, '--to', to, '--json', ...(tag ? ['--tag', tag] : [])],
      ],
    };
  }
  if (tool.name === 'restic') {
    return {
      env: { RESTIC_FROM_PASSWORD: tool.env('').RESTIC_PASSWORD },
      init: [tool.binary, ['-r', to, 'init']],
      copy: (tag) => [tool.binary, ['-r', to, 'copy', '--from-repo', from, ...(tag ? ['--tag', tag] : [])]],
    };
  }
  return null;
}

/** The last `{"type":"summary",…}` line of a Lifeboat `--json` log: bytesRead, filesReused, bytesAdded. */
function copySummary(logFile) {
  const lines = fs.readFileSync(logFile, 'utf8').trim().split('\n').reverse();
  for (const line of lines) {
    try {
      const doc = JSON.parse(line);
      if (doc.type === 'summary')
        return { bytesRead: doc.bytesRead, filesReused: doc.filesReused, bytesAdded: doc.bytesAdded };
    } catch {
      // not a JSON line
    }
  }
  return {};
}

/**
 * Run the copy steps for `tool` from its repository `repo` into `<work>/repos/<tool>-copy`,
 * adding them to `result.steps` (destRepoBytes: the destination's size after the step).
 * Returns false when a step failed (result.failedStep is set), true otherwise (also when the
 * tool has no copy command: then no step is recorded).
 */
export async function runCopySteps({ tool, repo, env, logs, result, work, cold, log }) {
  const dest = path.join(work, 'repos', `${tool.name}-copy`);
  const cmds = copyCommands(tool, repo, dest);
  if (!cmds) return true;
  fs.rmSync(dest, { recursive: true, force: true });
  const copyEnv = { ...env, ...cmds.env };
  const init = spawnSync(cmds.init[0], cmds.init[1], { env: copyEnv, encoding: 'utf8' });
  if (init.status !== 0) {
    result.failedStep = 'copy-full';
    result.failureTail = `${init.stdout}${init.stderr}`.slice(-2000);
    return false;
  }
  for (const [step, tag] of [
    ['copy-full', 'bench-1'],
    ['copy-incremental', undefined],
  ]) {
    const logFile = path.join(logs, `${step}.log`);
    const [cmd, args] = cmds.copy(tag);
    if (cold) dropCaches();
    const m = await runMeasured({ cmd, args, env: copyEnv, logFile, timeFile: `${logFile}.time` });
    m.repoBytes = await treeBytes(repo);
    m.destRepoBytes = await treeBytes(dest);
    if (tool.name === 'lifeboat' && m.ok) Object.assign(m, copySummary(logFile));
    m.log = logFile;
    result.steps[step] = m;
    if (!m.ok) {
      result.failedStep = step;
      result.failureTail = tailFile(logFile);
      log(`${step} FAILED (${m.error || `exit ${m.exitCode}`}) — ${logFile}`);
      return false;
    }
    const read = m.bytesRead === undefined ? '' : `, read ${(m.bytesRead / 1e6).toFixed(1)} MB from the source`;
    log(
      `${step.padEnd(16)} ${m.wallSeconds.toFixed(2).padStart(8)} s wall, ${String(m.cpuSeconds?.toFixed(2)).padStart(7)} s CPU, destination ${(m.destRepoBytes / 1e6).toFixed(1)} MB${read}`,
    );
  }
  fs.rmSync(dest, { recursive: true, force: true });
  return true;
}
