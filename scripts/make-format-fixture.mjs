#!/usr/bin/env node
// Writes a frozen format fixture: a small repository made by the built CLI
// (dist/) in the repository format version it writes today, under
// test/fixtures/format-v<N>/, with the expected content of every snapshot.
//
// Run it once per format version, when a new version is introduced:
//   npx tsc -p tsconfig.build.json && node scripts/make-format-fixture.mjs
// With --write-only it writes the fixture of format version 2 instead: the
// repository gets a write-only key, which makes both backups (version 2
// envelopes, presence sidecars), and the admin password and recovery key read it.
// It refuses to touch a fixture directory that exists: a committed fixture is
// never regenerated (test/format/frozen-fixture.test.ts reads every fixture,
// and checks that their files are byte for byte the committed ones).
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'dist/cli/main.js');
if (!existsSync(cli)) fail('dist/cli/main.js is missing: run `npx tsc -p tsconfig.build.json` first');
const writeOnly = process.argv.includes('--write-only');
const formats = await import(path.join(root, 'dist/repository/format/repo-config.js')).catch(() =>
  fail('cannot read the format versions from dist/repository/format/repo-config.js (moved? update this script)'),
);
const version = writeOnly ? formats.WRITE_ONLY_FORMAT_VERSION : formats.REPOSITORY_FORMAT_VERSION;
const fixture = path.join(root, 'test/fixtures', `format-v${version}`);
if (existsSync(fixture)) fail(`${path.relative(root, fixture)} exists: a committed fixture is never regenerated`);

/** Known test password: the fixture is public test data, not a secret. */
const PASSWORD = `lifeboat format v${version} test fixture`;
const HOST = 'fixture-host';

const work = mkdtempSync(path.join(os.tmpdir(), 'lifeboat-format-fixture-'));
const source = path.join(work, 'source');
const repo = path.join(work, 'repository');
const cache = path.join(work, 'cache');
const passwordFile = path.join(work, 'password.txt');
writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
/** The write-only key's password (format 2): it makes the backups, and is not needed to read them. */
const writeOnlyPasswordFile = path.join(work, 'write-only-password.txt');
writeFileSync(writeOnlyPasswordFile, `lifeboat format v${version} write-only key\n`, { mode: 0o600 });
const env = {
  ...process.env,
  LIFEBOAT_CACHE_DIR: cache,
  LIFEBOAT_PASSWORD_FILE: passwordFile,
  LIFEBOAT_STATE_DIR: path.join(work, 'state'),
};
for (const k of [
  'LIFEBOAT_PASSWORD',
  'LIFEBOAT_PASSWORD_COMMAND',
  'LIFEBOAT_KEY_FILE',
  'LIFEBOAT_REPOSITORY',
  'LIFEBOAT_CONFIG',
])
  delete env[k];

function fail(message) {
  console.error(`make-format-fixture: ${message}`);
  process.exit(1);
}

function lifeboat(...args) {
  return lifeboatWith({}, ...args);
}

