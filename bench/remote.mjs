#!/usr/bin/env node
// Backup and restore throughput of Lifeboat to a local directory, to SFTP and to S3, with the
// remote servers on loopback (a throwaway sshd and a throwaway s3rver), optionally restic to the
// same local disk and SFTP server for comparison. See bench/README.md ("Remote repositories").
// Progress goes to stderr, the report (or --json) to stdout.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { haveGnuTime, runMeasured, tailFile, dropCaches, canDropCaches } from './lib/measure.mjs';
import { compareTrees, treeStats } from './lib/tree-compare.mjs';
import { UsageError, cacheModeOf, namedList, numberReader, parseValues } from './lib/cli-options.mjs';
import { startSshd, startS3rver, haveSshd } from './lib/remote-servers.mjs';
import {
  LIFEBOAT_TARGETS,
  RESTIC_TARGETS,
  S3_BUCKET,
  RESTIC_S3_BUCKET,
  writeLifeboatConfig,
  lifeboatTarget,
  resticTarget,
} from './lib/remote-targets.mjs';
import {
  ensurePristine,
  machineLoad,
  waitForQuietMachine,
  waitForIdleCpu,
  summarizeTarget,
  formatRemoteReport,
} from './lib/remote-support.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ALL_TARGETS = [...LIFEBOAT_TARGETS, ...RESTIC_TARGETS];
const USAGE = `usage: npm run bench:remote -- [options]      (or: node bench/remote.mjs [options])
  --dataset DIR        use an existing dataset directory (only read) instead of generating one
  --scale F            dataset scale passed to the generator (default 0.25 = ~335 MB)
  --seed N             dataset seed (default 42)
  --targets LIST       comma-separated subset of ${ALL_TARGETS.join(',')}
                       (default: local,sftp,s3 plus the restic ones when restic is on PATH)
  --work DIR           working directory (default /tmp/lifeboat-bench-remote)
  --runs N             repeat every target's sequence N times (targets interleaved), report medians
  --cold | --warm      drop the page cache before each timed step (default: --cold when root)
  --max-load L         wait while the 1-minute load average is above L (default 1.5)
  --max-other-cores C  before each target, wait while other work keeps more than C cores busy (default 0.3)
  --max-wait M         wait at most M minutes in all for the machine to be quiet, then measure anyway (default 20)
  --keep               keep the restored trees (default: deleted after verification)
  --cli FILE           the Lifeboat CLI to run (default dist/cli/main.js of this checkout)
  --json               print the results document as JSON instead of the table`;

const log = (msg) => process.stderr.write(`${msg}\n`);
const isoStamp = (d) =>
  d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
const rmrf = (p) => fs.rmSync(p, { recursive: true, force: true });
const which = (name) => {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
};

function fail(msg, code = 2) {
  log(`bench:remote: ${msg}`);
  process.exit(code);
}

