#!/usr/bin/env node
/**
 * Continuous SQLite protection, measured (figures in docs/performance.md):
 * a writer process commits small transactions at --rate a second for
 * --seconds (its own checkpoints included) while the replicator of the built
 * Lifeboat (`dist/`) ships, in this process, into a local repository or
 * (`--target s3`) into an S3 repository on the s3rver process the tests use
 * (started on loopback through bench/lib/remote-servers.mjs). Prints,
 * as one JSON line: lag from first sight of a commit to its segment stored
 * (p50/p99/max), CPU of this process as a share of one core, objects and
 * bytes written per hour at that rate, and the same while idle; for S3 also
 * the CPU of the s3rver process (not part of replication, printed apart).
 *
 *   npx tsc -p tsconfig.build.json && node bench/replication.mjs [--target local|s3] [--rate 1000] [--seconds 30] [--idle 15]
 *
 * The machine may be shared: CPU and lag figures vary with its load (the
 * 1-minute load average before and after is printed with them).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const TARGET = process.argv.includes('--target') ? process.argv[process.argv.indexOf('--target') + 1] : 'local';
if (TARGET !== 'local' && TARGET !== 's3') throw new Error(`--target must be local or s3, not ${TARGET}`);
const RATE = arg('rate', 1000);
const SECONDS = arg('seconds', 30);
const IDLE = arg('idle', 15);

const { openStorage, Repository } = await import(path.join(root, 'dist/index.js'));
const { Replicator } = await import(path.join(root, 'dist/sources/sqlite/continuous/replicator.js'));
const { startS3rver } = await import(path.join(root, 'bench/lib/remote-servers.mjs'));
const require = createRequire(import.meta.url);
const Database = require('better-sqlite3');

/** The application: one row per transaction at about RATE a second, a PASSIVE checkpoint every 2,000 commits. */
function startWriter(file, seconds) {
  const script = `
    const Database = require(${JSON.stringify(require.resolve('better-sqlite3'))});
    const db = new Database(${JSON.stringify(file)}, { timeout: 30000 });
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    const insert = db.prepare('INSERT INTO seq (n, at, pad) VALUES (?, ?, ?)');
    let n = 0;
    const start = Date.now(), end = start + ${seconds * 1000};
    (function tick() {
      const now = Date.now();
      if (now >= end) { db.close(); process.stdout.write(String(n)); return; }
      const due = Math.floor(((now - start) / 1000) * ${RATE});
      while (n < due) { n++; insert.run(n, Date.now(), 'p'.repeat(40)); if (n % 2000 === 0) db.pragma('wal_checkpoint(PASSIVE)'); }
      setTimeout(tick, 5);
    })();`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  return new Promise((resolve) => child.on('exit', () => resolve(Number(out))));
}

const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))];

const dir = mkdtempSync(path.join(os.tmpdir(), 'lifeboat-bench-repl-'));
let s3 = null;
try {
  let location = path.join(dir, 'repo');
  let options = { create: true };
  if (TARGET === 's3') {
    s3 = await startS3rver({ dataDir: path.join(dir, 's3-data'), stateDir: path.join(dir, 's3-state') });
    location = 's3://lifeboat-bench/repo';
    options = {
      create: true,
      remote: { endpoint: s3.endpoint, region: 'us-east-1', pathStyle: true, credentialsFile: s3.credentialsFile },
    };
  }
  const repo = await Repository.init(await openStorage(location, options), Buffer.from('bench'));
  const file = path.join(dir, 'app.db');
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE seq (n INTEGER PRIMARY KEY, at INTEGER NOT NULL, pad TEXT NOT NULL)');
  db.close();

  const lags = [];
  const r = new Replicator({
    source: 'app',
    path: file,
    repo,
    intervalMs: 1000,
    snapshotEveryMs: 6 * 3600_000,
    retentionMs: 24 * 3600_000,
    onShipped: (commits, stored) => lags.push(...commits.map((c) => stored - c)),
  });
  await r.start();
  const runWhile = async (busy) => {
    while (busy()) {
      await new Promise((res) => setTimeout(res, r.nextDelayMs()));
      await r.tick();
    }
  };
  const loadBefore = os.loadavg()[0];
  const c0 = { ...r.counters };
  const cpu0 = process.cpuUsage();
  const serverCpu0 = s3?.cpuSeconds();
  const t0 = Date.now();
  let writing = true;
  const written = startWriter(file, SECONDS).then((n) => ((writing = false), n));
  await runWhile(() => writing);
  const settle = Date.now() + 1500;
  await runWhile(() => Date.now() < settle);
  const wall = Date.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const serverCpu = s3 ? s3.cpuSeconds() - serverCpu0 : null;
  const busy = {
    objects: r.counters.objectsWritten - c0.objectsWritten,
    bytes: r.counters.bytesWritten - c0.bytesWritten,
  };
  const c1 = { ...r.counters };
  const idleUntil = Date.now() + IDLE * 1000;
  await runWhile(() => Date.now() < idleUntil);
  await r.stop();
  await repo.close();
  const n = await written;
  const perHour = (x) => Math.round((x / wall) * 3600_000);
  console.log(
    JSON.stringify({
      target: TARGET === 's3' ? `s3 (${s3.version}, loopback)` : 'local',
      rateTarget: RATE,
      transactions: n,
      achievedRate: Math.round(n / SECONDS),
      shipped: r.counters.transactionsShipped,
      lagP50Ms: pct(lags, 50),
      lagP99Ms: pct(lags, 99),
      lagMaxMs: Math.max(...lags),
      cpuShareOfOneCore: Math.round(((cpu.user + cpu.system) / 1000 / wall) * 1000) / 1000,
      objectsPerHour: perHour(busy.objects),
      megabytesPerHour: Math.round(perHour(busy.bytes) / 1e6),
      ...(s3 ? { s3rverCpuShareOfOneCore: Math.round((serverCpu / (wall / 1000)) * 1000) / 1000 } : {}),
      checkpoints: r.counters.checkpoints,
      idleSeconds: IDLE,
      idleObjects: r.counters.objectsWritten - c1.objectsWritten,
      idleBytes: r.counters.bytesWritten - c1.bytesWritten,
      loadAverageBefore: loadBefore,
      loadAverageAfter: os.loadavg()[0],
      cores: os.cpus().length,
    }),
  );
} finally {
  await s3?.stop();
  rmSync(dir, { recursive: true, force: true });
}
