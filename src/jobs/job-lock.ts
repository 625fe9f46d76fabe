import { z } from 'zod';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ErrorCode, LifeboatError } from '../errors/index.js';
import { makeDirectoriesSync } from '../util/make-dirs.js';

/**
 * One run of a job at a time on this host (`lifeboat run` and the daemon share
 * it): a pid file created exclusively; a file left by a process that no longer
 * exists is stale and taken over.
 */
export function acquireJobLock(stateDir: string, job: string): { release: () => void } {
  const dir = path.join(stateDir, 'locks');
  makeDirectoriesSync(dir, 0o700);
  const file = path.join(dir, `job-${job}.pid`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, JSON.stringify({ pid: process.pid, since: new Date().toISOString() }), {
        flag: 'wx',
        mode: 0o600,
      });
      return { release: () => rmSync(file, { force: true }) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = readHolder(file);
      if (holder && alive(holder.pid)) {
        throw new LifeboatError(
          ErrorCode.Locked,
          `job "${job}" is already running (pid ${holder.pid}, since ${holder.since})`,
          {
            hint: 'wait for it to finish; a due run is skipped rather than run twice at once',
            retryable: true,
          },
        );
      }
      rmSync(file, { force: true }); // stale: its process is gone
    }
  }
  throw new LifeboatError(ErrorCode.Locked, `job "${job}" lock could not be taken`);
}

/** A pid file that is not `{ pid: N > 0, since }` names no holder (pid 0 or -1 would make `kill(pid, 0)` ask about whole process groups). */
const holderSchema = z.object({ pid: z.number().int().positive(), since: z.string() });

function readHolder(file: string): { pid: number; since: string } | undefined {
  try {
    const checked = holderSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    return checked.success ? checked.data : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Who holds a job's lock now (a live process), without taking it. */
export function jobLockHolder(stateDir: string, job: string): { pid: number; since: string } | undefined {
  const holder = readHolder(path.join(stateDir, 'locks', `job-${job}.pid`));
  return holder && alive(holder.pid) ? holder : undefined;
}
