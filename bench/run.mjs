#!/usr/bin/env node
// Side-by-side backup benchmark: Lifeboat vs restic (and borg if installed) on each case — the
// generated dataset at every scale, and a real node_modules tree — tools interleaved per run.
// See bench/README.md. Progress goes to stderr, the report (or --json) to stdout.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { haveGnuTime, canDropCaches } from './lib/measure.mjs';
import { describeTool, which } from './lib/tools.mjs';
import { parseOptions, USAGE, UsageError } from './lib/options.mjs';
import { prepareCases, describeCase } from './lib/datasets.mjs';
import { RealTreeError } from './lib/real-tree.mjs';
import { runSequence } from './lib/sequence.mjs';
import { STEPS, summarizeTool, toolRatios, formatReport } from './lib/report.mjs';
import { caseVerdicts, verdictIndex } from './lib/verdicts.mjs';
import { waitForQuietMachine } from './lib/remote-support.mjs';
import { compareSqliteAddedBytes, formatSqliteComparison } from './lib/sqlite-file.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const log = (msg) => process.stderr.write(`${msg}\n`);
const isoStamp = (d) =>
  d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');

function fail(msg, code = 2) {
  log(`bench: ${msg}`);
  process.exit(code);
}

/** Check the environment; resolve the tools. Exits with 2 on what cannot work. */
function checkEnvironment(opts) {
  if (!haveGnuTime())
    fail(
      'GNU time is required at /usr/bin/time (each step runs under `/usr/bin/time -v`). Install it with:\n  apt-get install -y time',
    );
  const canCold = canDropCaches();
  const explicitCold = opts.mode === 'cold' || opts.scales.some((s) => s.mode === 'cold');
  if (explicitCold && !canCold) fail('--cold needs root (writes /proc/sys/vm/drop_caches); run as root or pass --warm');
  if (!canCold) log('bench: not running as root, so the page cache cannot be dropped: every case runs warm');

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
  const needsGenerator = opts.parts.includes('generated') || opts.parts.includes('sqlite');
  if (needsGenerator && !fs.existsSync(generator))
    fail(
      `dataset generator not found at ${generator}\n  it generates the dataset${opts.dataset ? '' : ' (or pass --dataset DIR)'} and performs the ~1% mutation step;\n  set LIFEBOAT_DATASET_GENERATOR=/path/to/make-dataset.mjs`,
    );
  if (needsGenerator && !which('sqlite3'))
    fail(
      'the sqlite3 CLI is required by the dataset generator (generation and mutation). Install it with:\n  apt-get install -y sqlite3',
    );
  if (opts.dataset && (!fs.existsSync(opts.dataset) || !fs.statSync(opts.dataset).isDirectory()))
    fail(`--dataset ${opts.dataset} is not a directory`);
  return { canCold, requested, described, tools, generator };
}

/** Every case, every run, every tool (tools interleaved; their order rotates from run to run). */
async function measureCases(cases, tools, ctx) {
  const { opts } = ctx;
  const out = [];
  for (const c of cases) {
    const result = { ...describeCase(c), steps: STEPS, tools: {} };
    for (const t of tools) result.tools[t.name] = { status: 'ok', runs: [] };
    for (let run = 1; run <= opts.runs; run++) {
      const k = (run - 1) % tools.length;
      for (const tool of [...tools.slice(k), ...tools.slice(0, k)]) {
        let r;
        try {
          r = await runSequence(tool, c, run, ctx);
        } catch (e) {
          log(`[${c.id} run ${run}/${opts.runs}] ${tool.name}: ERROR ${e.stack || e}`);
          r = { run, ok: false, failedStep: 'harness', steps: {}, error: String(e.message || e) };
          r.failureTail = r.error;
        }
        result.tools[tool.name].runs.push(r);
        if (!r.ok) result.tools[tool.name].status = 'failed';
      }
    }
    for (const t of tools) {
      result.tools[t.name].runs.sort((a, b) => a.run - b.run);
      result.tools[t.name].summary = summarizeTool(result.tools[t.name]);
    }
    result.ratios = toolRatios(result.tools);
    result.verdicts = caseVerdicts(result.tools);
    result.ok = tools.every((t) => result.tools[t.name].runs.every((r) => r.ok));
    out.push(result);
  }
  fs.rmSync(ctx.dataPath, { recursive: true, force: true });
  return out;
}

