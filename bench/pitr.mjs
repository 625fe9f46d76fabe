#!/usr/bin/env node
// Point-in-time recovery figures for docs/performance.md: wal-push segments/s (sync and async),
// RPO of archive mode with archive_timeout, bytes added by a second base backup after ~1 % of rows
// changed, and restore time to a point in time. Runs as root; PostgreSQL and every lifeboat command
// run as the `postgres` user, as on a real server. Usage: node bench/pitr.mjs [--scale 10] [--segments 20] [--rpo-minutes 3]
// [--push-only] (stop after the wal-push figures: sync, Node --async, the sh spooler, drain, and PostgreSQL's own
// archiver through the sh spooler) [--base-only] (only the base-backup figures: three changes of ~1 % of
// pgbench_accounts' rows, each followed by a base backup)
// Or one of these instead of the phases above:
//   --stream-rpo MINUTES [--rate 50]: stream mode (`lifeboat serve` with pg_receivewal) under pgbench at --rate
//     transactions/s; every second, the newest commit on the server minus the newest commit the repository can
//     restore to (the last transaction end recorded for the stored segments, partial copies included).
//   --restore-scale N [--wal-minutes 3] [--rate 100]: a pgbench scale-N database, a base backup, then --wal-minutes of
//     pgbench archived through `wal-push --async` and drained; restore to a moment near the end with --verify:
//     time to write the data directory and time for recovery to the target.
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'dist/cli/main.js');
const SPOOL_SH = path.join(ROOT, 'bin/lifeboat-wal-spool');
const BIN = '/usr/lib/postgresql/15/bin';
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? def : Number(process.argv[i + 1]);
};
const SCALE = arg('scale', 10);
const BASE_ONLY = process.argv.includes('--base-only');
// --varied: pgbench_accounts' blank filler replaced by hex text (compresses about 2:1 instead of 20:1), then the table rewritten.
const VARIED = process.argv.includes('--varied');
// --keep-tars DIR: also write each base backup's tar there (pg_basebackup again), to compare chunking rules offline.
const KEEP_TARS = process.argv.includes('--keep-tars') ? process.argv[process.argv.indexOf('--keep-tars') + 1] : '';
const SEGMENTS = BASE_ONLY ? 0 : arg('segments', 20);
const RPO_MINUTES = arg('rpo-minutes', 3);
const PUSH_ONLY = process.argv.includes('--push-only');
const STREAM_RPO_MINUTES = arg('stream-rpo', 0);
const RESTORE_SCALE = arg('restore-scale', 0);
const WAL_MINUTES = arg('wal-minutes', 3);
const RATE = arg('rate', STREAM_RPO_MINUTES ? 50 : 100);
const PUSH_DONE = Symbol('push figures done');
const [, , uid, gid] = spawnSync('getent', ['passwd', 'postgres'], {
  encoding: 'utf8',
})
  .stdout.trim()
  .split(':')
  .map(Number);

