import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort, waitUntil } from './free-port.js';

/**
 * A throwaway redis-server from the installed Debian binary: its own temp
 * directory (the server's `dir`), a free loopback port, and the password in a
 * 0600 config file so it never appears in the process arguments.
 */
export interface RedisServer {
  port: number;
  dir: string;
  pid: number;
  password?: string;
  /** redis://127.0.0.1:PORT (never with the password). */
  url: string;
  /** A client on database `db` (caller quits it). */
  client(db?: number): Redis;
  /** Kill at once (SIGKILL), leaving the directory. */
  kill(): Promise<void>;
  /** Kill and remove the directory. */
  stop(): Promise<void>;
}

export interface RedisOptions {
  password?: string;
  appendonly?: boolean;
  /** More config lines (`rdb-key-save-delay 100`). */
  config?: string[];
}

export async function startRedis(options: RedisOptions = {}): Promise<RedisServer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-redis-'));
  let server: ChildProcess | undefined;
  let output = '';
  const kill = async () => {
    if (server && server.exitCode === null && server.signalCode === null) {
      const exited = new Promise((r) => server!.once('exit', r));
      server.kill('SIGKILL');
      await exited;
    }
  };
  const stop = async () => {
    await kill();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const port = await freePort();
    const conf = path.join(dir, 'redis.conf');
    const lines = [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      'save ""',
      `appendonly ${options.appendonly ? 'yes' : 'no'}`,
      'daemonize no',
      'logfile ""',
      ...(options.password ? [`requirepass "${options.password}"`] : []),
      ...(options.config ?? []),
    ];
    await writeFile(conf, lines.join('\n') + '\n', { mode: 0o600 });
    server = spawn('redis-server', [conf], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    server.stdout!.setEncoding('utf8').on('data', (d: string) => (output = (output + d).slice(-4000)));
    server.stderr!.setEncoding('utf8').on('data', (d: string) => (output = (output + d).slice(-4000)));
    const client = (db = 0) =>
      new Redis({
        host: '127.0.0.1',
        port,
        password: options.password,
        db,
        lazyConnect: false,
        maxRetriesPerRequest: 1,
        retryStrategy: () => null,
      });
    await waitUntil(
      async () => {
        if (server!.exitCode !== null) throw new Error(`redis-server exited: ${output}`);
        const c = client();
        c.on('error', () => {}); // refused until the server listens; the poll retries
        try {
          return (await c.ping()) === 'PONG';
        } finally {
          c.disconnect();
        }
      },
      15_000,
      async () => output,
    );
    return {
      port,
      dir,
      pid: server.pid!,
      password: options.password,
      url: `redis://127.0.0.1:${port}`,
      client,
      kill,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
