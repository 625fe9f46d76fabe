/**
 * Storage over a local directory (disk, USB drive, NFS mount).
 *
 * Durability: put writes `<dir>/.tmp-<random>`, fsyncs it, renames it onto the
 * final name and fsyncs the directory, so after a crash a name holds either the
 * old or the new object, never a prefix. Readers open the file once and read
 * from that handle, so a concurrent overwrite (a rename) cannot mix versions.
 *
 * @module
 */

import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCode, LifeboatError, isLifeboatError, systemErrorCode } from '../../../errors/index.js';
import type {
  ObjectInfo,
  SpaceInfo,
  StaleTemporaries,
  Storage,
  StorageFactory,
  StorageOptions,
} from '../../contract.js';
import {
  TEMP_PREFIX,
  assertValidObjectName,
  assertValidPrefix,
  assertValidRange,
  isValidObjectName,
} from '../../names.js';
import { makeDirectories } from '../../../util/make-dirs.js';

const FILE_MODE = 0o600;
const DIR_MODE = 0o700;
/** Bound on parallel stat calls while listing, to stay well below the fd limit. */
const LIST_STAT_CONCURRENCY = 64;

const DISK_FULL = new Set(['ENOSPC', 'EDQUOT']);
/** System errors where the same call may well succeed a moment later. */
const RETRYABLE = new Set(['EAGAIN', 'EBUSY', 'EINTR', 'EMFILE', 'ENFILE', 'ETIMEDOUT', 'ESTALE']);
/** Errors meaning "there is no object by that name" (a directory is not an object). */
const ABSENT = new Set(['ENOENT', 'ENOTDIR', 'EISDIR']);

function notFound(name: string, cause?: unknown): LifeboatError {
  return new LifeboatError(ErrorCode.NotFound, `object ${name} not found`, { context: { name }, cause });
}

function absentOrError(op: string, name: string, err: unknown): LifeboatError {
  const errno = systemErrorCode(err);
  return errno && ABSENT.has(errno) ? notFound(name, err) : fsError(op, name, err);
}

/**
 * Maps a failed fs call to a LifeboatError(storage). Exported for tests: disk
 * full cannot be provoked portably.
 * @internal
 */
export function fsError(op: string, name: string, err: unknown): LifeboatError {
  if (isLifeboatError(err)) return err;
  const errno = systemErrorCode(err);
  const full = errno !== undefined && DISK_FULL.has(errno);
  const detail = full ? `no space left (${errno})` : err instanceof Error ? err.message : String(err);
  return new LifeboatError(ErrorCode.Storage, `${op} ${name} failed: ${detail}`, {
    hint: full ? 'the disk holding the repository is full' : undefined,
    retryable: !full && errno !== undefined && RETRYABLE.has(errno),
    context: { op, name, ...(errno ? { errno } : {}) },
    cause: err,
  });
}

async function fsyncDir(dir: string): Promise<void> {
  // Windows cannot open directories for fsync; its rename is durable enough.
  if (process.platform === 'win32') return;
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** mkdir -p with 0700, then fsync the parent of every directory it created. */
async function mkdirDurable(dir: string): Promise<void> {
  const first = await makeDirectories(dir, DIR_MODE);
  if (first === undefined) return;
  for (let d = dir; ; d = path.dirname(d)) {
    await fsyncDir(path.dirname(d));
    if (d === first || d === path.dirname(d)) break;
  }
}

async function writeAll(handle: FileHandle, data: Uint8Array): Promise<void> {
  let written = 0;
  while (written < data.byteLength) {
    const { bytesWritten } = await handle.write(data, written, data.byteLength - written, written);
    written += bytesWritten;
  }
}

/** Reads exactly `length` bytes at `offset`, or throws: never returns short data. */
async function readExactly(handle: FileHandle, name: string, offset: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buf, done, length - done, offset + done);
    if (bytesRead === 0) {
      throw new LifeboatError(
        ErrorCode.Storage,
        `object ${name} ended after ${offset + done} bytes, expected at least ${offset + length}`,
        {
          retryable: false,
          context: { name, offset, length },
        },
      );
    }
    done += bytesRead;
  }
  return buf;
}

/** A repository in a local directory (also a mounted USB disk or network share): objects written through temporaries and renamed, durable before they are listed. */
export class LocalStorage implements Storage {
  readonly location: string;
  /** Absolute path of the repository directory. */
  readonly root: string;
  private closed = false;
  private dirLock: Promise<void> = Promise.resolve();