const dir = mkdtempSync(path.join(os.tmpdir(), 'lifeboat-pitr-bench-'));
chmodSync(dir, 0o755);
const data = path.join(dir, 'data');
const stage = path.join(dir, 'stage');
const config = path.join(dir, 'lifeboat.yaml');
const port = 20000 + Math.floor(Math.random() * 20000);
const env = {
  PATH: process.env.PATH,
  HOME: dir,
  LIFEBOAT_CACHE_DIR: path.join(dir, 'cache'),
  PGHOST: dir,
  PGPORT: String(port),
  PGUSER: 'postgres',
  PGDATABASE: 'postgres',
  LC_ALL: 'C.UTF-8',
};
const as = { uid, gid, env, encoding: 'utf8' };
const sh = (cmd, args) => {
  const r = spawnSync(cmd, args, as);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}${r.stdout.slice(-2000)}`);
  return r.stdout.trim();
};
const psql = (sql) => sh(`${BIN}/psql`, ['-X', '-At', '-v', 'ON_ERROR_STOP=1', '-c', sql]);
const lb = (args) => {
  const t = process.hrtime.bigint();
  const out = sh(process.execPath, [CLI, '--config', config, ...args]);
  return { out, seconds: Number(process.hrtime.bigint() - t) / 1e9 };
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const results = {};
let server;
let daemon;
const loadAverage = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const percentile = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
const round1 = (x) => Math.round(x * 10) / 10;

function startServer(settings) {
  const args = [
    '-D',
    data,
    '-p',
    String(port),
    '-k',
    dir,
    '-c',
    'listen_addresses=',
    ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
  ];
  server = spawn(`${BIN}/postgres`, args, { uid, gid, env, stdio: 'ignore' });
  for (let i = 0; i < 300; i++) {
    if (spawnSync(`${BIN}/pg_isready`, ['-q'], { env }).status === 0) return;
    spawnSync('sleep', ['0.2']);
  }
  throw new Error('postgres did not start');
}
async function stopServer() {
  const exited = new Promise((r) => server.once('exit', r));
  server.kill('SIGINT');
  await exited;
}

mkdirSync(stage);
writeFileSync(path.join(dir, 'repo.pass'), 'bench password, long enough to pass', { mode: 0o600 });
const pitrLines = STREAM_RPO_MINUTES
  ? '    pitr:\n      wal: stream\n      slot: lifeboat_bench\n      base_backup: 1d\n'
  : `    pitr:\n      wal: archive\n      spool_dir: ${dir}/spool\n`;
writeFileSync(
  config,
  `version: 1\nstate_dir: ${dir}/state\nrepositories:\n  main:\n    url: ${dir}/repo\n    password_file: ${dir}/repo.pass\nsources:\n  db:\n    type: postgres\n    url: postgres://postgres@${encodeURIComponent(dir)}:${port}/postgres\n    bin_dir: ${BIN}\n${pitrLines}`,
);
spawnSync('chown', ['-R', `${uid}:${gid}`, dir]);
const init = spawnSync(process.execPath, [CLI, '--config', config, 'init', '--repo', 'main'], {
  ...as,
  env: { ...env, LIFEBOAT_PASSWORD: 'bench password, long enough to pass' },
});
if (init.status !== 0) throw new Error(`init: ${init.stderr}`);

