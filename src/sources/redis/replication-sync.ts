/**
 * The RDB a master sends to a new replica: `SYNC`, then newlines while it
 * prepares the snapshot, then `$<length>\r\n` and exactly that many bytes (a
 * snapshot written to disk first), or `$EOF:<40-byte mark>\r\n`, the bytes,
 * and the mark again (a diskless transfer). The chunks end exactly at the end
 * of the RDB; a connection that closes earlier throws, so a short transfer can
 * never pass for a complete one.
 *
 * @module
 */

import { ErrorCode, LifeboatError } from '../../errors/index.js';
import type { RespConnection } from './resp-connection.js';

export interface RdbTransfer {
  form: 'disk' | 'diskless';
  /** Announced size (disk form only). */
  length?: number;
  chunks: AsyncGenerator<Buffer>;
}

const NEWLINE = 0x0a;
/** The master sends a newline every second while it prepares the RDB; this much silence means it is gone. */
const SILENCE_MS = 120_000;
const MARK_LENGTH = 40;

export async function startReplicationSync(
  connection: RespConnection,
  options: { diskless?: boolean } = {},
): Promise<RdbTransfer> {
  const label = connection.target.label;
  // Announcing the EOF capability lets a master with repl-diskless-sync stream the RDB without writing it to disk.
  if (options.diskless) await connection.expect(['REPLCONF', 'capa', 'eof']);
  connection.send(['SYNC']);
  const first = await connection.peekSkipping(NEWLINE, SILENCE_MS);
  const line = await connection.readLine(SILENCE_MS);
  if (first === 0x2d) {
    throw new LifeboatError(ErrorCode.SourceFailed, `redis at ${label} refused to send its RDB: ${line.slice(1)}`, {
      hint: 'the user needs the SYNC command (ACL: +sync, +info, +config|get), and the server must be able to make an RDB',
    });
  }
  if (first !== 0x24)
    throw new LifeboatError(
      ErrorCode.SourceFailed,
      `redis at ${label} answered SYNC with ${JSON.stringify(line.slice(0, 60))}, not an RDB`,
    );
  if (line.startsWith('$EOF:')) {
    const mark = Buffer.from(line.slice(5), 'latin1');
    if (mark.length !== MARK_LENGTH)
      throw new LifeboatError(ErrorCode.SourceFailed, `redis at ${label} sent a malformed diskless RDB header`);
    return { form: 'diskless', chunks: untilMark(connection, mark) };
  }
  const length = Number(line.slice(1));
  if (!Number.isSafeInteger(length) || length <= 0)
    throw new LifeboatError(
      ErrorCode.SourceFailed,
      `redis at ${label} announced an RDB of ${JSON.stringify(line.slice(1))} bytes`,
    );
  return { form: 'disk', length, chunks: exactly(connection, length) };
}

function closedEarly(connection: RespConnection, received: number, of?: number): LifeboatError {
  const size =
    of === undefined ? `${received} bytes of the RDB, before its end mark` : `${received} of ${of} RDB bytes`;
  return new LifeboatError(
    ErrorCode.SourceFailed,
    `redis at ${connection.target.label} closed the connection after ${size}; the snapshot is incomplete and was not saved`,
    {
      hint: 'was the server restarted, or did it drop the transfer (client-output-buffer-limit replica, repl-timeout)? see its log',
    },
  );
}

async function* exactly(connection: RespConnection, length: number): AsyncGenerator<Buffer> {
  let received = 0;
  for await (const chunk of connection.rawChunks(SILENCE_MS)) {
    const piece = chunk.length > length - received ? chunk.subarray(0, length - received) : chunk;
    received += piece.length;
    yield piece;
    if (received === length) return; // what follows is the replication stream, not wanted
  }
  throw closedEarly(connection, received, length);
}

async function* untilMark(connection: RespConnection, mark: Buffer): AsyncGenerator<Buffer> {
  let held = Buffer.alloc(0);
  let received = 0;
  for await (const chunk of connection.rawChunks(SILENCE_MS)) {
    const data = held.length > 0 ? Buffer.concat([held, chunk]) : chunk;
    const at = data.indexOf(mark);
    if (at >= 0) {
      if (at > 0) yield data.subarray(0, at);
      return;
    }
    // The mark may straddle two chunks: hold back what could be its beginning.
    const keep = Math.min(data.length, MARK_LENGTH - 1);
    held = Buffer.from(data.subarray(data.length - keep));
    if (data.length > keep) {
      received += data.length - keep;
      yield data.subarray(0, data.length - keep);
    }
  }
  throw closedEarly(connection, received);
}