function parseOptions(argv) {
  const values = parseValues(argv, {
    dataset: { type: 'string' },
    scale: { type: 'string' },
    seed: { type: 'string' },
    targets: { type: 'string' },
    work: { type: 'string' },
    runs: { type: 'string' },
    cold: { type: 'boolean' },
    warm: { type: 'boolean' },
    keep: { type: 'boolean' },
    'max-load': { type: 'string' },
    'max-wait': { type: 'string' },
    'max-other-cores': { type: 'string' },
    cli: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const num = numberReader(values);
  const mode = cacheModeOf(values);
  const targets = values.targets === undefined ? null : namedList(values.targets, ALL_TARGETS, 'target');
  return {
    dataset: values.dataset,
    scale: num('scale', 0.25, (v) => Number.isFinite(v) && v > 0),
    seed: num('seed', 42, Number.isInteger),
    runs: num('runs', 1, (v) => Number.isInteger(v) && v >= 1),
    targets,
    work: path.resolve(values.work ?? '/tmp/lifeboat-bench-remote'),
    mode,
    maxLoad: num('max-load', 1.5, (v) => Number.isFinite(v) && v > 0),
    maxWaitMinutes: num('max-wait', 20, (v) => Number.isFinite(v) && v >= 0),
    maxOtherCores: num('max-other-cores', 0.3, (v) => Number.isFinite(v) && v > 0),
    keep: !!values.keep,
    cli: values.cli ? path.resolve(values.cli) : path.join(repoRoot, 'dist', 'cli', 'main.js'),
    json: !!values.json,
  };
}

/** init → full backup → full restore → verify, for one target. */
async function runSequence(target, run, ctx) {
  const { opts, dataPath, logsRoot, server, budget } = ctx;
  const tag = `[run ${run}/${opts.runs}] ${target.name.padEnd(12)}`;
  const logs = path.join(logsRoot, `run${run}`, target.name);
  const result = { run, ok: false, failedStep: null, steps: {}, verify: null, logs };
  // The load average also counts the bench's own previous target; the CPU the machine uses while
  // the bench is idle is other work.
  result.otherWork = await waitForIdleCpu({ maxBusy: opts.maxOtherCores, budget, log, tag });
  target.reset();
  fs.mkdirSync(logs, { recursive: true });
  for (const step of ['init', 'backup', 'restore']) {
    if (opts.mode === 'cold') dropCaches();
    const logFile = path.join(logs, `${step}.log`);
    const loadBefore = machineLoad();
    if (server) await server.settle();
    const serverCpu0 = server ? server.cpuSeconds() : null;
    const m = await runMeasured({ ...target.commands[step], env: target.env, logFile, timeFile: `${logFile}.time` });
    if (server && !(await server.settle()))
      log(
        `${tag} ${step}: the server's per-connection processes did not exit within 5 s; its CPU time may be undercounted`,
      );
    const serverCpu1 = server ? server.cpuSeconds() : null;
    m.serverCpuSeconds =
      serverCpu0 !== null && serverCpu1 !== null ? Math.round((serverCpu1 - serverCpu0) * 100) / 100 : null;
    m.loadBefore = [loadBefore.one, loadBefore.five, loadBefore.fifteen];
    m.repoBytes = await target.repoBytes();
    m.log = logFile;
    result.steps[step] = m;
    if (!m.ok) {
      result.failedStep = step;
      result.failureTail = tailFile(logFile);
      log(
        `${tag} ${step} FAILED (${m.error || `exit ${m.exitCode}`}) after ${m.wallSeconds.toFixed(2)} s — ${logFile}\n${result.failureTail}`,
      );
      return result;
    }
    const rss = m.maxRssKB === null ? '?' : ((m.maxRssKB * 1024) / 1e6).toFixed(0);
    const srv = m.serverCpuSeconds === null ? '' : `, server ${m.serverCpuSeconds.toFixed(2)} s CPU`;
    log(
      `${tag} ${step.padEnd(8)} ${m.wallSeconds.toFixed(2).padStart(8)} s wall, ${String(m.cpuSeconds?.toFixed(2)).padStart(7)} s CPU${srv}, ${rss.padStart(5)} MB RSS, repo ${(m.repoBytes / 1e6).toFixed(1)} MB, load ${loadBefore.one}`,
    );
  }
  log(`${tag} verifying ${target.restoredPath} against the dataset (not timed)…`);
  result.verify = await compareTrees(dataPath, target.restoredPath);
  result.verify.restoredPath = target.restoredPath;
  log(
    `${tag} verify: ${result.verify.ok ? 'OK' : 'MISMATCH'} (${result.verify.files} files, ${result.verify.seconds.toFixed(1)} s)`,
  );
  if (!opts.keep) rmrf(target.restoreDir);
  result.ok = result.verify.ok;
  return result;
}

async function main() {
  const started = new Date();
  const opts = parseOptions(process.argv.slice(2));
  if (!haveGnuTime()) fail('GNU time is required at /usr/bin/time (apt-get install -y time)');
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (opts.mode === null) {
    opts.mode = root ? 'cold' : 'warm';
    if (!root) log('bench:remote: not running as root, so the page cache cannot be dropped: using --warm');
  }
  if (opts.mode === 'cold' && !canDropCaches())
    fail('--cold needs root (writes /proc/sys/vm/drop_caches); run as root or pass --warm');
  const main = opts.cli;
  if (!fs.existsSync(main)) fail(`${main} is missing: run \`npm run build\` (npm run bench:remote does)`);
  const resticBin = which('restic');
  const targets = opts.targets ?? [...LIFEBOAT_TARGETS, ...(resticBin ? RESTIC_TARGETS : [])];
  if (targets.some((t) => t.startsWith('restic')) && !resticBin)
    fail('a restic target was requested but restic is not on PATH (apt-get install -y restic)');
  const needSshd = targets.some((t) => t.endsWith('sftp'));
  if (needSshd && !root)
    fail('the SFTP targets start sshd with root login and need root; leave them out with --targets local,s3');
  if (needSshd && !haveSshd())
    fail(
      'the SFTP targets need OpenSSH (/usr/sbin/sshd, ssh-keygen): apt-get install -y openssh-server openssh-client',
    );

  fs.mkdirSync(opts.work, { recursive: true });
  opts.work = fs.realpathSync(opts.work);
  let dataset;
  if (opts.dataset) {
    if (!fs.existsSync(opts.dataset) || !fs.statSync(opts.dataset).isDirectory())
      fail(`--dataset ${opts.dataset} is not a directory`);
    dataset = { dir: fs.realpathSync(opts.dataset), source: '--dataset', report: null };
  } else {
    const generator = path.resolve(
      process.env.LIFEBOAT_DATASET_GENERATOR || path.resolve(repoRoot, 'bench/make-dataset.mjs'),
    );
    if (!fs.existsSync(generator))
      fail(`dataset generator not found at ${generator}; set LIFEBOAT_DATASET_GENERATOR or pass --dataset DIR`);
    if (!which('sqlite3')) fail('the dataset generator needs the sqlite3 CLI (apt-get install -y sqlite3)');
    dataset = {
      ...(await ensurePristine({ work: opts.work, scale: opts.scale, seed: opts.seed, generator, log })),
      generator,
    };
  }
  const stats = await treeStats(dataset.dir);
  log(
    `dataset: ${dataset.dir}: ${stats.files} files, ${(stats.bytes / 1e6).toFixed(1)} MB; mode ${opts.mode}; targets ${targets.join(', ')}; runs ${opts.runs}`,
  );

  const stamp = isoStamp(started);
  const dirs = {
    repos: path.join(opts.work, 'repos'),
    cache: path.join(opts.work, 'cache'),
    restore: path.join(opts.work, 'restore'),
    logs: path.join(opts.work, 'logs', stamp),
    servers: path.join(opts.work, 'servers'),
  };
  for (const d of Object.values(dirs)) fs.mkdirSync(d, { recursive: true });

  // Servers: started once, shared by every run. Stopped on exit, also on Ctrl-C.
  const servers = {};
  const stopServers = async () => {
    for (const s of Object.values(servers)) await s.stop().catch(() => {});
  };
  for (const sig of ['SIGINT', 'SIGTERM'])
    process.once(sig, () => {
      log(`bench:remote: ${sig}, stopping the servers`);
      stopServers().finally(() => process.exit(130));
    });
  if (needSshd) {
    servers.sshd = await startSshd();
    log(`sshd: ${servers.sshd.version} on 127.0.0.1:${servers.sshd.port} (pid ${servers.sshd.pid})`);
  }
  if (targets.includes('s3') || targets.includes('restic-s3')) {
    rmrf(path.join(dirs.servers, 's3rver'));
    servers.s3 = await startS3rver({
      dataDir: path.join(dirs.servers, 's3rver', 'data'),
      stateDir: path.join(dirs.servers, 's3rver'),
    });
    log(`s3rver: ${servers.s3.version} at ${servers.s3.endpoint} (pid ${servers.s3.pid})`);
  }

  const repoDir = (name) => path.join(dirs.repos, name);
  const config = writeLifeboatConfig({
    work: opts.work,
    repos: { local: repoDir('local'), sftp: repoDir('sftp') },
    sshd: servers.sshd,
    s3: servers.s3,
  });
  const built = targets.map((name) => {
    const common = {
      cache: path.join(dirs.cache, name),
      data: dataset.dir,
      restore: path.join(dirs.restore, name),
      repoDir: repoDir(name),
    };
    const t = name.startsWith('restic')
      ? resticTarget(name, { ...common, bin: resticBin, sshd: servers.sshd, s3: servers.s3 })
      : lifeboatTarget(name, { ...common, main, config, s3: servers.s3 });
    t.server = name.endsWith('sftp') ? servers.sshd : name.endsWith('s3') ? servers.s3 : null;
    t.restoreDir = common.restore;
    t.reset = () => {
      rmrf(common.cache);
      rmrf(common.restore);
      rmrf(common.repoDir);
      // s3rver reads its directory on each request; restic's init creates its bucket again.
      if (name === 's3') rmrf(path.join(servers.s3.dataDir, S3_BUCKET));
      if (name === 'restic-s3') rmrf(path.join(servers.s3.dataDir, RESTIC_S3_BUCKET));
      fs.mkdirSync(common.cache, { recursive: true });
      fs.mkdirSync(common.restore, { recursive: true });
    };
    return t;
  });
  const version = (cmd, args) =>
    (spawnSync(cmd, args, { encoding: 'utf8' }).stdout || '').trim().split('\n')[0] || 'unknown';

  const doc = {
    schema: 'lifeboat-bench-remote/1',
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
      targets,
      maxLoad: opts.maxLoad,
      maxOtherCores: opts.maxOtherCores,
      maxWaitMinutes: opts.maxWaitMinutes,
    },
    dataset: {
      path: dataset.dir,
      source: dataset.source,
      ...stats,
      ...(opts.dataset ? {} : { scale: opts.scale, seed: opts.seed, generator: dataset.generator }),
      generatorReport: dataset.report,
    },
    versions: {
      lifeboat: version(process.execPath, [main, '--version']),
      lifeboatCli: main,
      restic: resticBin ? version(resticBin, ['version']) : null,
    },
    servers: Object.fromEntries(
      Object.entries(servers).map(([k, s]) => [
        k,
        { version: s.version, port: s.port, ...(s.endpoint ? { endpoint: s.endpoint } : {}) },
      ]),
    ),
    load: null,
    targets: {},
  };

  try {
    doc.load = await waitForQuietMachine({ maxLoad: opts.maxLoad, maxWaitS: opts.maxWaitMinutes * 60, log });
    for (const t of built)
      doc.targets[t.name] = { tool: t.tool, server: t.server ? t.server.kind : null, status: 'ok', runs: [] };
    const budget = { remainingS: Math.max(0, opts.maxWaitMinutes * 60 - doc.load.waitedSeconds) };
    const ctxBase = { opts, dataPath: dataset.dir, logsRoot: dirs.logs, budget };
    for (let run = 1; run <= opts.runs; run++) {
      for (const t of built) {
        let r;
        try {
          r = await runSequence(t, run, { ...ctxBase, server: t.server });
        } catch (e) {
          log(`[run ${run}/${opts.runs}] ${t.name}: ERROR ${e.stack || e}`);
          r = { run, ok: false, failedStep: 'harness', steps: {}, failureTail: String(e.message || e) };
        }
        doc.targets[t.name].runs.push(r);
        if (!r.ok) doc.targets[t.name].status = 'failed';
      }
    }
    doc.loadAfter = machineLoad();
  } finally {
    await stopServers();
  }
  for (const t of built) doc.targets[t.name].summary = summarizeTarget(doc.targets[t.name].runs, stats.bytes);
  doc.ok = built.every((t) => doc.targets[t.name].runs.every((r) => r.ok));
  doc.finishedAt = new Date().toISOString();

  const resultsDir = path.join(repoRoot, 'bench', 'results');
  fs.mkdirSync(resultsDir, { recursive: true });
  const resultsFile = path.join(resultsDir, `remote-${stamp}.json`);
  fs.writeFileSync(resultsFile, `${JSON.stringify(doc, null, 2)}\n`);
  if (opts.json) console.log(JSON.stringify(doc, null, 2));
  else console.log(`${formatRemoteReport(doc)}\nresults: ${path.relative(process.cwd(), resultsFile) || resultsFile}`);
  log(`bench:remote: results saved to ${resultsFile}`);
  process.exit(doc.ok ? 0 : 1);
}

main().catch((e) => {
  if (e instanceof UsageError) fail(`${e.message}\n${USAGE}`);
  log(`bench:remote: ${e.stack || e}`);
  process.exit(1);
});
