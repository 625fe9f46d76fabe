/**
 * Promise forms of the ssh2 SFTP calls the driver uses, with pipelined reads
 * and writes (several requests in flight, as OpenSSH's sftp does) so a 16 MiB
 * pack does not pay one round trip per request.
 *
 * @module
 */

import type { FileEntryWithStats, InputAttributes, SFTPWrapper, Stats } from 'ssh2';
import { ErrorCode, LifeboatError } from '../../../errors/index.js';

/** Bytes per WRITE request: below every server's packet limit (OpenSSH: 256 KiB). */
const CHUNK = 32 * 1024;
/** Write requests in flight per transfer. */
const IN_FLIGHT = 32;
/** Largest READ request asked for; the server's own limit, when it states one, is lower. */
const MAX_READ_REQUEST = 256 * 1024;
/** Bytes of read requests in flight per transfer: the SSH channel window ssh2 grants (2 MiB). */
const READ_BYTES_IN_FLIGHT = 2 * 1024 * 1024;

/**
 * Bytes per READ request on this session: the largest the server accepts, as
 * ssh2 learned it from `limits@openssh.com` (OpenSSH 9.2: 261,120) or assumes
 * from the server's identification (a little under 256 KiB for OpenSSH, under
 * 34,000 bytes for others). ssh2 splits a longer read into requests sent one
 * after another, so asking for more than this would lose the pipelining.
 */
export function readRequestBytes(s: SFTPWrapper): number {
  const negotiated = (s as unknown as { _maxReadLen?: unknown })._maxReadLen;
  if (typeof negotiated !== 'number' || !Number.isSafeInteger(negotiated) || negotiated <= 0) return CHUNK;
  return Math.min(negotiated, MAX_READ_REQUEST);
}

/** Marks an extension the server does not offer. */
export const UNSUPPORTED = Symbol('unsupported');

function call<T>(fn: (cb: (err: Error | null | undefined, value?: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    fn((err, value) => (err ? reject(err) : resolve(value as T)));
  });
}

/** Calls an `ext_openssh_*` method, or resolves UNSUPPORTED when the server lacks the extension. */
function extension<T>(
  fn: (cb: (err: Error | null | undefined, value?: T) => void) => void,
): Promise<T | typeof UNSUPPORTED> {
  try {
    return call(fn);
  } catch (err) {
    // ssh2 throws synchronously when the server did not announce the extension.
    if (err instanceof Error && /does not support/.test(err.message)) return Promise.resolve(UNSUPPORTED);
    throw err;
  }
}

export const open = (s: SFTPWrapper, p: string, flags: 'r' | 'wx', attrs?: InputAttributes) =>
  call<Buffer>((cb) => (attrs ? s.open(p, flags, attrs, cb) : s.open(p, flags, cb)));
export const closeHandle = (s: SFTPWrapper, h: Buffer) => call<void>((cb) => s.close(h, cb));
export const fstat = (s: SFTPWrapper, h: Buffer) => call<Stats>((cb) => s.fstat(h, cb));
export const stat = (s: SFTPWrapper, p: string) => call<Stats>((cb) => s.stat(p, cb));
export const mkdir = (s: SFTPWrapper, p: string, mode: number) => call<void>((cb) => s.mkdir(p, { mode }, cb));
export const unlink = (s: SFTPWrapper, p: string) => call<void>((cb) => s.unlink(p, cb));
export const rename = (s: SFTPWrapper, from: string, to: string) => call<void>((cb) => s.rename(from, to, cb));
export const readdir = (s: SFTPWrapper, p: string) => call<FileEntryWithStats[]>((cb) => s.readdir(p, cb));
export const realpath = (s: SFTPWrapper, p: string) => call<string>((cb) => s.realpath(p, cb));
export const posixRename = (s: SFTPWrapper, from: string, to: string) =>
  extension<void>((cb) => s.ext_openssh_rename(from, to, cb));
export const fsync = (s: SFTPWrapper, h: Buffer) => extension<void>((cb) => s.ext_openssh_fsync(h, cb));

export interface FsStats {
  frsize: number;
  blocks: number;
  bavail: number;
}

export async function statvfs(s: SFTPWrapper, p: string): Promise<FsStats | typeof UNSUPPORTED> {
  const r = await extension<Record<string, unknown>>((cb) => s.ext_openssh_statvfs(p, cb));
  if (r === UNSUPPORTED) return r;
  return { frsize: Number(r.f_frsize), blocks: Number(r.f_blocks), bavail: Number(r.f_bavail) };
}

/** Runs `task(i)` for i in [0, count) with at most `limit` running; rejects on the first failure after all settle. */
async function pipelined(count: number, limit: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: unknown;
  const worker = async () => {
    while (failure === undefined && next < count) {
      const i = next++;
      try {
        await task(i);
      } catch (err) {
        failure ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
  if (failure !== undefined) throw failure;
}

/** Writes all of `data` at offset 0 of the open handle. */
export async function writeAll(s: SFTPWrapper, h: Buffer, data: Buffer): Promise<void> {
  const chunks = Math.ceil(data.length / CHUNK);
  await pipelined(chunks, IN_FLIGHT, (i) => {
    const off = i * CHUNK;
    const len = Math.min(CHUNK, data.length - off);
    return call<void>((cb) => s.write(h, data, off, len, off, (err) => cb(err)));
  });
}

/** Reads exactly `length` bytes at `offset`, or rejects (a short read is never success). */
export async function readExactly(
  s: SFTPWrapper,
  h: Buffer,
  name: string,
  offset: number,
  length: number,
): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  const request = readRequestBytes(s);
  const chunks = Math.ceil(length / request);
  const inFlight = Math.max(1, Math.floor(READ_BYTES_IN_FLIGHT / request));
  await pipelined(chunks, inFlight, async (i) => {
    let done = i * request;
    const end = Math.min(done + request, length);
    // A server may answer with fewer bytes than asked; ask again for the rest.
    while (done < end) {
      const n = await call<number>((cb) =>
        s.read(h, buf, done, end - done, offset + done, (err, bytesRead) => cb(err, bytesRead)),
      );
      if (!n) {
        throw new LifeboatError(
          ErrorCode.Storage,
          `object ${name} ended after ${offset + done} bytes, expected at least ${offset + length}`,
          {
            context: { name, offset, length },
          },
        );
      }
      done += n;
    }
  });
  return buf;
}
