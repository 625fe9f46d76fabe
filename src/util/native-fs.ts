/**
 * The native helper (native/lifeboat_fs.c, built by `npm ci` through
 * node-gyp): the *at system calls a restore needs and Node lacks. Every name
 * is one path component relative to a directory descriptor and is never
 * followed through a symlink; times are set to the nanosecond. Loaded on first
 * use, in any thread (worker threads share the process's descriptors).
 *
 * @module
 */

import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCode, LifeboatError } from '../errors/index.js';

export interface NativeFs {
  /** The real directory `name` in `dirFd` (made first, with `mode`, when `create`), opened O_DIRECTORY | O_NOFOLLOW. */
  openDirAt(dirFd: number, name: string, create: boolean, mode: number): number;
  /** [dev, ino] of an open descriptor. */
  identity(fd: number): [bigint, bigint];
  /** A new file opened for writing (O_EXCL | O_NOFOLLOW); a file or symlink there is removed first, a directory refused (EISDIR). */
  createFileAt(dirFd: number, name: string, mode: number): number;
  /** Remove a file or symlink (nothing there is fine); a directory is refused (EISDIR). */
  removeAt(dirFd: number, name: string): void;
  symlinkAt(target: string, dirFd: number, name: string): void;
  linkAt(fromDirFd: number, fromName: string, toDirFd: number, toName: string): void;
  /** Replace `to` by `from` within one directory, atomically. */
  renameAt(dirFd: number, from: string, to: string): void;
  /** Owner of the entry itself (a symlink is not followed). */
  chownAt(dirFd: number, name: string, uid: number, gid: number): void;
  /** atime and mtime of an open file or directory. */
  setTimes(fd: number, sec: number, nsec: number): void;
  /** atime and mtime of the entry itself (a symlink is not followed). */
  setTimesAt(dirFd: number, name: string, sec: number, nsec: number): void;
}

const ADDON = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../native/build/Release/lifeboat_fs.node');

let loaded: NativeFs | undefined;

export function nativeFs(): NativeFs {
  if (loaded) return loaded;
  try {
    loaded = createRequire(import.meta.url)(ADDON) as NativeFs;
  } catch (err) {
    throw new LifeboatError(
      ErrorCode.Failure,
      `the native file-system helper is missing or does not load (${ADDON}): ${(err as Error).message.split('\n')[0]}`,
      {
        hint: 'it is built by `npm ci`; build it again with `npm run build:native` (needs a C compiler and the Node headers)',
      },
    );
  }
  return loaded;
}

/** Nanoseconds since the epoch (a decimal string, as trees store them) as whole seconds and nanoseconds. */
export function splitNs(ns: string | undefined): { sec: number; nsec: number } {
  if (!ns || !/^-?\d+$/.test(ns)) return { sec: 0, nsec: 0 };
  const big = BigInt(ns);
  let sec = big / 1_000_000_000n;
  let nsec = big % 1_000_000_000n;
  // Before 1970: the remainder is negative; timespec wants 0 <= nsec < 1e9.
  if (nsec < 0n) {
    nsec += 1_000_000_000n;
    sec -= 1n;
  }
  return { sec: Number(sec), nsec: Number(nsec) };
}