function lifeboatWith(extra, ...args) {
  const r = spawnSync(process.execPath, [cli, ...args], { env: { ...env, ...extra }, encoding: 'utf8' });
  if (r.status !== 0) fail(`lifeboat ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** A seeded PRNG (mulberry32), so the tree is the same on every run. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomBytes(seed, n) {
  const next = prng(seed);
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(next() * 256);
  return b;
}

/** Several chunks at 1 KiB average: half random (stored raw), half text (stored zstd). */
function bigContent() {
  const text = Buffer.from(
    Array.from({ length: 400 }, (_, i) => `line ${i}: the quick brown fox jumps over the lazy dog\n`).join(''),
  );
  return Buffer.concat([randomBytes(1, 12_000), text, randomBytes(2, 4_000)]);
}

/** A file whose header says SQLite with 4 KiB pages: cut at fixed 8 KiB offsets (docs/repository-format.md §5). */
function sqliteLike() {
  const header = Buffer.alloc(100);
  header.write('SQLite format 3\0', 0, 'latin1');
  header.writeUInt16BE(4096, 16);
  return Buffer.concat([header, randomBytes(3, 20_000 - 100)]);
}

/** Times are set with `touch` (utimensat), which keeps nanoseconds. */
function setTime(p, seconds) {
  execFileSync('touch', ['-h', '-d', `@${seconds}.123456789`, p]);
}

const T0 = 1_700_000_000;

function writeFile(rel, content, mode, t) {
  const p = path.join(source, rel);
  writeFileSync(p, content);
  chmodSync(p, mode);
  setTime(p, t);
}

function makeDir(rel, mode) {
  mkdirSync(path.join(source, rel));
  chmodSync(path.join(source, rel), mode);
}

/** Directory times last, deepest first (writing into a directory changes its mtime). */
function settleDirectories() {
  const dirs = [];
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(d, e.name));
    dirs.push(d);
  };
  walk(source);
  dirs.forEach((d, i) => setTime(d, T0 + 1000 + i));
}

function firstTree() {
  mkdirSync(source, { mode: 0o755 });
  chmodSync(source, 0o755);
  writeFile('README.txt', 'A small tree written into the format fixture.\n', 0o644, T0 + 1);
  writeFile('big.bin', bigContent(), 0o644, T0 + 2);
  writeFile('empty', '', 0o600, T0 + 3);
  writeFile('tool', '#!/bin/sh\necho tool\n', 0o4755, T0 + 4);
  writeFile('readonly.txt', 'read only\n', 0o444, T0 + 5);
  writeFile('db.sqlite', sqliteLike(), 0o640, T0 + 6);
  makeDir('private', 0o700);
  writeFile('private/secret.txt', 'not a real secret\n', 0o600, T0 + 7);
  makeDir('shared', 0o1777);
  writeFile('shared/note', 'sticky directory\n', 0o664, T0 + 8);
  makeDir('empty-dir', 0o750);
  makeDir('names', 0o755);
  writeFile('names/café ü 日本.txt', 'a UTF-8 name\n', 0o644, T0 + 9);
  writeFile('names/line\nbreak', 'a name with a newline\n', 0o644, T0 + 10);
  writeFile('names/ leading space', 'a name starting with a space\n', 0o644, T0 + 11);
  makeDir('sub', 0o755);
  writeFile('hard-a', 'one file, two names\n', 0o640, T0 + 12);
  linkSync(path.join(source, 'hard-a'), path.join(source, 'sub/hard-b'));
  symlinkSync('README.txt', path.join(source, 'link'));
  setTime(path.join(source, 'link'), T0 + 13);
  symlinkSync('../does/not/exist', path.join(source, 'sub/dangling'));
  setTime(path.join(source, 'sub/dangling'), T0 + 14);
  settleDirectories();
}

/** The changes between the two snapshots, and what `diff --metadata` must say about them. */
function secondTree() {
  const big = bigContent();
  big.write('CHANGED IN THE SECOND SNAPSHOT', 6_000, 'latin1');
  writeFile('big.bin', big, 0o644, T0 + 20);
  unlinkSync(path.join(source, 'readonly.txt'));
  writeFile('added.txt', 'new in the second snapshot\n', 0o644, T0 + 21);
  chmodSync(path.join(source, 'tool'), 0o755);
  unlinkSync(path.join(source, 'link'));
  symlinkSync('big.bin', path.join(source, 'link'));
  setTime(path.join(source, 'link'), T0 + 13);
  makeDir('newdir', 0o755);
  writeFile('newdir/inner.txt', 'inside a new directory\n', 0o644, T0 + 22);
  settleDirectories();
  return [
    { path: 'added.txt', change: 'added' },
    { path: 'big.bin', change: 'modified' },
    { path: 'link', change: 'modified' },
    { path: 'newdir', change: 'added' },
    { path: 'newdir/inner.txt', change: 'added' },
    { path: 'readonly.txt', change: 'removed' },
    { path: 'tool', change: 'modified' }, // a mode change is a change of the file (diff.ts)
  ];
}

/** What the tree holds, as the restore must give it back: one entry per path, sorted. */
function manifestOf(dir) {
  const entries = [];
  const inodes = new Map();
  const walk = (rel) => {
    const p = rel === '' ? dir : path.join(dir, rel);
    const st = lstatSync(p, { bigint: true });
    const entry = { path: rel, mode: (st.mode & 0o7777n).toString(8).padStart(4, '0'), mtimeNs: st.mtimeNs.toString() };
    if (st.isDirectory()) {
      entries.push({ ...entry, type: 'dir' });
      for (const name of readdirSync(p).sort()) walk(rel === '' ? name : `${rel}/${name}`);
    } else if (st.isSymbolicLink()) {
      entries.push({ path: rel, type: 'symlink', target: readlinkSync(p), mtimeNs: entry.mtimeNs });
    } else if (st.isFile()) {
      const content = readFileSync(p);
      const file = {
        ...entry,
        type: 'file',
        size: content.length,
        sha256: createHash('sha256').update(content).digest('hex'),
      };
      if (st.nlink > 1n) {
        const first = inodes.get(st.ino);
        if (first === undefined) inodes.set(st.ino, rel);
        else file.sameFileAs = first;
      }
      entries.push(file);
    } else fail(`unexpected entry ${p}`);
  };
  walk('');
  return entries;
}

try {
  firstTree();
  lifeboat('init', '--repo', repo, '--chunk-size', '1KiB');
  const backupKey = writeOnly ? { LIFEBOAT_PASSWORD_FILE: writeOnlyPasswordFile } : {};
  if (writeOnly)
    lifeboatWith(
      { LIFEBOAT_NEW_PASSWORD_FILE: writeOnlyPasswordFile },
      'key',
      'add',
      '--repo',
      repo,
      '--role',
      'write-only',
    );
  const manifest1 = manifestOf(source);
  const first = JSON.parse(
    lifeboatWith(
      backupKey,
      'backup',
      '--repo',
      repo,
      '--json',
      '--host',
      HOST,
      '--tag',
      'first',
      '--reason',
      'frozen fixture, first snapshot',
      source,
    )
      .trim()
      .split('\n')
      .pop(),
  ).snapshot?.id;
  const changes = secondTree();
  const manifest2 = manifestOf(source);
  const second = JSON.parse(
    lifeboatWith(
      backupKey,
      'backup',
      '--repo',
      repo,
      '--json',
      '--host',
      HOST,
      '--tag',
      'second',
      '--reason',
      'frozen fixture, second snapshot',
      source,
    )
      .trim()
      .split('\n')
      .pop(),
  ).snapshot?.id;
  if (!first || !second) fail('a backup did not report its snapshot id');
  lifeboat('key', 'export', '--repo', repo, '--out', path.join(work, 'recovery-key.txt'));

  mkdirSync(fixture, { recursive: true });
  execFileSync('cp', ['-a', repo, path.join(fixture, 'repository')]);
  rmSync(path.join(fixture, 'repository', 'locks'), { recursive: true, force: true });
  writeFileSync(path.join(fixture, 'password.txt'), `${PASSWORD}\n`);
  writeFileSync(path.join(fixture, 'recovery-key.txt'), readFileSync(path.join(work, 'recovery-key.txt')));
  const expected = {
    formatVersion: version,
    writtenBy: `lifeboat ${JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).version}`,
    host: HOST,
    sourcePath: source,
    snapshots: [
      { id: first, tags: ['first'], entries: manifest1 },
      { id: second, parent: first, tags: ['second'], entries: manifest2 },
    ],
    diff: changes,
  };
  writeFileSync(path.join(fixture, 'expected.json'), `${JSON.stringify(expected, null, 2)}\n`);
  // Pins every file but itself and the README (which may be reworded), as `sha256sum -c` reads it.
  const files = [];
  const walk = (rel) => {
    for (const e of readdirSync(path.join(fixture, rel), { withFileTypes: true })) {
      const p = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) walk(p);
      else files.push(p);
    }
  };
  walk('');
  const sums = files
    .sort()
    .map(
      (f) =>
        `${createHash('sha256')
          .update(readFileSync(path.join(fixture, f)))
          .digest('hex')}  ${f}\n`,
    )
    .join('');
  writeFileSync(path.join(fixture, 'FILES.sha256'), sums);
  console.log(`wrote ${path.relative(root, fixture)}: snapshots ${first.slice(0, 8)} and ${second.slice(0, 8)}`);
  console.log('now write its README.md (see the format-v1 fixture) and commit the directory');
} finally {
  rmSync(work, { recursive: true, force: true });
}
