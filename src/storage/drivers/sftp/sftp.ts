/**
 * Storage on an SFTP server: `sftp://user@host[:port]/path` (library ssh2).
 *
 * Durability: put writes `<dir>/.tmp-<random>` (0600, exclusive create), fsyncs
 * it when the server offers `fsync@openssh.com`, checks its size, then renames
 * it over the final name with `posix-rename@openssh.com` (atomic replace).
 * Servers without that extension get remove-then-rename, which leaves a short
 * window where an overwritten name is absent (never a prefix). Readers use one
 * handle per read, so a concurrent overwrite cannot mix versions.
 *
 * Connection, authentication and host keys: sftp-connection.ts; error mapping:
 * sftp-errors.ts. At most POOL operations share the connection at a time.
 *
 * @module
 */

import { randomBytes } from 'node:crypto';
import path from 'node:path/posix';
import type { SFTPWrapper } from 'ssh2';
import { ErrorCode, LifeboatError } from '../../../errors/index.js';
import { Semaphore } from '../../../util/semaphore.js';
import type { ObjectInfo, SpaceInfo, StaleTemporaries, Storage, StorageOptions } from '../../contract.js';
import {
  TEMP_PREFIX,
  assertValidObjectName,
  assertValidPrefix,
  assertValidRange,
  isValidObjectName,
} from '../../names.js';
import { SftpConnection, type ConnectionOptions } from './sftp-connection.js';
import { PERMISSION_HINT, SFTP_STATUS, isNoSuchFile, sftpError, sftpStatus } from './sftp-errors.js';
import * as io from './sftp-io.js';
import { parseSftpUrl } from './sftp-url.js';

const FILE_MODE = 0o600;
const DIR_MODE = 0o700;
/** Operations sharing the connection at once (each pipelines its own reads/writes). */
const POOL = 8;
/** Directories read at once while listing. */
const LIST_CONCURRENCY = 8;

export class SftpStorage implements Storage {
  readonly location: string;
  private readonly pool = new Semaphore(POOL);
  /** Directories (relative) known to exist, so put does not stat them every time. */
  private readonly dirs = new Set<string>(['']);
  private closed = false;

  /** `root` is the absolute repository path on the server. */
  constructor(
    private readonly connection: SftpConnection,
    readonly root: string,
    location: string,
  ) {
    this.location = location;
  }

  private pathOf(name: string): string {
    return name === '' ? this.root : `${this.root}/${name}`;
  }

