#!/usr/bin/env node
// Side-by-side backup benchmark: Lifeboat vs restic (and borg if installed) on one dataset.
// See bench/README.md. Progress goes to stderr, the report (or --json) to stdout.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { haveGnuTime, runMeasured, tailFile, dropCaches, canDropCaches } from './lib/measure.mjs';
import { TOOL_NAMES, describeTool, which } from './lib/tools.mjs';
import { compareTrees, treeBytes, treeStats } from './lib/tree-compare.mjs';
import { STEPS, summarizeTool, wallRatios, formatReport } from './lib/report.mjs';
import { compareSqliteAddedBytes, formatSqliteComparison } from './lib/sqlite-file.mjs';
import { runCopySteps } from './lib/copy-steps.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const USAGE = `usage: npm run bench -- [options]      (or: node bench/run.mjs [options])
  --dataset DIR     use an existing pristine dataset instead of generating one
  --scale F         dataset scale passed to the generator (default 1 = 1.34 GB)
  --seed N          dataset seed (default 42)
  --tools LIST      comma-separated: lifeboat,restic,borg (default: lifeboat + restic/borg found on PATH)
  --work DIR        working directory (default /tmp/lifeboat-bench)
  --runs N          repeat the whole sequence N times and report medians (default 1)
  --cold | --warm   drop the page cache before each timed step (default: --cold when root)
  --keep            keep each tool's restored tree (default: deleted after verification)
  --json            print the results document as JSON instead of the tables`;

class UsageError extends Error {}
const log = (msg) => process.stderr.write(`${msg}\n`);
const isoStamp = (d) =>
  d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');

function parseOptions(argv) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        dataset: { type: 'string' },
        scale: { type: 'string' },
        seed: { type: 'string' },
        tools: { type: 'string' },
        work: { type: 'string' },
        runs: { type: 'string' },
        cold: { type: 'boolean' },
        warm: { type: 'boolean' },
        keep: { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    throw new UsageError(e.message);
  }
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const num = (name, def, ok) => {
    if (values[name] === undefined) return def;
    const v = Number(values[name]);
    if (!ok(v)) throw new UsageError(`invalid --${name} ${JSON.stringify(values[name])}`);
    return v;
  };
  if (values.cold && values.warm) throw new UsageError('--cold and --warm are mutually exclusive');
  let tools = null;
  if (values.tools !== undefined) {
    tools = [
      ...new Set(
        values.tools
          .split(',')
          .map((t) => t.trim().toLowerCase())
          .filter(Boolean),
      ),
    ];
    const bad = tools.filter((t) => !TOOL_NAMES.includes(t));
    if (bad.length || tools.length === 0)
      throw new UsageError(`unknown tool(s) ${bad.join(', ') || '(none given)'}; known: ${TOOL_NAMES.join(', ')}`);
  }
  return {
    dataset: values.dataset,
    scale: num('scale', 1, (v) => Number.isFinite(v) && v > 0),
    seed: num('seed', 42, Number.isInteger),
    runs: num('runs', 1, (v) => Number.isInteger(v) && v >= 1),
    tools,
    work: path.resolve(values.work ?? '/tmp/lifeboat-bench'),
    mode: values.cold ? 'cold' : values.warm ? 'warm' : null,
    keep: !!values.keep,
    json: !!values.json,
  };
}

function fail(msg, code = 2) {
  log(`bench: ${msg}`);
  process.exit(code);
}

function rmrf(p) {
  fs.rmSync(p, { recursive: true, force: true });
}

/** Generate <work>/pristine-s<scale>-<seed> once; a marker file beside it records completion. */
async function ensurePristine(opts, generator) {
  const dir = path.join(opts.work, `pristine-s${opts.scale}-${opts.seed}`);
  const marker = `${dir}.complete.json`;
  if (fs.existsSync(dir) && fs.existsSync(marker)) {
    log(`dataset: reusing ${dir}`);
    return { dir, source: 'reused', report: JSON.parse(fs.readFileSync(marker, 'utf8')).report };
  }
  if (fs.existsSync(dir)) log(`dataset: ${dir} has no completion marker (interrupted generation?) — regenerating`);
  rmrf(dir);
  rmrf(marker);
  log(`dataset: generating scale ${opts.scale}, seed ${opts.seed} into ${dir} (once; reused by later runs)`);
  const t0 = Date.now();
  const stdout = await new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [generator, 'gen', dir, '--seed', String(opts.seed), '--scale', String(opts.scale)],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`dataset generator exited with ${code}`)),
    );
  });
  let report;
  try {
    report = JSON.parse(stdout.trim().split('\n').pop());
  } catch {
    report = { raw: stdout };
  }
  fs.writeFileSync(
    marker,
    `${JSON.stringify({ generator, seed: opts.seed, scale: opts.scale, completedAt: new Date().toISOString(), report }, null, 2)}\n`,
  );
  log(`dataset: generated in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return { dir, source: 'generated', report };
}

