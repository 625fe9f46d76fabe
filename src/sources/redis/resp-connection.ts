/**
 * One raw connection to a Redis server speaking RESP: enough for AUTH, INFO
 * and CONFIG GET, and then for reading the replication stream as raw bytes.
 * Reading goes through the socket's async iterator, so when the consumer
 * stops asking for data the socket stops reading and TCP slows the server.
 *
 * @module
 */

import net from 'node:net';
import tls from 'node:tls';
import { once } from 'node:events';
import { ErrorCode, LifeboatError } from '../../errors/index.js';
import type { RedisTarget } from './redis-target.js';
import { onAbort } from '../../util/on-abort.js';

export type Reply = string | number | null | ReplyError | Reply[];

export class ReplyError {
  constructor(readonly message: string) {}
}

const EMPTY = Buffer.alloc(0);
const CONNECT_TIMEOUT_MS = 15_000;
const REPLY_TIMEOUT_MS = 60_000;

export class RespConnection {
  private readonly chunks: AsyncIterator<Buffer>;
  private buffered: Buffer = EMPTY;

  private constructor(
    private readonly socket: net.Socket,
    readonly target: RedisTarget,
  ) {
    this.chunks = (socket as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  }

  /** Connect and log in (AUTH) when a password is known. */
  static async open(target: RedisTarget, signal?: AbortSignal): Promise<RespConnection> {
    const socket = target.socketPath
      ? net.connect({ path: target.socketPath })
      : target.tls
        ? tls.connect({
            host: target.host,
            port: target.port,
            servername: net.isIP(target.host) ? undefined : target.host,
          })
        : net.connect({ host: target.host, port: target.port });
    socket.on('error', () => {}); // surfaced by the pending read or the connect wait below
    socket.setKeepAlive(true, 30_000);
    const detach = onAbort(signal, () =>
      socket.destroy(new LifeboatError(ErrorCode.Interrupted, `connection to ${target.label} stopped: interrupted`)),
    );
    socket.once('close', detach);
    const timer = setTimeout(
      () => socket.destroy(new Error(`no connection within ${CONNECT_TIMEOUT_MS / 1000} s`)),
      CONNECT_TIMEOUT_MS,
    );
    try {
      await once(socket, target.tls && !target.socketPath ? 'secureConnect' : 'connect');
    } catch (err) {
      socket.destroy();
      if (err instanceof LifeboatError) throw err;
      throw new LifeboatError(
        ErrorCode.SourceFailed,
        `cannot connect to redis at ${target.label}: ${(err as Error).message}`,
        { hint: 'is the server running, and is the url in lifeboat.yaml right?', cause: err },
      );
    } finally {
      clearTimeout(timer);
    }
    const connection = new RespConnection(socket, target);
    if (target.password !== undefined) {
      const args = target.username ? ['AUTH', target.username, target.password] : ['AUTH', target.password];
      const reply = await connection.call(args).catch((err: unknown) => {
        connection.close();
        throw err;
      });
      if (reply instanceof ReplyError) {
        connection.close();
        throw new LifeboatError(
          ErrorCode.SourceFailed,
          `redis at ${target.label} refused the login: ${reply.message}`,
          { hint: 'check the user in the url and the password in password_file' },
        );
      }
    }
    return connection;
  }

  /** Send one command and read its reply; an error reply is returned, not thrown. */
  async call(args: readonly string[]): Promise<Reply> {
    this.send(args);
    for (;;) {
      const parsed = parseReply(this.buffered, 0);
      if (parsed) {
        this.buffered = this.buffered.subarray(parsed[1]);
        return parsed[0];
      }
      await this.readMore(REPLY_TIMEOUT_MS);
    }
  }

  /** Send a command and return its reply; an error reply throws `SourceFailed` with the server's message. */
  async expect(args: readonly string[]): Promise<Exclude<Reply, ReplyError>> {
    const reply = await this.call(args);
    if (reply instanceof ReplyError)
      throw new LifeboatError(
        ErrorCode.SourceFailed,
        `redis at ${this.target.label} answered ${args[0]} with an error: ${reply.message}`,
      );
    return reply;
  }

  send(args: readonly string[]): void {
    const parts = [`*${args.length}\r\n`];
    for (const a of args) parts.push(`$${Buffer.byteLength(a)}\r\n${a}\r\n`);
    this.socket.write(parts.join(''));
  }

  /** Drop leading bytes equal to `byte` (the newlines a master sends while it prepares the RDB) and return the first other byte, unread. */
  async peekSkipping(byte: number, silenceMs: number): Promise<number> {
    for (;;) {
      let i = 0;
      while (i < this.buffered.length && this.buffered[i] === byte) i++;
      this.buffered = this.buffered.subarray(i);
      if (this.buffered.length > 0) return this.buffered[0]!;
      await this.readMore(silenceMs);
    }
  }

  /** The next line without its CRLF. */
  async readLine(silenceMs: number): Promise<string> {
    for (;;) {
      const eol = this.buffered.indexOf('\r\n');
      if (eol >= 0) {
        const line = this.buffered.toString('latin1', 0, eol);
        this.buffered = this.buffered.subarray(eol + 2);
        return line;
      }
      await this.readMore(silenceMs);
    }
  }

  /** The rest of the connection as raw chunks (what is already buffered first); ends when the server closes it. */
  async *rawChunks(silenceMs: number): AsyncGenerator<Buffer> {
    if (this.buffered.length > 0) {
      const first = this.buffered;
      this.buffered = EMPTY;
      yield first;
    }
    for (;;) {
      const next = await this.nextChunk(silenceMs);
      if (next === undefined) return;
      yield next;
    }
  }

  close(): void {
    this.socket.destroy();
  }

  private async readMore(silenceMs: number): Promise<void> {
    const next = await this.nextChunk(silenceMs);
    if (next === undefined)
      throw new LifeboatError(ErrorCode.SourceFailed, `redis at ${this.target.label} closed the connection`);
    this.buffered = this.buffered.length > 0 ? Buffer.concat([this.buffered, next]) : next;
  }

  /** The next chunk from the socket, or undefined when it closed; fails when the server stays silent for `silenceMs`. */
  private async nextChunk(silenceMs: number): Promise<Buffer | undefined> {
    const timer = setTimeout(
      () => this.socket.destroy(new Error(`no data for ${Math.round(silenceMs / 1000)} s`)),
      silenceMs,
    );
    try {
      const next = await this.chunks.next();
      return next.done ? undefined : next.value;
    } catch (err) {
      if (err instanceof LifeboatError) throw err;
      throw new LifeboatError(
        ErrorCode.SourceFailed,
        `connection to redis at ${this.target.label} failed: ${(err as Error).message}`,
        { cause: err },
      );
    } finally {
      clearTimeout(timer);
    }
  }
}

/** One complete reply at `pos`, with the offset after it, or undefined when more bytes are needed. */
function parseReply(buf: Buffer, pos: number): [Reply, number] | undefined {
  const eol = buf.indexOf('\r\n', pos);
  if (eol < 0) return undefined;
  const line = buf.toString('utf8', pos + 1, eol);
  const after = eol + 2;
  switch (buf[pos]) {
    case 0x2b: // +
      return [line, after];
    case 0x2d: // -
      return [new ReplyError(line), after];
    case 0x3a: // :
      return [Number(line), after];
    case 0x24: {
      // $
      const n = Number(line);
      if (n < 0) return [null, after];
      if (buf.length < after + n + 2) return undefined;
      return [buf.toString('utf8', after, after + n), after + n + 2];
    }
    case 0x2a: {
      // *
      const n = Number(line);
      if (n < 0) return [null, after];
      const items: Reply[] = [];
      let p = after;
      for (let i = 0; i < n; i++) {
        const item = parseReply(buf, p);
        if (!item) return undefined;
        items.push(item[0]);
        p = item[1];
      }
      return [items, p];
    }
    default:
      throw new LifeboatError(
        ErrorCode.SourceFailed,
        `unexpected reply from redis: ${JSON.stringify(buf.toString('latin1', pos, Math.min(buf.length, pos + 40)))}`,
      );
  }
}
