import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CLI, cliEnv } from './cli.js';

/**
 * Helpers for the tests of what killed processes leave behind: the CLI in its
 * own process group (so the whole group can be killed like a crashed
 * service), polling for a moment to strike, and the ledger as the test sees it.
 */
export interface GroupRun {
  child: ChildProcess;
  output: () => string;
  /** SIGKILL the CLI's whole process group and wait until the CLI is gone. */
  killGroup: () => Promise<void>;
}

const started = new Set<GroupRun>();

/** For afterAll: kill the groups a failed test left running. */
export async function killStartedGroups(): Promise<void> {
  for (const run of started) if (run.child.exitCode === null && run.child.signalCode === null) await run.killGroup();
  started.clear();
}

export function startCliGroup(args: string[], env: Record<string, string | undefined>): GroupRun {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: cliEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d));
  const closed = once(child, 'close');
  const run: GroupRun = {
    child,
    output: () => output,
    killGroup: async () => {
      process.kill(-child.pid!, 'SIGKILL');
      await closed;
    },
  };
  started.add(run);
  return run;
}

/** Poll `ready` every 20 ms; throws with `why()` after `timeoutMs`. */
export async function pollUntil(
  ready: () => boolean | Promise<boolean>,
  timeoutMs: number,
  why: () => string,
): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline;) {
    if (await ready()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`gave up after ${timeoutMs} ms: ${why()}`);
}

export interface RecordSeen {
  id: string;
  owner: { pid: number };
  resource: { kind: string; label?: string; pid?: number; database?: string; snapshot?: string | null; path?: string };
}

/** The records in a ledger directory (absent: none). */
export function ledgerRecords(dir: string): RecordSeen[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  return names.flatMap((n) => {
    try {
      return [JSON.parse(readFileSync(path.join(dir, n), 'utf8')) as RecordSeen];
    } catch {
      return []; // renamed or removed meanwhile
    }
  });
}

/** The process runs (a zombie does not). */
export function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** A config `name` in `dir`: state in ./state, one local repository (password in repo.pass), and the given `sources:` lines. */
export function configIn(dir: string, name: string, sources: string): string {
  writeFileSync(path.join(dir, 'repo.pass'), 'a long repository passphrase\n', { mode: 0o600 });
  const file = path.join(dir, name);
  writeFileSync(
    file,
    `version: 1\nstate_dir: ./state\nrepositories:\n  local: { url: ./repo, password_file: repo.pass }\nsources:\n${sources}`,
  );
  return file;
}
