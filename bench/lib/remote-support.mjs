// Dataset preparation, machine-load gate and the text report of bench/remote.mjs.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** `uptime` output and the 1/5/15-minute load averages. */
export function machineLoad() {
  const r = spawnSync('uptime', [], { encoding: 'utf8' });
  const [one, five, fifteen] = os.loadavg().map((x) => Math.round(x * 100) / 100);
  return { at: new Date().toISOString(), uptime: (r.stdout || '').trim(), one, five, fifteen };
}

/**
 * Wait until the 1-minute load average is at most `maxLoad` (checked every `intervalS` seconds,
 * for at most `maxWaitS`). Resolves with { clean, waitedSeconds, checks: [load…], final }; measuring
 * goes ahead either way, and `clean: false` is recorded in the results.
 */
export async function waitForQuietMachine({ maxLoad, maxWaitS, intervalS = 60, log }) {
  const t0 = Date.now();
  const checks = [];
  for (;;) {
    const load = machineLoad();
    checks.push(load);
    const waited = Math.round((Date.now() - t0) / 1000);
    if (load.one <= maxLoad) {
      log(`load: ${load.uptime} — at most ${maxLoad}, measuring`);
      return { clean: true, waitedSeconds: waited, checks, final: load };
    }
    if (waited + intervalS > maxWaitS) {
      log(
        `load: ${load.uptime} — still above ${maxLoad} after ${waited} s of waiting; measuring anyway (recorded as not clean)`,
      );
      return { clean: false, waitedSeconds: waited, checks, final: load };
    }
    log(
      `load: ${load.uptime} — above ${maxLoad} (another benchmark?), checking again in ${intervalS} s (waited ${waited} s of at most ${maxWaitS} s)`,
    );
    await sleep(intervalS * 1000);
  }
}

/** Busy CPU time of the whole machine over `ms` milliseconds, in cores (from /proc/stat). */
export async function busyCores(ms = 2000) {
  const read = () => {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = f[3] + (f[4] || 0); // idle + iowait
    return { busy: f.reduce((a, b) => a + b, 0) - idle, at: process.hrtime.bigint() };
  };
  const ticks = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
  const a = read();
  await sleep(ms);
  const b = read();
  const seconds = Number(b.at - a.at) / 1e9;
  return Math.round(((b.busy - a.busy) / ticks / seconds) * 100) / 100;
}

/**
 * Between targets nothing of the bench runs (the servers are idle), so the machine's busy CPU then
 * is other work. Wait while it is above `maxBusy` cores, re-checking every 30 s, as long as the
 * shared wait budget (`budget.remainingS`) lasts. Resolves with the last sample (cores).
 */
export async function waitForIdleCpu({ maxBusy, budget, log, tag }) {
  for (;;) {
    const busy = await busyCores();
    if (busy <= maxBusy) return { busyCores: busy, clean: true };
    if (budget.remainingS < 30) {
      log(`${tag} other work uses ${busy} cores; wait budget used up, measuring anyway (recorded)`);
      return { busyCores: busy, clean: false };
    }
    log(`${tag} other work uses ${busy} cores (> ${maxBusy}) while the bench is idle; checking again in 30 s`);
    await sleep(30_000);
    budget.remainingS -= 32;
  }
}

