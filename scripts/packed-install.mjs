#!/usr/bin/env node
/**
 * The npm package of this tree, packed (`npm pack`) and installed into a
 * private prefix as `npm install -g` installs it for a user. Installing
 * compiles the native modules and takes minutes, so with `--cache DIR` the
 * result is kept under DIR, keyed by the SHA-256 of the packed tarball (the
 * exact files a user gets), the Node.js version and the architecture; the next
 * caller with the same key reuses it instead of installing again. Callers only
 * read the installed tree. The package tests and `npm run package:deb` share it
 * within one test run; any change to a packed file makes a new key.
 *
 *   node scripts/packed-install.mjs [--cache DIR | --shared-cache]   prints {"tarball","prefix","key","reused"}
 *
 * `--shared-cache` is this checkout's cache in the system temp directory (outside the tree, so an
 * installed `lifeboat` is never a path inside the development tree).
 *
 * @module
 */

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const COMPLETE = 'complete.json';
/** A lock older than this is left by a killed install (installs are bounded by the callers' timeouts). */
const STALE_LOCK_MS = 60 * 60_000;

/** This checkout's cache directory, outside the tree. */
export function sharedCache(root = ROOT) {
  return path.join(os.tmpdir(), `lifeboat-packed-${createHash('sha256').update(root).digest('hex').slice(0, 12)}`);
}

function run(cmd, args, options) {
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'], ...options });
}

/** `npm pack` of `root` into `dir`; the tarball's path. Packed without scripts: `prepare` would rebuild dist/. */
export function pack(root, dir) {
  run('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', dir], { cwd: root });
  const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'));
  if (!tarball) throw new Error(`npm pack wrote no tarball into ${dir}`);
  return path.join(dir, tarball);
}

/** Install `tarball` globally into `prefix` (dependencies from npm's cache when there). */
export function install(tarball, prefix) {
  run(
    'npm',
    [
      'install',
      '--global',
      '--prefix',
      prefix,
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
      tarball,
    ],
    { cwd: path.dirname(tarball) },
  );
}

function sleep(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * The packed and installed package: `{ tarball, prefix, key, reused }`. Without `cache` it is made
 * afresh in a new temporary directory (the caller removes it: `dir`).
 */
export function packedInstall({ root = ROOT, cache } = {}) {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'lifeboat-pack-'));
  const packed = pack(root, scratch);
  const digest = createHash('sha256').update(readFileSync(packed)).digest('hex');
  const key = `${digest.slice(0, 24)}-node${process.versions.node}-${process.arch}`;
  if (!cache) {
    install(packed, path.join(scratch, 'prefix'));
    return { tarball: packed, prefix: path.join(scratch, 'prefix'), key, reused: false, dir: scratch };
  }
  mkdirSync(cache, { recursive: true });
  const entry = path.join(cache, key);
  const lock = `${entry}.lock`;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      // Another caller is installing the same tree: wait for it rather than compile twice.
      if (Date.now() - statSync(lock).mtimeMs > STALE_LOCK_MS) rmSync(lock, { recursive: true, force: true });
      else sleep(2000);
    }
  }
  try {
    const result = (reused) => ({
      tarball: path.join(entry, 'package.tgz'),
      prefix: path.join(entry, 'prefix'),
      key,
      reused,
    });
    if (existsSync(path.join(entry, COMPLETE))) return result(true);
    // Other trees' installs are not reused again (each is hundreds of megabytes).
    for (const old of readdirSync(cache))
      if (!old.endsWith('.lock')) rmSync(path.join(cache, old), { recursive: true, force: true });
    const building = path.join(cache, `${key}.partial`);
    rmSync(building, { recursive: true, force: true });
    mkdirSync(building);
    renameSync(packed, path.join(building, 'package.tgz'));
    install(path.join(building, 'package.tgz'), path.join(building, 'prefix'));
    writeFileSync(path.join(building, COMPLETE), `${JSON.stringify({ key, at: new Date().toISOString() })}\n`);
    renameSync(building, entry);
    return result(false);
  } finally {
    rmSync(lock, { recursive: true, force: true });
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const cache = args.includes('--shared-cache')
    ? sharedCache()
    : args.includes('--cache')
      ? path.resolve(args[args.indexOf('--cache') + 1])
      : undefined;
  console.log(JSON.stringify(packedInstall({ cache })));
}