  /** Runs `task` on the live session within the pool, mapping every failure. */
  private op<T>(op: string, name: string, task: (sftp: SFTPWrapper) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new LifeboatError(ErrorCode.Storage, `storage ${this.location} is closed`));
    return this.pool.with(1, async () => {
      try {
        const session = await this.connection.session();
        return await Promise.race([task(session.sftp), session.lost]);
      } catch (err) {
        throw sftpError(op, name, err);
      }
    });
  }

  async put(name: string, data: Uint8Array): Promise<void> {
    assertValidObjectName(name);
    const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const dir = path.dirname(name) === '.' ? '' : path.dirname(name);
    await this.op('put', name, async (sftp) => {
      await this.ensureDir(sftp, dir);
      const tmp = this.pathOf(
        dir === ''
          ? `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`
          : `${dir}/${TEMP_PREFIX}${randomBytes(8).toString('hex')}`,
      );
      try {
        await this.upload(sftp, tmp, name, buf);
        await this.replace(sftp, tmp, this.pathOf(name));
      } catch (err) {
        // Best effort: on a dropped connection the temp file stays, and is never listed.
        await io.unlink(sftp, tmp).catch(() => undefined);
        if (isNoSuchFile(err)) this.dirs.delete(dir); // directory removed under us: recreate next time
        throw notFoundIsStorage(err);
      }
    });
  }

  private async upload(sftp: SFTPWrapper, tmp: string, name: string, data: Buffer): Promise<void> {
    const handle = await io.open(sftp, tmp, 'wx', { mode: FILE_MODE });
    try {
      await io.writeAll(sftp, handle, data);
      await io.fsync(sftp, handle);
      const { size } = await io.fstat(sftp, handle);
      if (size !== data.length) {
        throw new LifeboatError(ErrorCode.Storage, `put ${name}: the server stored ${size} of ${data.length} bytes`, {
          retryable: true,
          context: { name, size, expected: data.length },
        });
      }
    } finally {
      await io.closeHandle(sftp, handle).catch(() => undefined);
    }
  }

  /** Moves `tmp` onto `final`, replacing it: atomically with posix-rename, else remove first. */
  private async replace(sftp: SFTPWrapper, tmp: string, final: string): Promise<void> {
    if ((await io.posixRename(sftp, tmp, final)) !== io.UNSUPPORTED) return;
    try {
      await io.rename(sftp, tmp, final);
    } catch (err) {
      // SFTP v3 rename refuses an existing target (FAILURE); without posix-rename, remove it first.
      if (sftpStatus(err) !== SFTP_STATUS.FAILURE) throw err;
      await io.unlink(sftp, final).catch((e: unknown) => {
        if (!isNoSuchFile(e)) throw e;
      });
      await io.rename(sftp, tmp, final);
    }
  }

  /** mkdir -p (0700) of a relative directory, below the root. */
  private async ensureDir(sftp: SFTPWrapper, dir: string): Promise<void> {
    if (this.dirs.has(dir)) return;
    const parent = path.dirname(dir) === '.' ? '' : path.dirname(dir);
    await this.ensureDir(sftp, parent);
    const full = this.pathOf(dir);
    try {
      await io.mkdir(sftp, full, DIR_MODE);
    } catch (err) {
      // Already there (made by another writer): fine if it is a directory.
      const st = await io.stat(sftp, full).catch(() => undefined);
      if (!st?.isDirectory()) throw err;
    }
    this.dirs.add(dir);
  }

  async get(name: string): Promise<Buffer> {
    assertValidObjectName(name);
    return this.op('get', name, (sftp) => this.read(sftp, name, 0, undefined));
  }

  async getRange(name: string, offset: number, length: number): Promise<Buffer> {
    assertValidObjectName(name);
    assertValidRange(name, offset, length);
    return this.op('getRange', name, (sftp) => this.read(sftp, name, offset, length));
  }

  /** `length` bytes (default: the rest) at `offset`, all through one handle. */
  private async read(sftp: SFTPWrapper, name: string, offset: number, length: number | undefined): Promise<Buffer> {
    const handle = await io.open(sftp, this.pathOf(name), 'r');
    try {
      const st = await io.fstat(sftp, handle);
      if (!st.isFile()) throw notFound(name);
      const want = length ?? st.size - offset;
      if (offset + want > st.size) {
        throw new LifeboatError(
          ErrorCode.Storage,
          `range ${offset}+${want} runs past the end of ${name} (${st.size} bytes)`,
          {
            context: { name, offset, length: want, size: st.size },
          },
        );
      }
      return await io.readExactly(sftp, handle, name, offset, want);
    } finally {
      await io.closeHandle(sftp, handle).catch(() => undefined);
    }
  }

  async stat(name: string): Promise<ObjectInfo> {
    assertValidObjectName(name);
    return this.op('stat', name, async (sftp) => {
      const st = await io.stat(sftp, this.pathOf(name));
      if (!st.isFile()) throw notFound(name);
      return { name, size: st.size };
    });
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    assertValidPrefix(prefix);
    return this.op('list', prefix, async (sftp) => {
      const out: ObjectInfo[] = [];
      let queue: Array<{ dir: string; prefix: string; top: boolean }> = [
        { dir: this.pathOf(prefix.replace(/\/$/, '')), prefix, top: true },
      ];
      while (queue.length > 0) {
        const batch = queue.splice(0, LIST_CONCURRENCY);
        const found = await Promise.all(batch.map((d) => this.readDir(sftp, d.dir, d.prefix, d.top, out)));
        queue = queue.concat(...found);
      }
      return out;
    });
  }

  /** Adds the objects of one directory to `out`; returns its subdirectories. Any failure fails the listing. */
  private async readDir(sftp: SFTPWrapper, dir: string, prefix: string, top: boolean, out: ObjectInfo[]) {
    let entries;
    try {
      entries = await io.readdir(sftp, dir);
    } catch (err) {
      // A missing prefix (or one that is a file) lists as empty, as does a directory removed mid-walk.
      if (isNoSuchFile(err) || (top && sftpStatus(err) === SFTP_STATUS.FAILURE && (await this.isFile(sftp, dir))))
        return [];
      throw err;
    }
    const subdirs: Array<{ dir: string; prefix: string; top: boolean }> = [];
    for (const e of entries) {
      // Temp files and names put could not have written are not objects.
      if (!isValidObjectName(e.filename)) continue;
      if (e.attrs.isDirectory())
        subdirs.push({ dir: `${dir}/${e.filename}`, prefix: `${prefix}${e.filename}/`, top: false });
      else if (e.attrs.isFile()) out.push({ name: `${prefix}${e.filename}`, size: e.attrs.size });
    }
    return subdirs;
  }

  private async isFile(sftp: SFTPWrapper, p: string): Promise<boolean> {
    return (await io.stat(sftp, p).catch(() => undefined))?.isFile() ?? false;
  }

  async remove(name: string): Promise<void> {
    assertValidObjectName(name);
    return this.op('remove', name, async (sftp) => {
      try {
        await io.unlink(sftp, this.pathOf(name));
      } catch (err) {
        if (!isNoSuchFile(err)) throw err;
      }
    });
  }

  async removeStaleTemporaries(olderThanMs: number, options: { dryRun?: boolean } = {}): Promise<StaleTemporaries> {
    return this.op('removeStaleTemporaries', '', async (sftp) => {
      const now = await this.serverNow(sftp);
      const stale: Array<{ path: string; size: number }> = [];
      for (let queue = [this.root]; queue.length > 0;) {
        const dirs = queue.splice(0, LIST_CONCURRENCY);
        const listed = await Promise.all(dirs.map(async (dir) => ({ dir, entries: await io.readdir(sftp, dir) })));
        for (const { dir, entries } of listed) {
          for (const e of entries) {
            if (e.attrs.isDirectory() && isValidObjectName(e.filename)) queue.push(`${dir}/${e.filename}`);
            else if (
              e.attrs.isFile() &&
              e.filename.startsWith(TEMP_PREFIX) &&
              now - e.attrs.mtime * 1000 >= olderThanMs
            )
              stale.push({ path: `${dir}/${e.filename}`, size: e.attrs.size });
          }
        }
      }
      if (!options.dryRun) {
        for (const t of stale) {
          await io.unlink(sftp, t.path).catch((err: unknown) => {
            if (!isNoSuchFile(err)) throw err;
          });
        }
      }
      return { count: stale.length, bytes: stale.reduce((n, t) => n + t.size, 0) };
    });
  }

  /** The server's time as it stamps files (its clock may differ from ours): the mtime of a fresh file, in ms. */
  private async serverNow(sftp: SFTPWrapper): Promise<number> {
    const probe = this.pathOf(`${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
    const handle = await io.open(sftp, probe, 'wx', { mode: FILE_MODE });
    try {
      return (await io.fstat(sftp, handle)).mtime * 1000;
    } finally {
      await io.closeHandle(sftp, handle).catch(() => undefined);
      await io.unlink(sftp, probe).catch(() => undefined);
    }
  }

  async space(): Promise<SpaceInfo> {
    const fs = await this.op('space', '', (sftp) => io.statvfs(sftp, this.root));
    const used = (await this.list('')).reduce((sum, o) => sum + o.size, 0);
    if (fs === io.UNSUPPORTED) return { usedBytes: used };
    return { usedBytes: used, availableBytes: fs.bavail * fs.frsize, totalBytes: fs.blocks * fs.frsize };
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.connection.close();
  }
}

function notFound(name: string): LifeboatError {
  return new LifeboatError(ErrorCode.NotFound, `object ${name} not found`, { context: { name } });
}

/** During a put, "no such file" means a directory vanished or a parent is a file — not a missing object. */
function notFoundIsStorage(err: unknown): unknown {
  if (!isNoSuchFile(err)) return err;
  return new LifeboatError(ErrorCode.Storage, `put failed: ${(err as Error).message}`, {
    context: { sftpStatus: SFTP_STATUS.NO_SUCH_FILE },
    cause: err,
  });
}

export interface SftpStorageOptions extends StorageOptions {
  /** Environment for credentials and known_hosts (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Connection timeouts, for tests. */
  connection?: Pick<ConnectionOptions, 'readyTimeoutMs' | 'keepaliveIntervalMs'>;
}

/** Resolves the repository path (`~/…` against the login's home), creating it with `create`. */
async function openRoot(sftp: SFTPWrapper, want: string, create: boolean, location: string): Promise<string> {
  let root = want;
  if (want === '~' || want.startsWith('~/')) {
    const home = await io.realpath(sftp, '.');
    root = want === '~' ? home : path.join(home, want.slice(2));
  }
  if (create) {
    const parts = root.split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i++) {
      const p = `/${parts.slice(0, i).join('/')}`;
      const st = await io.stat(sftp, p).catch((err: unknown) => {
        if (isNoSuchFile(err)) return undefined;
        throw err;
      });
      if (!st) await io.mkdir(sftp, p, DIR_MODE);
    }
  }
  const st = await io.stat(sftp, root).catch((err: unknown) => {
    if (isNoSuchFile(err)) return undefined;
    if (sftpStatus(err) === SFTP_STATUS.PERMISSION_DENIED) {
      throw new LifeboatError(ErrorCode.Storage, `permission denied on ${location}`, {
        hint: PERMISSION_HINT,
        cause: err,
      });
    }
    throw err;
  });
  if (!st?.isDirectory()) {
    throw new LifeboatError(
      ErrorCode.RepositoryNotFound,
      `no repository at ${location}: ${st ? 'not a directory' : 'directory does not exist'}`,
      {
        hint: 'run `lifeboat init` first or check --repo',
        context: { location },
      },
    );
  }
  return root;
}

/** Factory for `sftp:` URLs (a StorageFactory; `env` and `connection` are for tests). */
export async function createSftpStorage(url: URL, options: SftpStorageOptions = {}): Promise<SftpStorage> {
  const target = parseSftpUrl(url);
  const connection = new SftpConnection({
    target,
    remote: options.remote ?? {},
    env: options.env ?? process.env,
    ...options.connection,
  });
  try {
    const session = await connection.session();
    const root = await openRoot(session.sftp, target.path, options.create ?? false, target.location).catch(
      (err: unknown) => {
        throw sftpError('open', target.location, err);
      },
    );
    return new SftpStorage(connection, root, target.location);
  } catch (err) {
    await connection.close();
    throw err;
  }
}