async function main() {
  const started = new Date();
  const opts = parseOptions(process.argv.slice(2));
  if (opts.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const env = checkEnvironment(opts);
  fs.mkdirSync(opts.work, { recursive: true });
  opts.work = fs.realpathSync(opts.work);
  const dataPath = path.join(opts.work, 'dataset');
  if (opts.dataset) {
    const dir = fs.realpathSync(opts.dataset);
    const inside = (a, b) => a === b || a.startsWith(`${b}${path.sep}`);
    if (inside(dir, dataPath) || inside(dataPath, dir)) fail(`--dataset must not overlap the working copy ${dataPath}`);
  }

  let cases;
  try {
    cases = await prepareCases({
      opts,
      generator: env.generator,
      specDir: path.join(repoRoot, 'bench', 'real-tree'),
      canCold: env.canCold,
      log,
    });
  } catch (e) {
    if (e instanceof RealTreeError) fail(`real tree: ${e.message}\n  (leave it out with --no-real-tree)`);
    throw e;
  }
  log(`tools ${env.tools.map((t) => t.name).join(', ')}; runs ${opts.runs}`);
  const load = await waitForQuietMachine({ maxLoad: opts.maxLoad, maxWaitS: opts.maxWaitMinutes * 60, log });

  const stamp = isoStamp(started);
  const doc = {
    schema: 'lifeboat-bench/2',
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
      runs: opts.runs,
      work: opts.work,
      tools: env.requested,
      parts: opts.parts,
      scales: opts.dataset ? null : opts.scales.map((s) => s.scale),
      seed: opts.dataset ? null : opts.seed,
      dataset: opts.dataset ?? null,
      maxLoad: opts.maxLoad,
      maxWaitMinutes: opts.maxWaitMinutes,
      generator: env.generator,
    },
    load,
    tools: {},
    verdicts: {},
    cases: [],
  };
  for (const t of env.described) {
    doc.tools[t.name] = t.available
      ? { status: 'ok', version: t.version, binary: t.binary }
      : { status: 'skipped', reason: t.reason, binary: t.binary };
  }

  const ctx = { opts, dataPath, logRoot: path.join(opts.work, 'logs', stamp), log };
  doc.cases = await measureCases(cases, env.tools, ctx);
  doc.verdicts = verdictIndex(doc.cases);
  for (const c of doc.cases)
    for (const [n, t] of Object.entries(c.tools)) if (t.status === 'failed') doc.tools[n].status = 'failed';

  const sqliteBase = cases.find((c) => c.kind !== 'real-tree');
  if (opts.parts.includes('sqlite') && !sqliteBase) {
    log('bench: the SQLite comparison needs a generated dataset (part "generated"): NOT RUN');
    doc.sqlite = { error: 'not run: no generated dataset in this run' };
  } else if (opts.parts.includes('sqlite')) {
    const pristine = sqliteBase.dir;
    try {
      doc.sqlite = await compareSqliteAddedBytes({
        pristine,
        work: opts.work,
        generator: env.generator,
        tools: env.tools,
        log,
      });
      doc.sqlite.dataset = sqliteBase.id;
    } catch (e) {
      log(`bench: the SQLite comparison failed: ${e.message}`);
      doc.sqlite = { error: String(e.message) };
    }
  }

  doc.ok = doc.cases.every((c) => c.ok) && !doc.sqlite?.error;
  doc.finishedAt = new Date().toISOString();
  const resultsDir = path.join(repoRoot, 'bench', 'results');
  fs.mkdirSync(resultsDir, { recursive: true });
  const resultsFile = path.join(resultsDir, `${stamp}.json`);
  fs.writeFileSync(resultsFile, `${JSON.stringify(doc, null, 2)}\n`);

  if (opts.json) console.log(JSON.stringify(doc, null, 2));
  else {
    const sqlite = doc.sqlite?.results
      ? `${formatSqliteComparison(doc.sqlite)}\n`
      : doc.sqlite?.error
        ? `\nSQLite comparison: FAILED — ${doc.sqlite.error}\n`
        : '';
    console.log(
      `${formatReport(doc)}\n${sqlite}\nresults: ${path.relative(process.cwd(), resultsFile) || resultsFile}`,
    );
  }
  log(`bench: results saved to ${resultsFile}`);
  process.exit(doc.ok ? 0 : 1);
}

main().catch((e) => {
  if (e instanceof UsageError) fail(`${e.message}\n${USAGE}`);
  log(`bench: ${e.stack || e}`);
  process.exit(1);
});
