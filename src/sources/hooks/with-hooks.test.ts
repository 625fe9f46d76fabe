import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, LifeboatError } from '../../errors/index.js';
import { runHookCommand } from './run-hook.js';
import { withHooks, type HookPhaseResult, type HookRun } from './with-hooks.js';

/**
 * Hooks run as real processes (shell scripts in a temp dir): their order, their
 * environment, what a failing or hanging one does, and that no repository
 * secret reaches them.
 */
describe('hooks', () => {
  let dir: string;
  let trace: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-hooks-'));
    trace = path.join(dir, 'trace');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  /** A hook that appends its phase and a few variables to the trace file. */
  const mark = (name: string) =>
    `echo "${name} hook=$LIFEBOAT_HOOK status=$LIFEBOAT_STATUS snapshot=$LIFEBOAT_SNAPSHOT error=$LIFEBOAT_ERROR" >> '${trace}'`;
  const lines = () => (existsSync(trace) ? readFileSync(trace, 'utf8').trim().split('\n') : []);
  const setup = (extra: Partial<HookRun>): { run: HookRun; phases: HookPhaseResult[] } => {
    writeFileSync(trace, '');
    const phases: HookPhaseResult[] = [];
    return {
      phases,
      run: {
        owner: 'source db',
        env: { LIFEBOAT_SOURCE: 'db' },
        hooks: {
          before: [mark('b1'), ['/bin/sh', '-c', mark('b2')]],
          after: [mark('a')],
          on_error: [mark('e')],
          finally: [mark('f')],
        },
        onPhase: (p) => phases.push(p),
        ...extra,
      },
    };
  };

  it('runs before, the work, after and finally in order, with the snapshot and status', async () => {
    const { run, phases } = setup({});
    const result = await withHooks(
      run,
      async () => {
        writeFileSync(trace, 'work\n', { flag: 'a' });
        return 'abc123';
      },
      (id) => ({ status: 'ok', snapshots: [id] }),
    );
    expect(result).toEqual({ value: 'abc123', failures: [] });
    expect(lines()).toEqual([
      'b1 hook=before status= snapshot= error=',
      'b2 hook=before status= snapshot= error=',
      'work',
      'a hook=after status=ok snapshot=abc123 error=',
      'f hook=finally status=ok snapshot=abc123 error=',
    ]);
    expect(phases.map((p) => [p.phase, p.ok])).toEqual([
      ['before', true],
      ['after', true],
      ['finally', true],
    ]);
  });

  it('a failing before stops the run: the work never runs, on_error, after and finally do', async () => {
    const { run, phases } = setup({});
    run.hooks!.before = [`echo stopping the service; echo "no such unit" >&2; exit 4`, mark('never')];
    let worked = false;
    const err = await withHooks(
      run,
      async () => {
        worked = true;
      },
      () => ({ status: 'ok' }),
    ).catch((e: unknown) => e);
    expect(worked).toBe(false);
    expect(err).toBeInstanceOf(LifeboatError);
    expect((err as LifeboatError).code).toBe(ErrorCode.HookFailed);
    expect((err as LifeboatError).message).toContain('exited with status 4');
    expect((err as LifeboatError).hint).toContain('no snapshot');
    expect(lines()).toEqual([
      `e hook=on_error status=failed snapshot= error=${(err as Error).message}`,
      `a hook=after status=failed snapshot= error=${(err as Error).message}`,
      `f hook=finally status=failed snapshot= error=${(err as Error).message}`,
    ]);
    expect(phases[0]).toMatchObject({ phase: 'before', ok: false });
    expect(phases[0]!.output).toContain('stopping the service');
    expect(phases[0]!.output).toContain('no such unit');
  });

  it('a failing work runs on_error, then after and finally, and is rethrown', async () => {
    const { run } = setup({});
    const err = await withHooks(
      run,
      () => Promise.reject(new Error('dump broke')),
      () => ({ status: 'ok' }),
    ).catch((e: unknown) => e);
    expect((err as Error).message).toBe('dump broke');
    expect(lines().slice(2)).toEqual([
      'e hook=on_error status=failed snapshot= error=dump broke',
      'a hook=after status=failed snapshot= error=dump broke',
      'f hook=finally status=failed snapshot= error=dump broke',
    ]);
  });

  it('a failing after is returned as a failure while the value stands, and finally still runs', async () => {
    const { run } = setup({});
    run.hooks!.after = ['exit 3'];
    const result = await withHooks(
      run,
      async () => 'snap',
      (id) => ({ status: 'ok', snapshots: [id] }),
    );
    expect(result.value).toBe('snap');
    expect(result.failures).toEqual(['source db: after hook "exit 3" exited with status 3']);
    expect(lines().at(-1)).toBe('f hook=finally status=ok snapshot=snap error=');
  });

  it('an interrupted work still runs on_error, after and finally, with status interrupted', async () => {
    const { run } = setup({});
    const stop = new AbortController();
    run.signal = stop.signal;
    const err = await withHooks(
      run,
      async () => {
        stop.abort();
        throw new LifeboatError(ErrorCode.Interrupted, 'interrupted');
      },
      () => ({ status: 'ok' }),
    ).catch((e: unknown) => e);
    expect((err as LifeboatError).code).toBe(ErrorCode.Interrupted);
    expect(lines().slice(2)).toEqual([
      'e hook=on_error status=interrupted snapshot= error=interrupted',
      'a hook=after status=interrupted snapshot= error=interrupted',
      'f hook=finally status=interrupted snapshot= error=interrupted',
    ]);
  });

  it('an interruption between two before commands starts no more of them and still runs the closing phases', async () => {
    const { run } = setup({});
    const stop = new AbortController();
    run.signal = stop.signal;
    run.hooks!.before = ['echo first', mark('second')];
    // The first command's output is logged once it ended and before the second starts: interrupt there.
    run.log = (line) => {
      if (line === 'before hook: first') stop.abort();
    };
    let worked = false;
    const err = await withHooks(
      run,
      async () => {
        worked = true;
      },
      () => ({ status: 'ok' }),
    ).catch((e: unknown) => e);
    expect(worked).toBe(false);
    expect((err as LifeboatError).code).toBe(ErrorCode.Interrupted);
    expect(lines()).toEqual([
      expect.stringMatching(/^e hook=on_error status=interrupted/),
      expect.stringMatching(/^a hook=after status=interrupted/),
      expect.stringMatching(/^f hook=finally status=interrupted/),
    ]);
  });

  it('a before that hangs past its timeout is stopped with its whole process group and reported', async () => {
    const { run, phases } = setup({});
    const child = path.join(dir, 'grandchild-alive');
    // The shell starts a background sleeper: stopping the group must end it too.
    run.hooks = {
      before: [`(sleep 30; touch '${child}') & echo started; sleep 30`],
      finally: [mark('f')],
      timeout: '1s',
    };
    const started = Date.now();
    const err = await withHooks(
      run,
      async () => 'x',
      () => ({ status: 'ok' }),
    ).catch((e: unknown) => e);
    expect((err as LifeboatError).code).toBe(ErrorCode.HookFailed);
    expect((err as Error).message).toContain('timed out after 1 s');
    expect(phases[0]!.output).toContain('started');
    // Generous bound: the 30 s sleeps must not have been waited for.
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(lines()).toEqual([expect.stringMatching(/^f hook=finally status=failed/)]);
    await new Promise((r) => setTimeout(r, 1500));
    expect(existsSync(child)).toBe(false);
  });

  it('a command that ignores SIGTERM gets SIGKILL after the grace', async () => {
    const ran = await runHookCommand(`trap '' TERM; echo stubborn; sleep 30`, {
      env: {},
      timeoutMs: 300,
      killGraceMs: 300,
    });
    expect(ran.timedOut).toBe(true);
    expect(ran.signal).toBe('SIGKILL');
    expect(ran.failure).toContain('timed out');
    expect(ran.output).toContain('stubborn');
  });

  it('gives hooks no repository secret, and runs an argv command without a shell', async () => {
    const saved = { ...process.env };
    process.env.LIFEBOAT_PASSWORD = 'hunter2-secret';
    process.env.LIFEBOAT_PASSWORD_COMMAND = 'pass show lifeboat';
    try {
      const ran = await runHookCommand(['/usr/bin/env'], { env: { LIFEBOAT_SOURCE: 'db' }, timeoutMs: 10_000 });
      expect(ran.failure).toBeUndefined();
      expect(ran.output).toContain('LIFEBOAT_SOURCE=db');
      expect(ran.output).not.toContain('hunter2-secret');
      expect(ran.output).not.toContain('LIFEBOAT_PASSWORD');
      const literal = await runHookCommand(['/bin/echo', '$HOME; exit 9'], { env: {}, timeoutMs: 10_000 });
      expect(literal.output).toBe('$HOME; exit 9\n');
      const missing = await runHookCommand(['/nonexistent/tool'], { env: {}, timeoutMs: 10_000 });
      expect(missing.failure).toMatch(/could not be started/);
    } finally {
      process.env = saved;
    }
  });

  it('runs the work alone when no hooks are configured', async () => {
    const result = await withHooks(
      { owner: 'source db', env: {}, hooks: { timeout: '1m' } },
      async () => 7,
      () => ({ status: 'ok' }),
    );
    expect(result).toEqual({ value: 7, failures: [] });
  });
});
