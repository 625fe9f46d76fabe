import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, LifeboatError } from '../errors/index.js';
import { childOutput, feedChild, runChild } from './child-process.js';

/** A run aborted before a tool is started (SIGTERM during the capture's setup) starts no process at all. */
describe('child processes of sources', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-child-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const aborted = () => {
    const c = new AbortController();
    c.abort();
    return c.signal;
  };

  it('does not spawn a tool once the run is aborted', async () => {
    const marker = path.join(dir, 'started');
    const spec = { label: 'backup command', command: 'sh', args: ['-c', `touch '${marker}'`], signal: aborted() };
    for (const run of [
      () => runChild(spec),
      async () => {
        for await (const _ of childOutput(spec)) void _;
      },
      () => feedChild(spec, (async function* () {})()),
    ]) {
      const err = await run().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(LifeboatError);
      expect((err as LifeboatError).code).toBe(ErrorCode.Interrupted);
    }
    // Give a wrongly started shell ample time to create its file.
    await new Promise((r) => setTimeout(r, 500));
    expect(existsSync(marker)).toBe(false);
  });

  it('still runs a tool whose signal is not aborted', async () => {
    expect(
      await runChild({ label: 'echo', command: 'sh', args: ['-c', 'echo ok'], signal: new AbortController().signal }),
    ).toBe('ok\n');
  });
});
