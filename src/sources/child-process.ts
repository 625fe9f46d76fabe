/**
 * Running the tools a source depends on (pg_dump, mariadb-dump, a user's
 * command). Secrets reach them through `env` or 0600 files, never argv; our own
 * repository secrets are removed from their environment; their stderr becomes
 * the error message when they fail, with known secrets masked.
 *
 * @module
 */

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, constants, openSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { once } from 'node:events';
import { ErrorCode, LifeboatError } from '../errors/index.js';
import { trackChild } from '../leftovers/track.js';

export interface ChildSpec {
  /** What the user should call it in messages (`pg_dump`, `command "vault …"`). */
  label: string;
  command: string;
  args?: string[];
  /** Added to the environment (secrets go here, never into args). */
  env?: Record<string, string>;
  cwd?: string;
  signal?: AbortSignal;
  /** Strings masked in error messages (passwords). */
  secrets?: string[];
  /** Kill the process after this long. */
  timeoutMs?: number;
  /**
   * After SIGTERM (a timeout or an abort), how long the process group may take
   * to end before it gets SIGKILL (default: SIGTERM only).
   */
  killGraceMs?: number;
  /**
   * A private directory: standard output becomes a real pipe (a FIFO made
   * there), not the socket Node gives a child, so a command that opens
   * `/dev/stdout` by name works (opening a socket there fails with ENXIO).
   */
  pipeDir?: string;
}

const STDERR_KEEP = 8 * 1024;
const LIFEBOAT_SECRETS =
  /^LIFEBOAT_(PASSWORD|PASSWORD_FILE|PASSWORD_COMMAND|NEW_PASSWORD|NEW_PASSWORD_FILE|NEW_PASSWORD_COMMAND|KEY_FILE)$/;

export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!LIFEBOAT_SECRETS.test(k)) env[k] = v;
  return { ...env, ...extra };
}

interface Running {
  child: ChildProcess;
  stderr: () => string;
  /** Whether `timeoutMs` ran out (the process was then stopped). */
  timedOut: () => boolean;
  /** Resolves when the process exited with status 0; rejects with its stderr otherwise. */
  exited: Promise<void>;
}

function start(spec: ChildSpec, stdin: 'pipe' | 'ignore'): Running & { stdout: Readable } {
  // An abort that came before the spawn fires no 'abort' event later: never start a process the run has already given up on.
  if (spec.signal?.aborted) throw new LifeboatError(ErrorCode.Interrupted, `${spec.label} not started: interrupted`);
  const fifo = spec.pipeDir ? openFifo(spec.pipeDir) : undefined;
  let child: ChildProcess;
  try {
    child = spawn(spec.command, spec.args ?? [], {
      env: childEnv(spec.env),
      cwd: spec.cwd,
      stdio: [stdin, fifo ? fifo.writeFd : 'pipe', 'pipe'],
      // Its own process group, so stopping it also stops what a shell started (`sh -c "a | b"`).
      detached: true,
    });
  } finally {
    // The child holds its own copy of the write end: the reader sees the end of the data when the child's copies close.
    if (fifo) closeSync(fifo.writeFd);
  }
  const stdout = fifo ? fifo.reader : child.stdout!;
  // Its own group outlives this process when it is killed: recorded, so the next sweep stops it.
  const forget = trackChild(child, spec.label, true);
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => {
    stderr = (stderr + d).slice(-STDERR_KEEP);
  });
  let timedOut = false;
  let escalation: NodeJS.Timeout | undefined;
  const kill = () => {
    killGroup(child);
    // A process that ignores SIGTERM (or a shell's child that does) must still end.
    if (spec.killGraceMs !== undefined && !escalation)
      escalation = setTimeout(() => killGroup(child, 'SIGKILL'), spec.killGraceMs);
  };
  spec.signal?.addEventListener('abort', kill, { once: true });
  const timer = spec.timeoutMs
    ? setTimeout(() => {
        timedOut = true;
        kill();
      }, spec.timeoutMs)
    : undefined;
  const masked = () => mask(stderr.trim(), spec.secrets ?? []);
  const exited = new Promise<void>((resolve, reject) => {
    child.once('error', (err) =>
      reject(
        new LifeboatError(ErrorCode.SourceFailed, `${spec.label} could not be started: ${err.message}`, {
          hint: `is ${spec.command} installed and on PATH?`,
          cause: err,
        }),
      ),
    );
    child.once('close', (code, signal) => {
      void forget();
      spec.signal?.removeEventListener('abort', kill);
      if (timer) clearTimeout(timer);
      if (escalation) clearTimeout(escalation);
      if (code === 0) return resolve();
      if (spec.signal?.aborted)
        return reject(new LifeboatError(ErrorCode.Interrupted, `${spec.label} stopped: interrupted`));
      const why = timedOut
        ? `timed out after ${Math.round(spec.timeoutMs! / 1000)} s`
        : signal
          ? `was killed by ${signal}`
          : `exited with status ${code}`;
      const tail = masked();
      reject(
        new LifeboatError(ErrorCode.SourceFailed, `${spec.label} ${why}${tail ? `: ${tail}` : ''}`, {
          context: { exitCode: code, signal },
        }),
      );
    });
  });
  exited.catch(() => {}); // observed by the caller; avoid an unhandled rejection when it is not awaited yet
  return { child, stderr: masked, timedOut: () => timedOut, exited, stdout };
}