/** Generate <work>/pristine-s<scale>-<seed> once; a `.complete.json` marker records completion. */
export async function ensurePristine({ work, scale, seed, generator, log }) {
  const dir = path.join(work, `pristine-s${scale}-${seed}`);
  const marker = `${dir}.complete.json`;
  if (fs.existsSync(dir) && fs.existsSync(marker)) {
    log(`dataset: reusing ${dir}`);
    return { dir, source: 'reused', report: JSON.parse(fs.readFileSync(marker, 'utf8')).report };
  }
  if (fs.existsSync(dir)) log(`dataset: ${dir} has no completion marker (interrupted generation?) — regenerating`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(marker, { force: true });
  log(`dataset: generating scale ${scale}, seed ${seed} into ${dir} (once; reused by later runs)`);
  const t0 = Date.now();
  const stdout = await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [generator, 'gen', dir, '--seed', String(seed), '--scale', String(scale)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
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
    `${JSON.stringify({ generator, seed, scale, completedAt: new Date().toISOString(), report }, null, 2)}\n`,
  );
  log(`dataset: generated in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return { dir, source: 'generated', report };
}

export function median(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/**
 * Per target, the medians over the runs that completed: backup/restore wall s and MB/s (dataset
 * bytes ÷ wall s, MB = 10^6 bytes), CPU s of the client (time -v) and of the server process,
 * peak RSS of the client, repository bytes after the backup.
 */
export function summarizeTarget(runs, datasetBytes) {
  const ok = runs.filter((r) => r.ok);
  const pick = (step, key) => median(ok.map((r) => r.steps[step]?.[key]));
  const s = {
    runsOk: ok.length,
    runs: runs.length,
    initWallSeconds: pick('init', 'wallSeconds'),
    backupWallSeconds: pick('backup', 'wallSeconds'),
    restoreWallSeconds: pick('restore', 'wallSeconds'),
    backupCpuSeconds: pick('backup', 'cpuSeconds'),
    restoreCpuSeconds: pick('restore', 'cpuSeconds'),
    backupServerCpuSeconds: pick('backup', 'serverCpuSeconds'),
    restoreServerCpuSeconds: pick('restore', 'serverCpuSeconds'),
    backupMaxRssKB: pick('backup', 'maxRssKB'),
    restoreMaxRssKB: pick('restore', 'maxRssKB'),
    repoBytes: pick('backup', 'repoBytes'),
  };
  const rate = (secs) => (secs ? Math.round((datasetBytes / 1e6 / secs) * 10) / 10 : null);
  s.backupMBps = rate(s.backupWallSeconds);
  s.restoreMBps = rate(s.restoreWallSeconds);
  return s;
}

const f = (x, d = 1) => (x === null || x === undefined ? '-' : x.toFixed(d));
const mb = (kb) => (kb === null || kb === undefined ? '-' : ((kb * 1024) / 1e6).toFixed(0));

export function formatRemoteReport(doc) {
  const out = [];
  const ds = doc.dataset;
  out.push(
    `Backup and restore throughput by repository location (${doc.options.mode} cache, ${doc.options.runs} run${doc.options.runs > 1 ? 's, medians' : ''})`,
  );
  out.push(
    `dataset: ${ds.files} files, ${(ds.bytes / 1e6).toFixed(1)} MB (${ds.scale !== undefined ? `scale ${ds.scale}, seed ${ds.seed}` : ds.path})`,
  );
  out.push(
    `load before measuring: ${doc.load.final.uptime}${doc.load.clean ? '' : '  (ABOVE THE LIMIT: figures may be disturbed)'}`,
  );
  const other = Object.values(doc.targets)
    .flatMap((t) => (t.runs ?? []).map((r) => r.otherWork?.busyCores))
    .filter((x) => typeof x === 'number');
  if (other.length) {
    const noisy = Object.values(doc.targets).some((t) => (t.runs ?? []).some((r) => r.otherWork && !r.otherWork.clean));
    out.push(
      `other work before each target: at most ${Math.max(...other).toFixed(2)} cores busy${noisy ? ` (ABOVE --max-other-cores ${doc.options.maxOtherCores} for some: figures may be disturbed)` : ''}`,
    );
  }
  out.push('');
  const header = [
    'target',
    'backup MB/s',
    'restore MB/s',
    'backup s',
    'restore s',
    'CPU s (b/r)',
    'server CPU s (b/r)',
    'peak RSS MB (b/r)',
    'repo MB',
    'init s',
  ];
  const rows = [];
  for (const [name, t] of Object.entries(doc.targets)) {
    if (t.status === 'skipped') {
      rows.push([name, `SKIPPED: ${t.reason}`]);
      continue;
    }
    const s = t.summary;
    if (!s || s.runsOk === 0) {
      rows.push([name, `FAILED (${t.runs.map((r) => r.failedStep).join(', ')})`]);
      continue;
    }
    rows.push([
      name,
      f(s.backupMBps),
      f(s.restoreMBps),
      f(s.backupWallSeconds, 2),
      f(s.restoreWallSeconds, 2),
      `${f(s.backupCpuSeconds)} / ${f(s.restoreCpuSeconds)}`,
      t.server ? `${f(s.backupServerCpuSeconds)} / ${f(s.restoreServerCpuSeconds)}` : '-',
      `${mb(s.backupMaxRssKB)} / ${mb(s.restoreMaxRssKB)}`,
      s.repoBytes === null ? '-' : (s.repoBytes / 1e6).toFixed(1),
      f(s.initWallSeconds, 2),
    ]);
  }
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.filter((r) => r.length > 2).map((r) => String(r[i]).length)),
  );
  const line = (cells) =>
    cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  out.push(line(header));
  for (const r of rows) out.push(r.length > 2 ? line(r) : `${String(r[0]).padEnd(widths[0])}  ${r[1]}`);
  out.push('');
  out.push('MB/s = dataset bytes ÷ wall seconds (MB = 10^6 bytes). CPU s and peak RSS: the client command under');
  out.push('`time -v`; server CPU s: the sshd or s3rver process tree during the step (not in CPU s).');
  out.push('');
  out.push('restore verification:');
  for (const [name, t] of Object.entries(doc.targets)) {
    for (const r of t.runs ?? []) {
      if (!r.verify) {
        out.push(
          `  ${name} run ${r.run}: not verified (${r.failedStep ? `${r.failedStep} failed: ${r.failureTail?.split('\n').pop() ?? ''}` : 'no restore'})`,
        );
        continue;
      }
      out.push(
        `  ${name} run ${r.run}: ${r.verify.ok ? `OK (${r.verify.files} files, ${r.verify.bytes} bytes)` : 'MISMATCH'}`,
      );
      if (!r.verify.ok) for (const d of r.verify.differences) out.push(`      ${d.path}: ${d.problem}`);
    }
  }
  return `${out.join('\n')}\n`;
}