/** One full init → backup ×2 → mutate → backup → restore → verify sequence for one tool. */
async function runSequence(tool, run, ctx) {
  const { opts, pristine, generator, dataPath, stamp } = ctx;
  const name = tool.name;
  const repo = path.join(opts.work, 'repos', name);
  const restore = path.join(opts.work, 'restore', name);
  const cache = path.join(opts.work, 'cache', name);
  const logs = path.join(opts.work, 'logs', stamp, `run${run}`, name);
  const tag = `[run ${run}/${opts.runs}] ${name.padEnd(8)}`;
  const result = {
    run,
    ok: false,
    failedStep: null,
    steps: {},
    mutate: null,
    repoAddedByMutatedBackup: null,
    verify: null,
    logs,
  };

  for (const p of [dataPath, repo, restore, cache]) rmrf(p);
  for (const p of [restore, cache, logs, path.dirname(repo)]) fs.mkdirSync(p, { recursive: true });
  const t0 = Date.now();
  const cp = spawnSync('cp', ['-a', '--', pristine, dataPath], { encoding: 'utf8' });
  if (cp.status !== 0) throw new Error(`cp -a ${pristine} ${dataPath} failed: ${cp.stderr}`);
  log(`${tag} fresh copy of the pristine dataset (${((Date.now() - t0) / 1000).toFixed(1)} s)`);

  const env = { ...process.env, ...tool.env(cache) };
  const cmds = tool.commands({ repo, data: dataPath, restore });
  const plan = [
    ['init', cmds.init],
    ['backup-full', cmds.backup(1)],
    ['backup-unchanged', cmds.backup(2)],
    ['mutate', null],
    ['backup-mutated', cmds.backup(3)],
    ['restore', cmds.restore],
  ];
  for (const [step, cmd] of plan) {
    if (step === 'mutate') {
      const m = spawnSync(process.execPath, [generator, 'mutate', dataPath, '--round', '1'], { encoding: 'utf8' });
      fs.writeFileSync(path.join(logs, 'mutate.log'), `${m.stdout}${m.stderr}`);
      if (m.status !== 0) {
        result.failedStep = 'mutate';
        result.failureLog = path.join(logs, 'mutate.log');
        result.failureTail = tailFile(result.failureLog);
        log(`${tag} mutate FAILED (exit ${m.status}) — ${result.failureLog}`);
        return result;
      }
      try {
        result.mutate = JSON.parse(m.stdout.trim().split('\n').pop());
      } catch {
        result.mutate = { raw: m.stdout };
      }
      log(`${tag} mutated the dataset by ~1% (not timed)`);
      continue;
    }
    if (opts.mode === 'cold') dropCaches();
    const logFile = path.join(logs, `${step}.log`);
    const m = await runMeasured({ ...cmd, env, logFile, timeFile: `${logFile}.time` });
    m.repoBytes = await treeBytes(repo);
    m.log = logFile;
    result.steps[step] = m;
    if (!m.ok) {
      result.failedStep = step;
      result.failureTail = tailFile(logFile);
      log(
        `${tag} ${step} FAILED (${m.error || `exit ${m.exitCode}`}) after ${m.wallSeconds.toFixed(2)} s — ${logFile}`,
      );
      return result;
    }
    const rss = m.maxRssKB === null ? '?' : ((m.maxRssKB * 1024) / 1e6).toFixed(0);
    log(
      `${tag} ${step.padEnd(16)} ${m.wallSeconds.toFixed(2).padStart(8)} s wall, ${String(m.cpuSeconds?.toFixed(2)).padStart(7)} s CPU, ${rss.padStart(5)} MB RSS, repo ${(m.repoBytes / 1e6).toFixed(1)} MB`,
    );
  }
  result.repoAddedByMutatedBackup =
    result.steps['backup-mutated'].repoBytes - result.steps['backup-unchanged'].repoBytes;
  const copyLog = (m) => log(`${tag} ${m}`);
  const cold = opts.mode === 'cold';
  if (!(await runCopySteps({ tool, repo, env, logs, result, work: opts.work, cold, log: copyLog }))) return result;

  const restored = path.join(restore, dataPath);
  log(`${tag} verifying ${restored} against the mutated dataset (not timed)…`);
  result.verify = await compareTrees(dataPath, restored);
  result.verify.restoredPath = restored;
  log(
    `${tag} verify: ${result.verify.ok ? 'OK' : 'MISMATCH'} (${result.verify.files} files, ${result.verify.seconds.toFixed(1)} s)`,
  );
  if (!opts.keep) rmrf(restore);
  result.ok = result.verify.ok;
  return result;
}

