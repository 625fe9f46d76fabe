/**
 * A short-lived server (victoria-metrics, prometheus) started on a data
 * directory to measure it: on a free loopback port, in its own process group,
 * stopped and waited for afterwards. Used on hard-linked copies of snapshots
 * and restored data directories, and by tests.
 *
 * @module
 */

import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { ErrorCode, LifeboatError } from '../errors/index.js';
import { trackChild } from '../leftovers/track.js';
import { childEnv } from './child-process.js';

export interface ThrowawaySpec {
  /** The program's name in messages. */
  label: string;
  command: string;
  /** Arguments for a server listening on 127.0.0.1:port. */
  args: (port: number) => string[];
  /** A GET path that answers 2xx once the server is ready. */
  readyPath: string;
  /** Added to the environment (secrets go here, never into args). */
  env?: Record<string, string>;
  signal?: AbortSignal;
  startTimeoutMs?: number;
  /** Shown when the program cannot be started at all. */
  installHint?: string;
}

export interface ThrowawayServer {
  url: string;
  port: number;
  /** Stop the server (SIGTERM, then SIGKILL) and wait until it exited. */
  stop(): Promise<void>;
}

const OUTPUT_KEEP = 4 * 1024;

/** A TCP port on loopback that was free a moment ago. */
export async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (exited(child)) return;
  const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const signalGroup = (sig: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, sig);
    } catch {
      child.kill(sig);
    }
  };
  signalGroup('SIGTERM');
  const killer = setTimeout(() => signalGroup('SIGKILL'), 10_000);
  await done;
  clearTimeout(killer);
}

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

async function startOnce(spec: ThrowawaySpec, port: number): Promise<ThrowawayServer | 'port taken'> {
  const child = spawn(spec.command, spec.args(port), {
    env: childEnv(spec.env),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  const keep = (d: Buffer) => {
    output = (output + d.toString('utf8')).slice(-OUTPUT_KEEP);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let spawnError: Error | undefined;
  child.once('error', (err) => (spawnError = err));
  // Its own process group keeps it alive when this process is killed: recorded, so the next sweep stops it.
  const forget = trackChild(child, spec.label, true);
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await stopChild(child);
    await forget();
  };
  const deadline = Date.now() + (spec.startTimeoutMs ?? 60_000);
  try {
    for (;;) {
      if (spawnError) {
        throw new LifeboatError(ErrorCode.SourceFailed, `${spec.label} could not be started: ${spawnError.message}`, {
          hint: spec.installHint,
          cause: spawnError,
        });
      }
      if (spec.signal?.aborted) throw new LifeboatError(ErrorCode.Interrupted, `${spec.label}: interrupted`);
      if (exited(child)) {
        if (/address already in use/i.test(output)) {
          await forget();
          return 'port taken';
        }
        const how = child.exitCode !== null ? `status ${child.exitCode}` : `signal ${child.signalCode}`;
        throw new LifeboatError(
          ErrorCode.SourceFailed,
          `${spec.label} exited with ${how} before it was ready: ${output.trim().slice(-1500)}`,
        );
      }
      if (await answers(url + spec.readyPath)) return { url, port, stop };
      if (Date.now() > deadline) {
        throw new LifeboatError(
          ErrorCode.SourceFailed,
          `${spec.label} was not ready after ${Math.round((spec.startTimeoutMs ?? 60_000) / 1000)} s: ${output.trim().slice(-1500)}`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Start the server and wait until it is ready; a port taken in the meantime is retried on another. */
export async function startThrowawayServer(spec: ThrowawaySpec): Promise<ThrowawayServer> {
  for (let attempt = 1; ; attempt++) {
    const started = await startOnce(spec, await freeLoopbackPort());
    if (started !== 'port taken') return started;
    if (attempt === 3)
      throw new LifeboatError(ErrorCode.SourceFailed, `${spec.label}: no free loopback port after ${attempt} attempts`);
  }
}

/** Run `use` against a throwaway server and always stop it. */
export async function withThrowawayServer<T>(spec: ThrowawaySpec, use: (url: string) => Promise<T>): Promise<T> {
  const server = await startThrowawayServer(spec);
  try {
    return await use(server.url);
  } finally {
    await server.stop();
  }
}
