import { mkdtemp, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../errors/index.js';
import { acquireJobLock } from './job-lock.js';

describe('job lock', () => {
  it('allows one run of a job at a time, and takes over a stale lock', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-joblock-'));
    const first = acquireJobLock(dir, 'nightly');
    expect(() => acquireJobLock(dir, 'nightly')).toThrow(expect.objectContaining({ code: ErrorCode.Locked }));
    const other = acquireJobLock(dir, 'weekly'); // other jobs are independent
    first.release();
    other.release();
    // A lock left by a process that no longer exists
    await mkdir(path.join(dir, 'locks'), { recursive: true });
    await writeFile(
      path.join(dir, 'locks', 'job-nightly.pid'),
      JSON.stringify({ pid: 2 ** 22 + 12345, since: 'earlier' }),
    );
    const again = acquireJobLock(dir, 'nightly');
    again.release();
    expect(await readdir(path.join(dir, 'locks'))).toEqual([]);
    await rm(dir, { recursive: true, force: true });
  });

  it('a malformed pid file (pid 0, -1, a string, null) names no holder and is taken over', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-joblock-'));
    await mkdir(path.join(dir, 'locks'), { recursive: true });
    for (const text of [
      JSON.stringify({ pid: 0, since: 'x' }),
      JSON.stringify({ pid: -1, since: 'x' }),
      JSON.stringify({ pid: 'me', since: 'x' }),
      'null',
    ]) {
      await writeFile(path.join(dir, 'locks', 'job-nightly.pid'), text);
      const lock = acquireJobLock(dir, 'nightly');
      lock.release();
    }
    await rm(dir, { recursive: true, force: true });
  });
});
