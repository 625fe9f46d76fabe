import { spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ErrorCode, LifeboatError } from '../../errors/index.js';
import { ownedTempDir } from '../../leftovers/temp-dir.js';
import { trackChild } from '../../leftovers/track.js';
import { childEnv } from '../child-process.js';
import { RespConnection } from './resp-connection.js';
import { info, parseKeyspace } from './server-info.js';

export interface LoadedCounts {
  keys: Record<string, number>;
  expiringKeys: Record<string, number>;
  redisVersion: string;
}

const STOP_GRACE_MS = 10_000;

/**
 * Load an RDB file into a throwaway redis-server and read its keyspace: the
 * proof that a server accepts the file, and what it holds once loaded.
 *
 * The server listens only on a unix socket in a private directory (no TCP
 * port, so no other local user can read the restored data meanwhile), saves
 * nothing (`--save ""`, `--appendonly no`) and is started as a replica of a
 * loopback port that only hangs up: a replica loads keys whose TTL already
 * passed (a master drops them while loading), so the counts equal what the
 * backup recorded even when keys expired since, and it never syncs away its data.
 */
export async function loadAndCount(
  rdbFile: string,
  options: { databases: number; signal?: AbortSignal; log?: (line: string) => void },
): Promise<LoadedCounts> {
  const run = await ownedTempDir(os.tmpdir(), 'lifeboat-redis-inspect-'); // short path: unix socket names are limited to 107 bytes
  const socketPath = path.join(run.path, 'redis.sock');
  const deadMaster = net.createServer((s) => s.destroy());
  await new Promise<void>((resolve, reject) => deadMaster.once('error', reject).listen(0, '127.0.0.1', resolve));
  const masterPort = (deadMaster.address() as net.AddressInfo).port;
  const args = [
    '--port', '0',
    '--unixsocket', socketPath,
    '--unixsocketperm', '700',
    '--dir', path.dirname(path.resolve(rdbFile)),
    '--dbfilename', path.basename(rdbFile),
    '--appendonly', 'no',
    '--save', '',
    '--databases', String(Math.max(16, options.databases)),
    '--replicaof', '127.0.0.1', String(masterPort),
    '--daemonize', 'no',
    '--logfile', '',
  ]; // prettier-ignore
  const server = spawn('redis-server', args, { env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  const forget = trackChild(server, 'redis-server', false);
  let output = '';
  const keep = (d: Buffer) => (output = (output + d.toString('utf8')).slice(-4000));
  server.stdout!.on('data', keep);
  server.stderr!.on('data', keep);
  let startError: Error | undefined;
  server.once('error', (err) => (startError = err));
  const exited = once(server, 'exit').catch(() => {});
  const failed = (why: string) =>
    new LifeboatError(
      ErrorCode.SourceFailed,
      `a throwaway redis-server could not load ${rdbFile}: ${why}${output.trim() ? `\n${lastLines(output)}` : ''}`,
      { hint: 'is redis-server installed, and as new as the server that made the backup (and with its modules)?' },
    );
  try {
    let connection: RespConnection | undefined;
    for (;;) {
      if (startError) throw failed(startError.message);
      if (server.exitCode !== null || server.signalCode !== null)
        throw failed(`it exited (${server.exitCode ?? server.signalCode})`);
      if (options.signal?.aborted) throw new LifeboatError(ErrorCode.Interrupted, 'inspection interrupted');
      connection ??= await RespConnection.open({
        host: 'localhost',
        port: 0,
        tls: false,
        label: 'throwaway redis-server',
        socketPath,
      }).catch(() => undefined);
      if (connection) {
        const persistence = await info(connection, 'persistence').catch(() => undefined); // -LOADING while it reads the file
        if (persistence?.loading === '0') break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const { keys, expiringKeys } = parseKeyspace(await info(connection, 'keyspace'));
    const version = (await info(connection, 'server')).redis_version ?? 'unknown';
    connection.close();
    options.log?.(`a throwaway redis-server ${version} loaded the restored RDB`);
    return { keys, expiringKeys, redisVersion: version };
  } finally {
    if (server.exitCode === null && server.signalCode === null) {
      server.kill('SIGTERM');
      const timer = setTimeout(() => server.kill('SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    }
    await forget();
    deadMaster.close();
    await run.dispose();
  }
}

function lastLines(text: string): string {
  return text.trim().split('\n').slice(-5).join('\n');
}