async function main() {
  const started = new Date();
  const opts = parseOptions(process.argv.slice(2));

  if (!haveGnuTime()) {
    fail(
      'GNU time is required at /usr/bin/time (each step runs under `/usr/bin/time -v`). Install it with:\n  apt-get install -y time',
    );
  }
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (opts.mode === null) {
    opts.mode = root ? 'cold' : 'warm';
    if (!root) log('bench: not running as root, so the page cache cannot be dropped: using --warm');
  }
  if (opts.mode === 'cold' && !canDropCaches())
    fail('--cold needs root (writes /proc/sys/vm/drop_caches); run as root or pass --warm');

  // Tools: explicit list, or lifeboat plus whichever of restic/borg is on PATH.
  const requested = opts.tools ?? ['lifeboat', ...['restic', 'borg'].filter((t) => which(t))];
  const described = requested.map((t) => describeTool(t, { repoRoot }));
  for (const t of described.filter((d) => !d.available)) {
    if (t.name !== 'lifeboat' && opts.tools) fail(`${t.name} was requested but is ${t.reason}`);
    log(`bench: ${t.name}: ${t.reason} — SKIPPED`);
  }
  const tools = described.filter((d) => d.available);
  if (tools.length === 0) fail('no tool to benchmark (see messages above)');

  const generator = path.resolve(
    process.env.LIFEBOAT_DATASET_GENERATOR || path.resolve(repoRoot, 'bench/make-dataset.mjs'),
  );
  if (!fs.existsSync(generator)) {
    fail(
      `dataset generator not found at ${generator}\n  it generates the dataset${opts.dataset ? '' : ' (or pass --dataset DIR)'} and performs the ~1% mutation step;\n  set LIFEBOAT_DATASET_GENERATOR=/path/to/make-dataset.mjs`,
    );
  }
  if (!which('sqlite3'))
    fail(
      'the sqlite3 CLI is required by the dataset generator (generation and mutation). Install it with:\n  apt-get install -y sqlite3',
    );

  fs.mkdirSync(opts.work, { recursive: true });
  opts.work = fs.realpathSync(opts.work);
  const dataPath = path.join(opts.work, 'dataset');
  let dataset;
  if (opts.dataset) {
    if (!fs.existsSync(opts.dataset) || !fs.statSync(opts.dataset).isDirectory())
      fail(`--dataset ${opts.dataset} is not a directory`);
    const dir = fs.realpathSync(opts.dataset);
    const inside = (a, b) => a === b || a.startsWith(`${b}${path.sep}`);
    if (inside(dir, dataPath) || inside(dataPath, dir)) fail(`--dataset must not overlap the working copy ${dataPath}`);
    dataset = { dir, source: '--dataset', report: null };
  } else {
    dataset = await ensurePristine(opts, generator);
  }
  const stats = await treeStats(dataset.dir);
  log(
    `dataset: ${stats.files} files, ${(stats.bytes / 1e6).toFixed(1)} MB; mode ${opts.mode}; tools ${tools.map((t) => t.name).join(', ')}; runs ${opts.runs}`,
  );

  const stamp = isoStamp(started);
  const doc = {
    schema: 'lifeboat-bench/1',
    startedAt: started.toISOString(),
    finishedAt: null,
    ok: false,
    host: {
      hostname: os.hostname(),
      kernel: os.release(),
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model?.trim() ?? 'unknown',
      memoryBytes: os.totalmem(),
      node: process.version,
    },
    options: {
      mode: opts.mode,
      runs: opts.runs,
      work: opts.work,
      tools: requested,
      scale: opts.dataset ? null : opts.scale,
      seed: opts.dataset ? null : opts.seed,
    },
    dataset: {
      path: dataset.dir,
      source: dataset.source,
      generator,
      ...stats,
      ...(opts.dataset ? {} : { scale: opts.scale, seed: opts.seed }),
      generatorReport: dataset.report,
    },
    steps: STEPS,
    tools: {},
    ratios: {},
  };
  for (const t of described) {
    doc.tools[t.name] = t.available
      ? { status: 'ok', version: t.version, binary: t.binary, runs: [] }
      : { status: 'skipped', reason: t.reason, binary: t.binary };
  }

  const ctx = { opts, pristine: dataset.dir, generator, dataPath, stamp };
  for (let run = 1; run <= opts.runs; run++) {
    for (const tool of tools) {
      let r;
      try {
        r = await runSequence(tool, run, ctx);
      } catch (e) {
        log(`[run ${run}/${opts.runs}] ${tool.name}: ERROR ${e.stack || e}`);
        r = {
          run,
          ok: false,
          failedStep: 'harness',
          steps: {},
          error: String(e.message || e),
          failureTail: String(e.message || e),
        };
      }
      doc.tools[tool.name].runs.push(r);
      if (!r.ok) doc.tools[tool.name].status = 'failed';
    }
  }
  rmrf(dataPath);

  try {
    doc.sqlite = await compareSqliteAddedBytes({ pristine: dataset.dir, work: opts.work, generator, tools, log });
  } catch (e) {
    log(`bench: the SQLite comparison failed: ${e.message}`);
    doc.sqlite = { error: String(e.message) };
  }

  for (const t of tools) doc.tools[t.name].summary = summarizeTool(doc.tools[t.name]);
  doc.ratios = wallRatios(doc);
  doc.ok = tools.every((t) => doc.tools[t.name].runs.every((r) => r.ok));
  doc.finishedAt = new Date().toISOString();

  const resultsDir = path.join(repoRoot, 'bench', 'results');
  fs.mkdirSync(resultsDir, { recursive: true });
  const resultsFile = path.join(resultsDir, `${stamp}.json`);
  fs.writeFileSync(resultsFile, `${JSON.stringify(doc, null, 2)}\n`);

  if (opts.json) console.log(JSON.stringify(doc, null, 2));
  else
    console.log(
      `${formatReport(doc)}${doc.sqlite?.results ? formatSqliteComparison(doc.sqlite) : ''}\nresults: ${path.relative(process.cwd(), resultsFile) || resultsFile}`,
    );
  log(`bench: results saved to ${resultsFile}`);
  process.exit(doc.ok ? 0 : 1);
}

main().catch((e) => {
  if (e instanceof UsageError) fail(`${e.message}\n${USAGE}`);
  log(`bench: ${e.stack || e}`);
  process.exit(1);
});
