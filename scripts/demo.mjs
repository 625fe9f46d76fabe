#!/usr/bin/env node
// `npm run demo`: the main job on an embedded sample. Creates a small app
// directory (SQLite database, YAML configs, certificates, secrets), backs it up
// into a new encrypted local repository, changes a little, backs up again,
// checks every byte, restores into a new folder and proves it identical.
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { spawn } from 'node:child_process';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const base = path.resolve(process.env.LIFEBOAT_DEMO_DIR ?? path.join(root, 'demo-data'));
const app = path.join(base, 'app');
const repo = path.join(base, 'repository');
const restored = path.join(base, 'restored');
const passFile = path.join(base, 'repository.pass');
const cli = path.join(root, 'dist', 'cli', 'main.js');
const env = { ...process.env, LIFEBOAT_PASSWORD_FILE: passFile, LIFEBOAT_CACHE_DIR: path.join(base, 'cache') };
delete env.LIFEBOAT_PASSWORD;
delete env.LIFEBOAT_PASSWORD_COMMAND;
delete env.LIFEBOAT_KEY_FILE;
const steps = [];

function heading(text) {
  console.log(`\n\x1b[1m== ${text}\x1b[0m`);
}

function lifeboat(args, { json = false, allowFail = false, async = false } = {}) {
  const shown = ['lifeboat', ...args].map((a) => (a.includes(' ') ? JSON.stringify(a) : a)).join(' ');
  console.log(`$ ${shown}`);
  const started = Date.now();
  const argv = [cli, ...(json ? ['--json'] : []), ...args];
  if (async) return runAsync(argv).then((r) => finish(r, shown, started, json, allowFail));
  return finish(spawnSync(process.execPath, argv, { env, encoding: 'utf8' }), shown, started, json, allowFail);
}

/** A free TCP port on loopback. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** `lifeboat serve-repository` on loopback, storing in demo-data/vault-server/repo; resolves once it listens. */
async function startVault(port, stateDir) {
  const args = ['--json', 'serve-repository', '--root', path.join(base, 'vault-server', 'repo')];
  args.push('--listen', `127.0.0.1:${port}`, '--state-dir', stateDir);
  console.log(`$ lifeboat ${args.slice(1).join(' ')} &`);
  const child = spawn(process.execPath, [cli, ...args], { env });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
  child.stderr.resume();
  for (let i = 0; i < 300 && !out.includes('"listening"'); i++) await new Promise((r) => setTimeout(r, 100));
  if (!out.includes('"listening"')) problems.push(`repository server: not listening: ${out}`);
  else console.log(out.trim());
  return child;
}

/** Like spawnSync, but lets this process keep running (the demo's application writer) meanwhile. */
function runAsync(argv) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, argv, { env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** An application process that keeps adding rows to its SQLite database until stopped. */
function startAppWriter(file) {
  const script = `
    const Database = require(${JSON.stringify(path.join(root, 'node_modules', 'better-sqlite3'))});
    const db = new Database(${JSON.stringify(file)}, { timeout: 10000 });
    const add = db.prepare("INSERT INTO events (device_id, kind, payload, created_at) VALUES (1, 'reading', '{}', ?)");
    let n = 0, stop = false;
    process.on('SIGTERM', () => { stop = true; });
    console.log('ready');
    (function tick() {
      if (stop) { db.close(); console.log('wrote ' + n); process.exit(0); }
      for (let i = 0; i < 5; i++) { add.run(new Date().toISOString()); n++; }
      setTimeout(tick, 10);
    })();`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const ready = new Promise((resolve) =>
    child.stdout.setEncoding('utf8').on('data', (d) => {
      out += d;
      if (out.includes('ready')) resolve();
    }),
  );
  return {
    ready,
    stop: () =>
      new Promise((resolve) => {
        child.on('exit', () => resolve(Number(/wrote (\d+)/.exec(out)?.[1] ?? 0)));
        child.kill('SIGTERM');
      }),
  };
}

function finish(r, shown, started, json, allowFail) {
  const ms = Date.now() - started;
  if (!json && r.stdout) process.stdout.write(r.stdout);
  if (r.stderr) process.stderr.write(r.stderr);
  steps.push({ command: shown, exit: r.status, ms });
  if (r.status !== 0 && !allowFail) {
    console.error(`demo: "${shown}" failed with exit code ${r.status}`);
    process.exit(1);
  }
  return json
    ? r.stdout
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l))
        .pop()
    : r.stdout;
}