/**
 * A FIFO in `dir` opened at both ends, then unlinked: the write end is given
 * to the child as its standard output, the read end is read here as a stream.
 * The read end is opened first (non-blocking, so the open does not wait for a
 * writer), which lets the write end open at once.
 */
function openFifo(dir: string): { writeFd: number; reader: Readable } {
  const file = path.join(dir, `stdout-${randomBytes(6).toString('hex')}.fifo`);
  const made = spawnSync('mkfifo', ['-m', '600', file], { encoding: 'utf8' });
  if (made.status !== 0) {
    throw new LifeboatError(
      ErrorCode.SourceFailed,
      `could not make a pipe for the command's output: ${(made.stderr || made.error?.message || '').trim()}`,
      { hint: 'mkfifo (coreutils) must be installed' },
    );
  }
  try {
    const readFd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
    let writeFd: number;
    try {
      writeFd = openSync(file, constants.O_WRONLY);
    } catch (err) {
      closeSync(readFd);
      throw err;
    }
    return { writeFd, reader: new net.Socket({ fd: readFd, readable: true, writable: false }) };
  } finally {
    rmSync(file, { force: true });
  }
}

/**
 * The standard output of a command as a stream. The iteration ends only after
 * the process exited with status 0; any other end throws, so a failed dump can
 * never be stored as a complete one. Stopping the iteration early kills the process.
 */
export async function* childOutput(spec: ChildSpec): AsyncGenerator<Buffer> {
  const running = start(spec, 'ignore');
  let finished = false;
  try {
    for await (const chunk of running.stdout as AsyncIterable<Buffer>) yield chunk;
    await running.exited;
    finished = true;
  } finally {
    if (!finished && running.child.exitCode === null) killGroup(running.child);
    if (!finished) running.stdout.destroy();
  }
}

/** Run a command to completion and return its standard output (small outputs: versions, lists). */
export async function runChild(spec: ChildSpec): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of childOutput(spec)) parts.push(chunk);
  return Buffer.concat(parts).toString('utf8');
}

/** Feed a stream to a command's standard input and wait for it to succeed. */
export async function feedChild(spec: ChildSpec, input: AsyncIterable<Uint8Array>): Promise<string> {
  const running = start(spec, 'pipe');
  const stdin = running.child.stdin!;
  const out: Buffer[] = [];
  running.stdout.on('data', (d: Buffer) => out.push(d));
  stdin.on('error', () => {}); // EPIPE when the process exits early; its exit status tells why
  try {
    for await (const chunk of input) {
      if (running.child.exitCode !== null || stdin.destroyed) break;
      if (!stdin.write(chunk)) await Promise.race([once(stdin, 'drain'), running.exited.catch(() => {})]);
    }
    stdin.end();
    await running.exited;
  } catch (err) {
    if (running.child.exitCode === null) killGroup(running.child);
    await running.exited.catch(() => {});
    throw err;
  }
  return Buffer.concat(out).toString('utf8');
}

export interface CapturedRun {
  /** The exit status, or null when the process was killed by a signal or never started. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  interrupted: boolean;
  /** Standard output and standard error as they came (the last `OUTPUT_KEEP` characters), known secrets masked. */
  output: string;
  /** Why it did not succeed (exit status, signal, timeout, could not start); undefined on exit status 0. */
  failure?: string;
}

const OUTPUT_KEEP = 64 * 1024;

/**
 * Run a command to its end and capture everything it printed (both streams, in
 * the order they came), without throwing on a non-zero exit: the caller decides
 * what a failure means. Used for users' hook commands.
 */
export async function runCaptured(spec: ChildSpec): Promise<CapturedRun> {
  // The run was interrupted before this command could start: it is reported as not run, not thrown.
  if (spec.signal?.aborted)
    return {
      exitCode: null,
      signal: null,
      timedOut: false,
      interrupted: true,
      output: '',
      failure: 'not started: interrupted',
    };
  const running = start(spec, 'ignore');
  let output = '';
  const add = (d: Buffer | string) => {
    output = (output + d.toString()).slice(-OUTPUT_KEEP);
  };
  running.stdout.on('data', add);
  running.child.stderr!.on('data', add);
  const child = running.child;
  let failure: string | undefined;
  try {
    await running.exited;
  } catch (err) {
    const timedOut = running.timedOut();
    if (timedOut) failure = `timed out after ${formatSeconds(spec.timeoutMs!)} and was stopped`;
    else if (spec.signal?.aborted) failure = 'stopped: interrupted';
    else if (child.signalCode) failure = `was killed by ${child.signalCode}`;
    else if (child.exitCode !== null && child.exitCode >= 0) failure = `exited with status ${child.exitCode}`;
    else
      failure = `could not be started: ${(err as LifeboatError).cause instanceof Error ? ((err as LifeboatError).cause as Error).message : (err as Error).message}`;
  }
  return {
    exitCode: child.exitCode !== null && child.exitCode >= 0 ? child.exitCode : null,
    signal: child.signalCode,
    timedOut: running.timedOut(),
    interrupted: spec.signal?.aborted === true && failure !== undefined,
    output: mask(output, spec.secrets ?? []),
    ...(failure === undefined ? {} : { failure }),
  };
}

function formatSeconds(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`;
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): void {
  try {
    if (child.pid) process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}

function mask(text: string, secrets: string[]): string {
  let out = text;
  for (const s of secrets) if (s) out = out.split(s).join('***');
  return out;
}