try {
  sh(`${BIN}/initdb`, ['-D', data, '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  if (STREAM_RPO_MINUTES) {
    await streamRpo();
    throw PUSH_DONE;
  }
  if (RESTORE_SCALE) {
    await restoreAtScale();
    throw PUSH_DONE;
  }
  // Phase 1: real WAL for the push figures, copied aside by a plain archive_command.
  startServer({
    archive_mode: 'on',
    archive_command: `cp %p ${stage}/%f`,
    wal_level: 'replica',
    max_wal_size: '4GB',
  });
  sh(`${BIN}/pgbench`, ['-i', '-q', '-s', String(SCALE)]);
  sh(`${BIN}/pgbench`, ['-n', '-c', '2', '-t', '3000']);
  if (VARIED) {
    psql(
      'UPDATE pgbench_accounts SET filler = md5(aid::text) || md5((aid * 7)::text) || left(md5((aid * 13)::text), 20)',
    );
    psql('VACUUM FULL ANALYZE pgbench_accounts');
  }
  psql('SELECT pg_switch_wal()');
  await sleep(3000);
  const segs = readdirSync(stage)
    .filter((n) => /^[0-9A-F]{24}$/.test(n))
    .sort()
    .slice(-SEGMENTS);
  console.log(`${segs.length} real segments staged`);

  if (SEGMENTS > 0) {
    // wal-push, synchronous: one process per segment, each stored in the repository before it returns.
    let t = Date.now();
    for (const s of segs) lb(['--quiet', 'wal-push', '--source', 'db', path.join(stage, s)]);
    results.syncPushPerSecond = segs.length / ((Date.now() - t) / 1000);
    // Async: spool only (what archive_command waits for), then one drain.
    const stage2 = path.join(dir, 'stage2');
    mkdirSync(stage2);
    for (const [i, s] of segs.entries())
      copyFileSync(
        path.join(stage, s),
        path.join(stage2, `000000090000000000000${(i + 16).toString(16).toUpperCase().padStart(3, '0')}`),
      );
    spawnSync('chown', ['-R', `${uid}:${gid}`, stage2]);
    t = Date.now();
    for (const s of readdirSync(stage2)) lb(['--quiet', 'wal-push', '--async', '--source', 'db', path.join(stage2, s)]);
    results.asyncSpoolPerSecond = segs.length / ((Date.now() - t) / 1000);
    t = Date.now();
    lb(['--quiet', 'wal', 'drain', '--source', 'db']);
    results.drainPerSecond = segs.length / ((Date.now() - t) / 1000);
    // The sh spooler (archive_command = 'lifeboat-wal-spool SPOOL %p'): no Node process per segment.
    t = Date.now();
    for (const s of segs) sh(SPOOL_SH, [path.join(dir, 'spool-sh'), path.join(stage, s)]);
    results.shSpoolPerSecond = segs.length / ((Date.now() - t) / 1000);
    console.log(results);

    // PostgreSQL's own archiver through the sh spooler: segments closed by pg_switch_wal() as fast as the server
    // can, counted in pg_stat_archiver; then one drain of those (mostly zero-filled, compressible) segments.
    await stopServer();
    startServer({
      archive_mode: 'on',
      archive_command: `${SPOOL_SH} ${dir}/spool %p`,
      wal_level: 'replica',
      max_wal_size: '4GB',
    });
    psql('CREATE TABLE IF NOT EXISTS bench_switch (x int)');
    const archivedCount = () => Number(psql('SELECT archived_count FROM pg_stat_archiver'));
    const before = archivedCount();
    t = Date.now();
    for (let i = 0; i < segs.length; i++) psql('INSERT INTO bench_switch VALUES (1); SELECT pg_switch_wal()');
    while (archivedCount() < before + segs.length) await sleep(20);
    results.archiverShPerSecond = segs.length / ((Date.now() - t) / 1000);
    const spooledNow = readdirSync(path.join(dir, 'spool')).filter((n) => /^[0-9A-F]{24}$/.test(n)).length;
    t = Date.now();
    lb(['--quiet', 'wal', 'drain', '--source', 'db']);
    results.drainSwitchedPerSecond = spooledNow / ((Date.now() - t) / 1000);
    results.drainSwitchedSegments = spooledNow;
    results.loadAverage = os.loadavg().map((x) => Math.round(x * 100) / 100);
    console.log(results);
  }
  if (PUSH_ONLY) throw PUSH_DONE;

  // Phase 2: archive into lifeboat; two base backups around a ~1 % row change.
  await stopServer();
  startServer({
    archive_mode: 'on',
    archive_command: `${process.execPath} ${CLI} --config ${config} --quiet wal-push --source db %p`,
    archive_timeout: '60',
    wal_level: 'replica',
    max_wal_size: '4GB',
  });
  const baseBackup = (name) => {
    if (KEEP_TARS) {
      const tar = spawnSync(`${BIN}/pg_basebackup`, ['-D', '-', '-Ft', '-X', 'none', '--checkpoint=fast'], {
        ...as,
        encoding: 'buffer',
        maxBuffer: 2 ** 32,
      });
      if (tar.status !== 0) throw new Error(`pg_basebackup: ${tar.stderr}`);
      writeFileSync(path.join(KEEP_TARS, `${name}.tar`), tar.stdout);
    }
    const summary = JSON.parse(lb(['--json', 'base-backup', '--source', 'db']).out.split('\n').pop());
    return {
      tarBytes: summary.tarBytes,
      addedBytes: summary.added.addedBytes,
      storedBytes: summary.added.addedStoredBytes,
    };
  };
  const rows = Number(psql('SELECT count(*) FROM pgbench_accounts'));
  const pages = Number(psql("SELECT relpages FROM pg_class WHERE relname = 'pgbench_accounts'"));
  results.accounts = { rows, pages };
  results.first = baseBackup('first');
  // Each change touches ~1 % of the rows, then a checkpoint, then a base backup that is compared with the one before.
  const changes = {
    // pgbench's own transactions: one random account row each (a few are drawn twice).
    random: () => sh(`${BIN}/pgbench`, ['-n', '-c', '1', '-t', String(rows / 100)]),
    contiguous: () => psql(`UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid <= ${rows / 100}`),
    spread: () => psql(`UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid % 100 = 0`),
  };
  for (const [name, change] of Object.entries(changes)) {
    change();
    psql('CHECKPOINT');
    results[name] = baseBackup(name);
    console.log(name, results[name]);
  }
  // Expected share of heap pages that hold at least one of k = rows/100 rows drawn at random: 1 - (1 - 1/pages)^k.
  results.randomPagesTouchedFloor = 1 - Math.pow(1 - 1 / pages, rows / 100);
  results.loadAverage = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  results.scale = SCALE;
  console.log(JSON.stringify(results, null, 2));
  if (BASE_ONLY) throw PUSH_DONE;

  // Phase 3: RPO under light load with archive_timeout = 60: how long committed data waits to be archived.
  const load = spawn(`${BIN}/pgbench`, ['-n', '-c', '1', '--rate=5', '-T', String(Math.max(1, RPO_MINUTES * 60))], {
    uid,
    gid,
    env,
    stdio: 'ignore',
  });
  // Listened for now: pgbench may end before the sampling loop does.
  const loadDone = new Promise((r) => load.once('exit', r));
  const archived = [];
  const end = Date.now() + RPO_MINUTES * 60_000;
  let last = '';
  while (Date.now() < end) {
    const [name, at] = psql(
      "SELECT coalesce(last_archived_wal,'') || '|' || coalesce(extract(epoch from last_archived_time)::text,'') FROM pg_stat_archiver",
    ).split('|');
    if (name !== last) {
      archived.push({ name, at: Number(at), seen: Date.now() / 1000 });
      last = name;
    }
    await sleep(1000);
  }
  await loadDone;
  const gaps = archived.slice(1).map((a, i) => a.at - archived[i].at);
  results.archiveIntervalsSeconds = gaps.map((g) => Math.round(g * 10) / 10);
  // Worst case: a commit just after a segment closed waits for the next switch plus that segment's push.
  results.archiveRpoWorstSeconds = gaps.length ? Math.max(...gaps) : null;
  const marker = Date.now();
  // Something to archive, so that the switch closes a segment.
  psql('CREATE TABLE IF NOT EXISTS bench_probe (x int); INSERT INTO bench_probe VALUES (1)');
  psql('SELECT pg_switch_wal()');
  const pushStart = psql('SELECT last_archived_wal FROM pg_stat_archiver');
  while (psql('SELECT last_archived_wal FROM pg_stat_archiver') === pushStart) await sleep(200);
  results.switchToArchivedSeconds = (Date.now() - marker) / 1000;
  console.log(results);

  // Phase 4: restore to a point in time (a moment before the last switch) and replay.
  const target = new Date(marker - 1_000).toISOString().replace('T', ' ').replace('Z', '+00');
  const restore = lb([
    'restore',
    'latest',
    '--source',
    'db',
    '--target',
    path.join(dir, 'restored'),
    '--to-time',
    target,
    '--verify',
  ]);
  results.restoreSeconds = restore.seconds;
  results.restoreOutput = restore.out.split('\n').pop();
  results.scale = SCALE;
  console.log(JSON.stringify(results, null, 2));
} catch (err) {
  if (err !== PUSH_DONE) throw err;
} finally {
  if (daemon && daemon.exitCode === null) {
    const exited = new Promise((r) => daemon.once('exit', r));
    daemon.kill('SIGTERM');
    await exited;
  }
  if (server) await stopServer().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
}

/** Stream mode under pgbench: how far the newest restorable commit trails the server's newest commit. */
async function streamRpo() {
  startServer({
    wal_level: 'replica',
    max_wal_senders: '5',
    track_commit_timestamp: 'on',
    max_wal_size: '4GB',
  });
  sh(`${BIN}/pgbench`, ['-i', '-q', '-s', String(SCALE)]);
  daemon = spawn(process.execPath, [CLI, '--config', config, 'serve', '--listen', `127.0.0.1:${port + 1}`], {
    uid,
    gid,
    env,
    stdio: ['ignore', 'ignore', openSync(path.join(dir, 'serve.log'), 'a')],
  });
  // status exits 1 while the source is not ok (no base backup yet): its JSON is what counts.
  const walStatus = () =>
    JSON.parse(spawnSync(process.execPath, [CLI, '--config', config, '--json', 'status'], as).stdout).sources.db.wal;
  const t = Date.now();
  while (walStatus().last_base_backup === null) await sleep(2000);
  results.streamBaseBackupSeconds = (Date.now() - t) / 1000;
  const load = spawn(`${BIN}/pgbench`, ['-n', '-c', '2', `--rate=${RATE}`, '-T', String(STREAM_RPO_MINUTES * 60)], {
    uid,
    gid,
    env,
    stdio: 'ignore',
  });
  const loadDone = new Promise((r) => load.once('exit', r));
  // Read the repository in this process: one repository open, then a snapshot listing per sample.
  const lib = await import(path.join(ROOT, 'dist/index.js'));
  const repo = await lib.openRepository(lib.openConfig(config), 'main', { cacheRoot: path.join(dir, 'bench-cache') });
  const samples = [];
  const listings = [];
  const loads = [];
  const end = Date.now() + STREAM_RPO_MINUTES * 60_000;
  await sleep(10_000); // the first shipping rounds under load
  try {
    while (Date.now() < end) {
      const began = Date.now();
      const catalog = await lib.pitr.loadCatalog(repo, 'db');
      listings.push((Date.now() - began) / 1000);
      let restorable = 0;
      for (const f of catalog.files.values())
        if (f.lastXactEnd) restorable = Math.max(restorable, Date.parse(f.lastXactEnd));
      // Read after the listing: the RPO is an upper bound that includes the listing's own time.
      const newest = Number(psql('SELECT extract(epoch FROM (pg_last_committed_xact()).timestamp) * 1000'));
      if (restorable) samples.push((newest - restorable) / 1000);
      if (samples.length % 30 === 1) loads.push(loadAverage());
      await sleep(1000);
    }
  } finally {
    await repo.close();
  }
  await loadDone;
  Object.assign(results, {
    mode: 'stream-rpo',
    scale: SCALE,
    rate: RATE,
    minutes: STREAM_RPO_MINUTES,
    samples: samples.length,
    rpoSecondsP50: round1(percentile(samples, 0.5)),
    rpoSecondsP95: round1(percentile(samples, 0.95)),
    rpoSecondsMax: round1(Math.max(...samples)),
    listingSecondsP50: round1(percentile(listings, 0.5)),
    loadAverages: loads,
  });
  console.log(JSON.stringify(results, null, 2));
}

/** Restore to a point in time of a pgbench scale-N database: write the data directory, then recover to the target. */
async function restoreAtScale() {
  // The WAL of the initial load is not needed (the base backup comes after it): archived nowhere, then the
  // server restarts with the real archive_command (a reload could still let the archiver use the old one).
  const settings = { archive_mode: 'on', wal_level: 'replica', max_wal_size: '4GB', checkpoint_timeout: '30min' };
  startServer({ ...settings, archive_command: '/bin/true' });
  let t = Date.now();
  sh(`${BIN}/pgbench`, ['-i', '-q', '-s', String(RESTORE_SCALE)]);
  results.initSeconds = (Date.now() - t) / 1000;
  results.databaseBytes = Number(psql("SELECT pg_database_size('postgres')"));
  await stopServer();
  startServer({
    ...settings,
    archive_command: `${process.execPath} ${CLI} --config ${config} --quiet wal-push --async --source db %p`,
  });
  const base = lb(['--json', 'base-backup', '--source', 'db']);
  const record = JSON.parse(base.out.split('\n').pop());
  results.baseBackupSeconds = base.seconds;
  results.baseTarBytes = record.tarBytes;
  results.loadAverageAfterBase = loadAverage();
  const startLsn = psql('SELECT pg_current_wal_lsn()');
  sh(`${BIN}/pgbench`, ['-n', '-c', '2', `--rate=${RATE}`, '-T', String(WAL_MINUTES * 60)]);
  results.walBytes = Number(psql(`SELECT pg_current_wal_lsn() - '${startLsn}'::pg_lsn`));
  await sleep(1_100);
  const target = psql("SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US+00')");
  await sleep(1_100);
  psql('CREATE TABLE bench_after_target ()');
  const last = psql('SELECT pg_walfile_name(pg_switch_wal())');
  while (psql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver") < last) await sleep(500);
  t = Date.now();
  lb(['--quiet', 'wal', 'drain', '--source', 'db']);
  results.drainSeconds = (Date.now() - t) / 1000;
  results.loadAverageBeforeRestore = loadAverage();
  const restore = lb([
    '--json',
    'restore',
    'latest',
    '--source',
    'db',
    '--target',
    path.join(dir, 'restored'),
    '--to-time',
    target,
    '--verify',
  ]);
  const summary = JSON.parse(restore.out.split('\n').pop());
  Object.assign(results, {
    mode: 'restore-scale',
    scale: RESTORE_SCALE,
    rate: RATE,
    walMinutes: WAL_MINUTES,
    walFiles: summary.walFiles,
    restoreSeconds: round1(restore.seconds),
    recoverySeconds: round1(summary.verified.durationMs / 1000),
    writeDataDirSeconds: round1(restore.seconds - summary.verified.durationMs / 1000),
    reached: summary.verified.reached,
    loadAverageAfterRestore: loadAverage(),
  });
  console.log(JSON.stringify(results, null, 2));
}
