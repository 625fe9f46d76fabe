#!/usr/bin/env node
/**
 * `npm run package:deb`: a Debian package of Lifeboat, built with dpkg-deb.
 *
 * The program is installed exactly as `npm install -g` installs the packed
 * tarball (production dependencies, native modules built for this machine's
 * Node.js), then laid out as:
 *   /usr/lib/lifeboat             the package (dist/, dist/web, native/build, node_modules)
 *   /usr/bin/lifeboat             a shell wrapper running it on /usr/bin/node
 *   /usr/bin/lifeboat-wal-spool   PostgreSQL's archive_command for async WAL archiving (sh)
 *   /lib/systemd/system/          lifeboat.service (serve), lifeboat-replicate@.service
 *   /etc/lifeboat/lifeboat.yaml   the commented config template (a conffile)
 *   /usr/share/lifeboat/          read-all-files.conf, the opt-in capability drop-in
 * and maintainer scripts from packaging/debian/ (the lifeboat system user, state
 * in /var/lib/lifeboat, purge). See docs/packaging.md.
 *
 * Options: --no-build (use the existing dist/), --out DIR (default ./packages), --shared-cache
 * (reuse this checkout's packed install of the same tree, see scripts/packed-install.mjs).
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { packedInstall, sharedCache } from './packed-install.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const outDir = path.resolve(args.includes('--out') ? args[args.indexOf('--out') + 1] : path.join(root, 'packages'));
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const run = (cmd, argv, opts = {}) => execFileSync(cmd, argv, { stdio: ['ignore', 'inherit', 'inherit'], ...opts });

if (!args.includes('--no-build')) run('npm', ['run', 'build', '--silent'], { cwd: root });
for (const needed of ['dist/cli/main.js', 'dist/web/index.html']) {
  if (!existsSync(path.join(root, needed)))
    throw new Error(`${needed} is missing: run \`npm run build\` (or drop --no-build)`);
}

const work = mkdtempSync(path.join(os.tmpdir(), 'lifeboat-deb-'));
let fresh;
try {
  // 1. The npm package, installed into a private prefix: the same tree `npm install -g` gives a user
  //    (with --shared-cache, the install the package tests already made of this very tree).
  const packed = packedInstall({ root, cache: args.includes('--shared-cache') ? sharedCache(root) : undefined });
  fresh = packed.dir;
  const { prefix } = packed;
  const installed = path.join(prefix, 'lib', 'node_modules', pkg.name);

  // 2. The file system of the package.
  const stage = path.join(work, 'stage');
  const lib = path.join(stage, 'usr/lib/lifeboat');
  mkdirSync(path.dirname(lib), { recursive: true });
  cpSync(installed, lib, { recursive: true, verbatimSymlinks: true });
  // Compiler intermediates of the native builds are not needed at run time.
  execFileSync('find', [
    lib,
    '-type',
    'd',
    '(',
    '-name',
    'obj.target',
    '-o',
    '-name',
    '.deps',
    ')',
    '-prune',
    '-exec',
    'rm',
    '-rf',
    '{}',
    '+',
  ]);

  const debian = path.join(root, 'packaging/debian');
  const put = (from, to, mode) => {
    mkdirSync(path.dirname(to), { recursive: true });
    copyFileSync(from, to);
    chmodSync(to, mode);
  };
  put(path.join(debian, 'lifeboat.sh'), path.join(stage, 'usr/bin/lifeboat'), 0o755);
  // PostgreSQL's fast archive_command, a POSIX sh script: no Node start per WAL segment.
  symlinkSync('../lib/lifeboat/bin/lifeboat-wal-spool', path.join(stage, 'usr/bin/lifeboat-wal-spool'));
  for (const unit of ['lifeboat.service', 'lifeboat-replicate@.service'])
    put(path.join(debian, unit), path.join(stage, 'lib/systemd/system', unit), 0o644);
  put(path.join(debian, 'read-all-files.conf'), path.join(stage, 'usr/share/lifeboat/read-all-files.conf'), 0o644);
  const { CONFIG_TEMPLATE } = await import(pathToFileURL(path.join(root, 'dist/config/template.js')).href);
  mkdirSync(path.join(stage, 'etc/lifeboat'), { recursive: true });
  writeFileSync(path.join(stage, 'etc/lifeboat/lifeboat.yaml'), CONFIG_TEMPLATE, { mode: 0o640 });

  // 3. Control files. Native modules (better-sqlite3 uses V8's own ABI) are built for this Node.js major.
  const control = path.join(stage, 'DEBIAN');
  mkdirSync(control);
  const major = Number(process.versions.node.split('.')[0]);
  const arch = execFileSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).trim();
  const installedSize = execFileSync('du', ['-sk', '--exclude=DEBIAN', stage], { encoding: 'utf8' }).split('\t')[0];
  writeFileSync(
    path.join(control, 'control'),
    `Package: lifeboat
Version: ${pkg.version}
Architecture: ${arch}
Maintainer: Lifeboat developers <lifeboat@localhost>
Installed-Size: ${installedSize}
Depends: nodejs (>= ${engineMinimum(pkg.engines.node)}), nodejs (<< ${major + 1}), adduser
Section: admin
Priority: optional
Homepage: https://www.npmjs.com/package/${pkg.name}
Description: encrypted, deduplicated backups that prove they restore
 ${pkg.description}
 .
 Runs as the lifeboat system user under systemd (lifeboat.service for the
 daemon and dashboard, lifeboat-replicate@.service for continuous replication).
`,
  );
  writeFileSync(path.join(control, 'conffiles'), '/etc/lifeboat/lifeboat.yaml\n');
  for (const script of ['postinst', 'prerm', 'postrm'])
    put(path.join(debian, script), path.join(control, script), 0o755);

  mkdirSync(outDir, { recursive: true });
  const deb = path.join(outDir, `lifeboat_${pkg.version}_${arch}.deb`);
  run('dpkg-deb', ['--root-owner-group', '-Zgzip', '--build', stage, deb], { stdio: ['ignore', 'ignore', 'inherit'] });
  process.stdout.write(`${deb}\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
  if (fresh) rmSync(fresh, { recursive: true, force: true });
}

function engineMinimum(range) {
  const m = /(\d+(?:\.\d+)*)/.exec(range ?? '');
  if (!m) throw new Error(`package.json engines.node "${range}" has no version`);
  return m[1];
}
