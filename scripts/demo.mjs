#!/usr/bin/env node
// `npm run demo`: the main job on an embedded sample. Creates a small app
// directory (SQLite database, YAML configs, certificates, secrets), backs it up
// into a new encrypted local repository, changes a little, backs up again,
// checks every byte, restores into a new folder and proves it identical.
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

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

function lifeboat(args, { json = false, allowFail = false } = {}) {
  const shown = ['lifeboat', ...args].map((a) => (a.includes(' ') ? JSON.stringify(a) : a)).join(' ');
  console.log(`$ ${shown}`);
  const started = Date.now();
  const r = spawnSync(process.execPath, [cli, ...(json ? ['--json'] : []), ...args], { env, encoding: 'utf8' });
  const ms = Date.now() - started;
  if (!json && r.stdout) process.stdout.write(r.stdout);
  if (r.stderr) process.stderr.write(r.stderr);
  steps.push({ command: shown, exit: r.status, ms });
  if (r.status !== 0 && !allowFail) {
    console.error(`demo: "${shown}" failed with exit code ${r.status}`);
    process.exit(1);
  }
  return json ? r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)).pop() : r.stdout;
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
    for (let i = 1; i <= 200; i++) addDevice.run(`sensor-${i}`, `room-${i % 12}`, new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString());
    for (let i = 1; i <= 20000; i++) addEvent.run((i % 200) + 1, i % 7 ? 'reading' : 'alarm', JSON.stringify({ value: (i * 37) % 1000, unit: 'C' }), new Date(Date.UTC(2026, 0, 1) + i * 60000).toISOString());
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  writeFileSync(path.join(app, 'config', 'app.yaml'), 'server:\n  listen: 0.0.0.0:8080\n  workers: 4\ndatabase:\n  path: /var/lib/app/app.db\nlog_level: info\n');
  writeFileSync(path.join(app, 'config', 'features.yaml'), 'features:\n  scenes: true\n  remote_access: false\n');
  writeFileSync(path.join(app, 'certs', 'server.crt'), `-----BEGIN CERTIFICATE-----\n${randomBytes(900).toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`);
  writeFileSync(path.join(app, 'certs', 'server.key'), `-----BEGIN PRIVATE KEY-----\n${randomBytes(1200).toString('base64').replace(/.{64}/g, '$&\n')}\n-----END PRIVATE KEY-----\n`, { mode: 0o600 });
  writeFileSync(path.join(app, 'secrets', '.env.production'), `API_TOKEN=${randomBytes(24).toString('hex')}\nDB_PASSWORD=${randomBytes(16).toString('hex')}\n`, { mode: 0o600 });
  writeFileSync(passFile, `${randomBytes(24).toString('base64url')}\n`, { mode: 0o600 });
  chmodSync(passFile, 0o600);
}

function changeALittle() {
  const db = new Database(path.join(app, 'data', 'app.db'));
  const add = db.prepare('INSERT INTO events (device_id, kind, payload, created_at) VALUES (?, ?, ?, ?)');
  db.transaction(() => {
    for (let i = 0; i < 250; i++) add.run((i % 200) + 1, 'reading', JSON.stringify({ value: i, unit: 'C' }), new Date().toISOString());
  })();
  db.prepare("UPDATE devices SET room = 'lab' WHERE id <= 5").run();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  writeFileSync(path.join(app, 'config', 'app.yaml'), readFileSync(path.join(app, 'config', 'app.yaml'), 'utf8').replace('workers: 4', 'workers: 8'));
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
      else out.set(r, { type: 'file', mode: st.mode & 0o7777, size: st.size, mtime: Math.floor(st.mtimeMs), sha256: createHash('sha256').update(readFileSync(p)).digest('hex') });
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
console.log(`snapshot ${first.snapshot.id.slice(0, 8)}: ${first.summary.files} files, ${first.summary.bytes} bytes, ${first.summary.addedStoredBytes} bytes stored`);

heading('3. the app changes a little (250 new rows, an edited config, a new file), second backup');
changeALittle();
const second = lifeboat(['backup', '--repo', repo, '--tag', 'demo', '--reason', 'after changes', app], { json: true });
console.log(`snapshot ${second.snapshot.id.slice(0, 8)}: ${second.summary.filesRead} of ${second.summary.files} files read again, ${second.summary.addedBytes} new bytes, ${second.summary.addedStoredBytes} bytes stored`);

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
console.log(`${want.size} entries compared (${files.length} files, ${files.reduce((n, f) => n + f.size, 0)} bytes): content (SHA-256), size, mode and mtime`);

heading('report');
for (const s of steps) console.log(`  ${s.exit === 0 ? 'ok  ' : 'FAIL'} ${String(s.ms).padStart(6)} ms  ${s.command}`);
if (problems.length) {
  console.log(`\nRESULT: FAIL — the restore differs from the source:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log('\nRESULT: PASS — the restored app is byte-identical to the source (every file hash, mode and mtime).');
console.log(`repository: ${repo}\nrestored copy: ${restored}`);