  /** `root` must be an existing directory; use `createLocalStorage` to check/create it. */
  constructor(root: string) {
    this.root = path.resolve(root);
    this.location = this.root;
  }

  private pathOf(name: string): string {
    this.assertOpen();
    assertValidObjectName(name);
    return path.join(this.root, ...name.split('/'));
  }

  private assertOpen(): void {
    if (this.closed) throw new LifeboatError(ErrorCode.Storage, `storage ${this.location} is closed`);
  }

  /**
   * Serialized: otherwise put B could store into a directory that put A has
   * created but not yet fsynced into its parent, and resolve before it is durable.
   * Creating directories is rare (first object of each `data/xx/`), so this is cheap.
   */
  private ensureDir(dir: string): Promise<void> {
    const run = this.dirLock.then(() => mkdirDurable(dir));
    this.dirLock = run.catch(() => undefined);
    return run;
  }

  async put(name: string, data: Uint8Array): Promise<void> {
    const file = this.pathOf(name);
    const dir = path.dirname(file);
    const tmp = path.join(dir, `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
    let handle: FileHandle | undefined;
    try {
      await this.ensureDir(dir);
      handle = await fs.open(tmp, 'wx', FILE_MODE);
      await writeAll(handle, data);
      await handle.sync();
      await handle.close();
      handle = undefined;
      await fs.rename(tmp, file);
    } catch (err) {
      await handle?.close().catch(() => undefined);
      await fs.rm(tmp, { force: true }).catch(() => undefined);
      throw fsError('put', name, err);
    }
    try {
      await fsyncDir(dir);
    } catch (err) {
      // The object is visible but its rename may not survive a crash: not durable, so reject.
      throw fsError('put', name, err);
    }
  }

  async get(name: string): Promise<Buffer> {
    return this.read('get', name, 0, undefined);
  }

  async getRange(name: string, offset: number, length: number): Promise<Buffer> {
    assertValidRange(name, offset, length);
    return this.read('getRange', name, offset, length);
  }

  /**
   * Reads `length` bytes (default: the rest of the file) through one handle, so
   * a concurrent overwrite (rename) cannot mix two versions.
   */
  private async read(op: string, name: string, offset: number, length: number | undefined): Promise<Buffer> {
    const file = this.pathOf(name);
    let handle: FileHandle;
    try {
      handle = await fs.open(file, 'r');
    } catch (err) {
      throw absentOrError(op, name, err);
    }
    try {
      const st = await handle.stat();
      if (!st.isFile()) throw notFound(name);
      const want = length ?? st.size - offset;
      if (offset + want > st.size) {
        throw new LifeboatError(
          ErrorCode.Storage,
          `range ${offset}+${want} runs past the end of ${name} (${st.size} bytes)`,
          {
            retryable: false,
            context: { name, offset, length: want, size: st.size },
          },
        );
      }
      return await readExactly(handle, name, offset, want);
    } catch (err) {
      throw fsError(op, name, err);
    } finally {
      await handle.close().catch(() => undefined);
    }
  }

  async stat(name: string): Promise<ObjectInfo> {
    const file = this.pathOf(name);
    let st;
    try {
      st = await fs.stat(file);
    } catch (err) {
      throw absentOrError('stat', name, err);
    }
    if (!st.isFile()) throw notFound(name);
    return { name, size: st.size };
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    this.assertOpen();
    assertValidPrefix(prefix);
    const out: ObjectInfo[] = [];
    try {
      await this.walk(path.join(this.root, ...prefix.split('/').filter(Boolean)), prefix, out, true);
    } catch (err) {
      throw fsError('list', prefix, err);
    }
    return out;
  }

  private async walk(dir: string, prefix: string, out: ObjectInfo[], top: boolean): Promise<void> {
    let entries;
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch (err) {
      const errno = systemErrorCode(err);
      // A missing prefix directory is an empty listing. Below the top, a directory
      // that vanished mid-walk (removed concurrently) has no objects either.
      if (errno === 'ENOENT' || (top && errno === 'ENOTDIR')) return;
      throw err;
    }
    const files: string[] = [];
    for (const entry of entries) {
      // Temp files, and anything that could not have been written through put, are not objects.
      if (!isValidObjectName(entry.name)) continue;
      if (entry.isDirectory()) await this.walk(path.join(dir, entry.name), `${prefix}${entry.name}/`, out, false);
      else if (entry.isFile()) files.push(entry.name);
    }
    for (let i = 0; i < files.length; i += LIST_STAT_CONCURRENCY) {
      const batch = files.slice(i, i + LIST_STAT_CONCURRENCY);
      const infos = await Promise.all(
        batch.map(async (file) => {
          try {
            return { name: `${prefix}${file}`, size: (await fs.stat(path.join(dir, file))).size };
          } catch (err) {
            if (systemErrorCode(err) === 'ENOENT') return undefined; // removed since readdir
            throw err;
          }
        }),
      );
      for (const info of infos) if (info) out.push(info);
    }
  }

  async remove(name: string): Promise<void> {
    const file = this.pathOf(name);
    try {
      // No directory fsync: a removal lost in a crash only leaves garbage that
      // prune/unlock clean up again, and fsync per unlink makes prune slow.
      await fs.unlink(file);
    } catch (err) {
      const errno = systemErrorCode(err);
      if (errno && ABSENT.has(errno)) return;
      throw fsError('remove', name, err);
    }
  }

  async removeStaleTemporaries(olderThanMs: number, options: { dryRun?: boolean } = {}): Promise<StaleTemporaries> {
    this.assertOpen();
    const found: StaleTemporaries = { count: 0, bytes: 0 };
    try {
      const now = await this.fileSystemNow();
      const visit = async (dir: string): Promise<void> => {
        for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
          const p = path.join(dir, entry.name);
          if (entry.isDirectory() && isValidObjectName(entry.name)) await visit(p);
          if (!entry.isFile() || !entry.name.startsWith(TEMP_PREFIX)) continue;
          const st = await fs.lstat(p).catch(() => undefined); // renamed or removed since readdir
          if (!st || now - st.mtimeMs < olderThanMs) continue;
          found.count++;
          found.bytes += st.size;
          if (!options.dryRun) await fs.rm(p, { force: true });
        }
      };
      await visit(this.root);
    } catch (err) {
      throw fsError('removeStaleTemporaries', '', err);
    }
    return found;
  }

  /** The time as the file system stamps it (an NFS server's clock may differ from ours): the mtime of a fresh file. */
  private async fileSystemNow(): Promise<number> {
    const probe = path.join(this.root, `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
    const handle = await fs.open(probe, 'wx', FILE_MODE);
    try {
      return (await handle.stat()).mtimeMs;
    } finally {
      await handle.close();
      await fs.rm(probe, { force: true });
    }
  }

  async space(): Promise<SpaceInfo> {
    this.assertOpen();
    const st = await fs.statfs(this.root).catch((err: unknown) => {
      throw fsError('space', '', err);
    });
    const objects = await this.list('');
    return {
      usedBytes: objects.reduce((sum, o) => sum + o.size, 0),
      availableBytes: st.bavail * st.bsize,
      totalBytes: st.blocks * st.bsize,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/** Factory for `file:` URLs. */
export const createLocalStorage: StorageFactory = async (url: URL, options: StorageOptions = {}) => {
  if (url.protocol !== 'file:') {
    throw new LifeboatError(ErrorCode.Usage, `the local driver cannot open ${url.protocol} URLs`);
  }
  let root: string;
  try {
    root = fileURLToPath(url);
  } catch (err) {
    throw new LifeboatError(ErrorCode.Usage, `invalid file URL ${url.href}: ${(err as Error).message}`, { cause: err });
  }
  if (options.create) {
    await mkdirDurable(root).catch((err: unknown) => {
      throw fsError('create', root, err);
    });
  }
  const st = await fs.stat(root).catch((err: unknown) => {
    const errno = systemErrorCode(err);
    if (errno === 'ENOENT' || errno === 'ENOTDIR') return undefined;
    throw fsError('open', root, err);
  });
  if (!st?.isDirectory()) {
    const why = st ? 'not a directory' : 'directory does not exist';
    throw new LifeboatError(ErrorCode.RepositoryNotFound, `no repository at ${root}: ${why}`, {
      hint: 'run `lifeboat init` first or check --repo',
      context: { location: root },
    });
  }
  return new LocalStorage(root);
};