function makeSampleApp() {
  rmSync(base, { recursive: true, force: true });
  mkdirSync(path.join(app, 'data'), { recursive: true });
  mkdirSync(path.join(app, 'config'), { recursive: true });
  mkdirSync(path.join(app, 'certs'), { recursive: true });
  mkdirSync(path.join(app, 'secrets'), { recursive: true, mode: 0o700 });
  const db = new Database(path.join(app, 'data', 'app.db'));
  db.pragma('journal_mode = WAL');
  db.exec(`CREATE TABLE devices (id INTEGER PRIMARY KEY, name TEXT NOT NULL, room TEXT, created_at TEXT NOT NULL);
           CREATE TABLE events (id INTEGER PRIMARY KEY, device_id INTEGER REFERENCES devices(id), kind TEXT, payload TEXT, created_at TEXT NOT NULL);`);
  const addDevice = db.prepare('INSERT INTO devices (name, room, created_at) VALUES (?, ?, ?)');
  const addEvent = db.prepare('INSERT INTO events (device_id, kind, payload, created_at) VALUES (?, ?, ?, ?)');
  db.transaction(() => {
    for (let i = 1; i <= 200; i++)
      addDevice.run(`sensor-${i}`, `room-${i % 12}`, new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString());
    for (let i = 1; i <= 20000; i++)
      addEvent.run(
        (i % 200) + 1,
        i % 7 ? 'reading' : 'alarm',
        JSON.stringify({ value: (i * 37) % 1000, unit: 'C' }),
        new Date(Date.UTC(2026, 0, 1) + i * 60000).toISOString(),
      );
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  writeFileSync(
    path.join(app, 'config', 'app.yaml'),
    'server:\n  listen: 0.0.0.0:8080\n  workers: 4\ndatabase:\n  path: /var/lib/app/app.db\nlog_level: info\n',
  );
  writeFileSync(path.join(app, 'config', 'features.yaml'), 'features:\n  scenes: true\n  remote_access: false\n');
  writeFileSync(
    path.join(app, 'certs', 'server.crt'),
    `-----BEGIN CERTIFICATE-----\n${randomBytes(900).toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`,
  );
  writeFileSync(
    path.join(app, 'certs', 'server.key'),
    `-----BEGIN PRIVATE KEY-----\n${randomBytes(1200).toString('base64').replace(/.{64}/g, '$&\n')}\n-----END PRIVATE KEY-----\n`,
    { mode: 0o600 },
  );
  writeFileSync(
    path.join(app, 'secrets', '.env.production'),
    `API_TOKEN=${randomBytes(24).toString('hex')}\nDB_PASSWORD=${randomBytes(16).toString('hex')}\n`,
    { mode: 0o600 },
  );
  writeFileSync(passFile, `${randomBytes(24).toString('base64url')}\n`, { mode: 0o600 });
  chmodSync(passFile, 0o600);
}

function changeALittle() {
  const db = new Database(path.join(app, 'data', 'app.db'));
  const add = db.prepare('INSERT INTO events (device_id, kind, payload, created_at) VALUES (?, ?, ?, ?)');
  db.transaction(() => {
    for (let i = 0; i < 250; i++)
      add.run((i % 200) + 1, 'reading', JSON.stringify({ value: i, unit: 'C' }), new Date().toISOString());
  })();
  db.prepare("UPDATE devices SET room = 'lab' WHERE id <= 5").run();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  writeFileSync(
    path.join(app, 'config', 'app.yaml'),
    readFileSync(path.join(app, 'config', 'app.yaml'), 'utf8').replace('workers: 4', 'workers: 8'),
  );
  writeFileSync(path.join(app, 'config', 'alerts.yaml'), 'alerts:\n  disk_free_pct: 10\n');
}

/** Every file, directory and symlink under dir → { type, mode, size, sha256 | target }. */
function fingerprint(dir) {
  const out = new Map();
  const walk = (abs, rel) => {
    for (const name of readdirSync(abs).sort()) {
      const p = path.join(abs, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(p);
      if (st.isDirectory()) {
        out.set(r, { type: 'dir', mode: st.mode & 0o7777 });
        walk(p, r);
      } else if (st.isSymbolicLink()) out.set(r, { type: 'symlink', target: readlinkSync(p) });
      else
        out.set(r, {
          type: 'file',
          mode: st.mode & 0o7777,
          size: st.size,
          mtime: Math.floor(st.mtimeMs),
          sha256: createHash('sha256').update(readFileSync(p)).digest('hex'),
        });
    }
  };
  walk(dir, '');
  return out;
}

console.log('Lifeboat demo: back up a sample app, check it, restore it, prove it identical.');
console.log(`working directory: ${base}`);
makeSampleApp();

heading('1. create an encrypted repository (password in a 0600 file, never on the command line)');
lifeboat(['init', '--repo', repo]);

heading('2. first backup');
const first = lifeboat(['backup', '--repo', repo, '--tag', 'demo', '--reason', 'first backup', app], { json: true });
console.log(
  `snapshot ${first.snapshot.id.slice(0, 8)}: ${first.summary.files} files, ${first.summary.bytes} bytes, ${first.summary.addedStoredBytes} bytes stored`,
);

heading('3. the app changes a little (250 new rows, an edited config, a new file), second backup');
changeALittle();
const second = lifeboat(['backup', '--repo', repo, '--tag', 'demo', '--reason', 'after changes', app], { json: true });
console.log(
  `snapshot ${second.snapshot.id.slice(0, 8)}: ${second.summary.filesRead} of ${second.summary.files} files read again, ${second.summary.addedBytes} new bytes, ${second.summary.addedStoredBytes} bytes stored`,
);

heading('4. what the repository holds');
lifeboat(['snapshots', '--repo', repo]);
lifeboat(['diff', '--repo', repo, first.snapshot.id.slice(0, 8), second.snapshot.id.slice(0, 8)]);

heading('5. check every byte: decrypt and authenticate all data');
lifeboat(['check', '--repo', repo, '--read-data']);

heading('6. restore the latest snapshot into a new folder');
rmSync(restored, { recursive: true, force: true });
lifeboat(['restore', 'latest', '--repo', repo, '--target', restored]);

heading('7. compare the restore with the app directory');
const want = fingerprint(app);
const got = fingerprint(path.join(restored, ...app.split(path.sep).filter(Boolean)));
const problems = [];
for (const [p, w] of want) {
  const g = got.get(p);
  if (!g) problems.push(`missing: ${p}`);
  else if (JSON.stringify(g) !== JSON.stringify(w)) problems.push(`differs: ${p}`);
}
for (const p of got.keys()) if (!want.has(p)) problems.push(`extra: ${p}`);
const files = [...want.values()].filter((e) => e.type === 'file');
console.log(
  `${want.size} entries compared (${files.length} files, ${files.reduce((n, f) => n + f.size, 0)} bytes): content (SHA-256), size, mode and mtime`,
);

heading('8. the same app as configured sources: a generated lifeboat.yaml');
// The offline key for sealed secrets. In production it lives off the server; only its public recipient is in the config.
const identity = await generateIdentity();
const identityFile = path.join(base, 'offline-identity.txt');
writeFileSync(identityFile, `# keep this file offline: it opens the sealed secrets\n${identity}\n`, { mode: 0o600 });
// The third copy goes to a repository server (on another machine in real life, here on loopback). This
// host holds an append token: the server refuses every delete and overwrite it asks for.
const vaultPort = await freePort();
const vaultState = path.join(base, 'vault-server', 'state');
const vaultToken = lifeboat(
  ['serve-repository', 'token', 'add', '--name', 'demo-host', '--role', 'append', '--state-dir', vaultState],
  { json: true },
);
writeFileSync(path.join(base, 'vault.token'), `${vaultToken.token}\n`, { mode: 0o600 });
const configFile = path.join(base, 'lifeboat.yaml');
writeFileSync(
  configFile,
  `# generated by npm run demo
version: 1
state_dir: ./state
repositories:
  local: { url: ./repository, password_file: repository.pass, media: disk, location: onsite, retention: { keep_daily: 7 } }
  # A USB drive taken offsite; a real one also sets require_mount: true so nothing is written while it is unplugged.
  usb:   { url: ./usb-drive/lifeboat, password_file: repository.pass, media: usb, location: offsite, retention: { keep_last: 30 } }
  # A repository server; this host's token may add backups, never delete or overwrite them (immutable for this host).
  vault: { url: lifeboat+http://127.0.0.1:${vaultPort}/repo, token_file: vault.token, password_file: repository.pass, media: nas, location: offsite }
sources:
  app-db:      { type: sqlite, path: app/data/app.db, rpo: 24h, rto: 1h, smoke: 'test -s "$LIFEBOAT_DRILL_FILE"' }
  app-config:  { type: files, paths: [app/config, app/certs], exclude: ["*.key"] }
  app-secrets: { type: files, paths: [app/secrets, "app/certs/*.key"], seal_to: [${await identityToRecipient(identity)}] }
jobs:
  nightly: { schedule: "0 3 * * *", sources: [app-db, app-config, app-secrets], to: local, then: [forget, check] }
  weekly:  { schedule: "0 4 * * 0", sources: all, to: local, copy_to: [usb, vault] }
`,
);
console.log(readFileSync(configFile, 'utf8'));
const withConfig = (args) => ['--config', configFile, '--repo', 'local', ...args];
lifeboat(withConfig(['config', 'validate']));

heading('9. back up every source while the application keeps writing to its database');
const writer = startAppWriter(path.join(app, 'data', 'app.db'));
await writer.ready;
const sources = await lifeboat(withConfig(['backup', '--source', 'all', '--tag', 'demo']), { json: true, async: true });
const written = await writer.stop();
for (const s of sources.sources)
  console.log(
    `  ${s.ok ? 'ok  ' : 'FAIL'} ${s.source.padEnd(12)} ${s.type.padEnd(6)} snapshot ${s.snapshot?.id.slice(0, 8) ?? '-'}${s.record?.tables ? `  tables ${JSON.stringify(s.record.tables)}  integrity ${s.record.integrity}` : ''}${s.record?.sealed ? `  ${s.record.files} file(s) sealed with age` : ''}`,
  );
console.log(
  `the application wrote ${written} rows during the backup; the stored copy is consistent as of one moment and passed integrity_check`,
);

heading(
  '10. restore the database to a new file (checks against what was recorded), and the sealed secrets with the offline key',
);
const restoredDb = path.join(base, 'restored-app.db');
lifeboat(withConfig(['restore', 'latest', '--source', 'app-db', '--to-file', restoredDb]));
const secretsOut = path.join(base, 'restored-secrets');
lifeboat(
  withConfig(['restore', 'latest', '--source', 'app-secrets', '--target', secretsOut, '--identity', identityFile]),
);
const secretFile = path.join('secrets', '.env.production');
if (
  readFileSync(path.join(secretsOut, ...app.split(path.sep).filter(Boolean), secretFile), 'utf8') !==
  readFileSync(path.join(app, secretFile), 'utf8')
)
  problems.push('sealed secrets: restored content differs');
else console.log('sealed secrets restored with the offline identity and identical to the originals');

heading(
  '11. restore drill: the database restored into a scratch directory, checked, smoke-tested, RTO and RPO measured',
);
const reportDir = path.join(base, 'drill-reports');
const drill = lifeboat(withConfig(['drill', '--source', 'app-db', '--report', reportDir]), {
  json: true,
  allowFail: true,
});
const drilled = drill.reports?.[0];
if (drill.verdict !== 'PASS') problems.push(`drill: ${drilled?.reasons?.join('; ') ?? 'no report'}`);
const drillReport = drilled?.files ? JSON.parse(readFileSync(drilled.files.json, 'utf8')) : undefined;
if (drillReport) {
  console.log(
    `drill ${drillReport.verdict}: ${drillReport.checks.map((c) => `${c.name} ${c.ok ? 'ok' : 'FAIL'}`).join(', ')}; smoke exit ${drillReport.smoke?.exitCode}`,
  );
  console.log(
    `RTO ${drillReport.rto.measuredSeconds.toFixed(2)} s (target ${drillReport.rto.targetSeconds} s), RPO ${Math.round(drillReport.rpo.measuredSeconds)} s (target ${drillReport.rpo.targetSeconds} s)`,
  );
  console.log(`report: ${drilled.files.html}`);
}
lifeboat(withConfig(['drill', '--list']));
// Sealed sources: without the offline identity a drill proves the sealed streams are whole (hashes); with --identity it unseals and counts.
lifeboat(withConfig(['drill', '--source', 'app-secrets']));

heading('12. 3-2-1-1-0: a copy on the USB drive and one on a repository server that refuses deletes, each drilled');
lifeboat(['--config', configFile, '--repo', 'usb', 'init']);
lifeboat(withConfig(['copy', '--to', 'usb']));
const vault = await startVault(vaultPort, vaultState);
lifeboat(['--config', configFile, '--repo', 'vault', 'init']);
lifeboat(withConfig(['copy', '--to', 'vault']));
// "0 errors": every copy of every source is restored and checked, not only the first one.
for (const copy of ['usb', 'vault'])
  for (const source of ['app-db', 'app-config', 'app-secrets'])
    lifeboat(['--config', configFile, '--repo', copy, '--quiet', 'drill', '--source', source]);

heading('13. retention: what `forget` would keep and remove, and why (dry run)');
lifeboat(withConfig(['forget', '--dry-run', '--keep-last', '1']));

heading('14. compliance: 3-2-1-1-0 (copies, media, offsite, immutable, 0 errors), encryption, retention, drills');
lifeboat(withConfig(['drill', '--source', 'app-config']), { allowFail: true });
const compliance = lifeboat(withConfig(['compliance']), { allowFail: true });
if (!/^COMPLIANT/m.test(compliance)) problems.push('compliance: not compliant');

heading(
  '15. handover: the doomsday pack (runbook, inventory, restore commands, key fingerprints), with no secret in it',
);
{
  const pack = path.join(base, 'handover');
  lifeboat(['--config', configFile, 'handover', '--out', pack]);
  const password = readFileSync(passFile, 'utf8').trim();
  const files = readdirSync(pack);
  if (!files.includes('RUNBOOK.html') || !files.includes('SHA256SUMS'))
    problems.push(`handover: incomplete pack (${files.join(', ')})`);
  if (files.some((f) => readFileSync(path.join(pack, f), 'utf8').includes(password)))
    problems.push('handover: the repository password is in the pack');
  console.log(`pack: ${pack}/RUNBOOK.html`);
}

heading(
  '16. the daemon: `lifeboat serve` on a free loopback port, a job run through the API, the status document and metrics, then SIGTERM',
);
{
  console.log(`$ lifeboat --config ${configFile} serve --listen 127.0.0.1:0`);
  const started = Date.now();
  const daemon = spawn(process.execPath, [cli, '--config', configFile, 'serve', '--listen', '127.0.0.1:0'], { env });
  let log = '';
  daemon.stderr.setEncoding('utf8').on('data', (d) => (log += d));
  const exited = new Promise((resolve) => daemon.on('exit', (code, signal) => resolve(code ?? signal)));
  const url = await new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), 20_000);
    daemon.stderr.on('data', () => {
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
  });
  if (!url) problems.push(`serve: no listening line: ${log}`);
  else {
    const token = readFileSync(path.join(base, 'state', 'api.token'), 'utf8').trim();
    const get = (p, method = 'GET') => fetch(`${url}${p}`, { method, headers: { authorization: `Bearer ${token}` } });
    console.log(`listening on ${url}; API token generated in ${path.join(base, 'state', 'api.token')} (mode 0600)`);
    const { run_id } = await (await get('/api/v1/jobs/nightly/run', 'POST')).json();
    let run;
    for (let i = 0; i < 600 && (!run || run.outcome === 'running'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      run = (await (await get('/api/v1/jobs/nightly/runs')).json()).runs.find((r) => r.id === run_id);
    }
    console.log(
      `POST ${url}/api/v1/jobs/nightly/run → run ${run_id}: ${run?.outcome} (${run?.steps.map((s) => `${s.step}${s.source ? ` ${s.source}` : ''} ${s.outcome}`).join(', ')})`,
    );
    if (run?.outcome !== 'ok') problems.push(`serve: the nightly run through the API ended ${run?.outcome}`);
    console.log(`GET ${url}/api/v1/system/backup/status:`);
    const status = await (await get('/api/v1/system/backup/status')).json();
    const short = {
      last_backup: status.last_backup,
      last_verification: status.last_verification,
      next_backup: status.next_backup,
      sources: status.sources,
      alerts: status.alerts.map((a) => `${a.rule}: ${a.message}`),
    };
    console.log(JSON.stringify(short, null, 2));
    const metrics = (await (await get('/metrics')).text())
      .split('\n')
      .filter((l) =>
        /^lifeboat_(backup_last_success_timestamp_seconds|backup_size_bytes|repository_size_bytes|compliance_ok|drill_rto_seconds)\{/.test(
          l,
        ),
      );
    console.log(`GET ${url}/metrics (${Math.min(8, metrics.length)} of ${metrics.length} selected lifeboat_* lines):`);
    for (const l of metrics.slice(0, 8)) console.log(`  ${l}`);
    if (!status.last_backup || metrics.length === 0)
      problems.push('serve: the status document or the metrics are empty');
  }
  daemon.kill('SIGTERM');
  const code = await exited;
  console.log(`SIGTERM: serve exited ${code}`);
  steps.push({ command: 'lifeboat serve (status, metrics, SIGTERM)', exit: code, ms: Date.now() - started });
  if (code !== 0) problems.push(`serve: exit ${code} after SIGTERM\n${log}`);
}

vault.kill('SIGTERM');
await new Promise((r) => (vault.exitCode !== null ? r() : vault.once('exit', r)));

heading('report');
for (const s of steps) console.log(`  ${s.exit === 0 ? 'ok  ' : 'FAIL'} ${String(s.ms).padStart(6)} ms  ${s.command}`);
if (problems.length) {
  console.log(`\nRESULT: FAIL — the restore differs from the source:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log('\nRESULT: PASS — the restored app is byte-identical to the source (every file hash, mode and mtime).');
console.log(`repository: ${repo}\nrestored copy: ${restored}`);
