import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCli, tempDir, type CliResult } from '../helpers/cli.js';
import { cliEnvFor, jsonLines } from '../helpers/e2e.js';

/**
 * Hooks end to end, with real commands: shell scripts in a temp dir that
 * write what they were given to a trace file, a `before` that fails and one
 * that hangs past its timeout, `after`/`finally` on failure, and `finally`
 * when the CLI gets SIGTERM during a slow backup (a `command` source that
 * sleeps).
 */
describe('hooks', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let config: string;
  let trace: string;
  const PASSWORD = 'hooks test passphrase';
  const env = () => cliEnvFor(path.join(dir, 'cache'), PASSWORD, { LIFEBOAT_STATE_DIR: undefined });
  const lb = (args: string[]): Promise<CliResult> => runCli(['--config', config, ...args], { env: env() });
  const show = (r: CliResult) => `exit ${r.code}\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-2000)}`;
  const traced = () => (existsSync(trace) ? readFileSync(trace, 'utf8').trim().split('\n').filter(Boolean) : []);
  const snapshotsOf = async (source: string) => {
    const r = await lb(['--json', 'snapshots']);
    expect(r.code, show(r)).toBe(0);
    return (JSON.parse(r.stdout) as { snapshots: Array<{ id: string; source?: string }> }).snapshots.filter(
      (s) => s.source === source,
    );
  };

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('lifeboat-e2e-hooks-'));
    trace = path.join(dir, 'trace');
    // Hooks run in the config file's directory: the relative `./hook.sh` and `trace` are found there.
    writeFileSync(
      path.join(dir, 'hook.sh'),
      `#!/bin/sh
echo "hook $1 printed this"
echo "$1 source=$LIFEBOAT_SOURCE job=$LIFEBOAT_JOB hook=$LIFEBOAT_HOOK status=$LIFEBOAT_STATUS snapshot=$LIFEBOAT_SNAPSHOT run=$LIFEBOAT_RUN_ID password=\${LIFEBOAT_PASSWORD:-none}" >> trace
`,
      { mode: 0o755 },
    );
    config = path.join(dir, 'lifeboat.yaml');
    const all = (tag: string) =>
      `{ before: ["./hook.sh ${tag}-before"], after: [["./hook.sh", "${tag}-after"]], on_error: ["./hook.sh ${tag}-on_error"], finally: ["./hook.sh ${tag}-finally"] }`;
    writeFileSync(
      config,
      `version: 1
state_dir: ./state
repositories:
  local: { url: ./repo }
sources:
  good:     { type: command, backup: "echo good data", hooks: ${all('good')} }
  refused:  { type: command, backup: "touch '${dir}/backup-ran'; echo data", hooks: { before: ["echo stopping app; echo 'app will not stop' >&2; exit 5", "./hook.sh never"], on_error: ["./hook.sh refused-on_error"], finally: ["./hook.sh refused-finally"] } }
  hangs:    { type: command, backup: "touch '${dir}/backup-ran'; echo data", hooks: { before: ["echo going to sleep; sleep 120"], timeout: 1s, finally: ["./hook.sh hangs-finally"] } }
  broken:   { type: command, backup: "echo 'dump failed' >&2; exit 3", hooks: ${all('broken')} }
  badafter: { type: command, backup: "echo data", hooks: { after: ["echo cache not flushed >&2; exit 9"], finally: ["./hook.sh badafter-finally"] } }
  slow:     { type: command, backup: "touch '${dir}/slow-started'; sleep 120; echo late", hooks: ${all('slow')} }
jobs:
  nightly: { sources: [good], to: local, hooks: ${all('job')} }
  refusing: { sources: [refused], to: local }
  failing: { sources: [broken], to: local, hooks: ${all('job')} }
  job-refused: { sources: [good], to: local, hooks: { before: ["exit 1"], finally: ["./hook.sh job-finally"] } }
  slow-job: { sources: [slow], to: local, hooks: ${all('job')} }
server: { listen: "127.0.0.1:0" }
`,
    );
    const init = await lb(['init', '--repo', 'local']);
    expect(init.code, show(init)).toBe(0);
  });
  afterAll(() => cleanup());

  it('accepts the hooks in config validate and rejects a misspelt or malformed one', async () => {
    const ok = await lb(['config', 'validate']);
    expect(ok.code, show(ok)).toBe(0);
    const bad = path.join(dir, 'bad.yaml');
    for (const [hooks, complaint] of [
      ['{ bfore: ["true"] }', 'bfore'],
      ['{ before: "true" }', 'before'],
      ['{ before: [["sh", 3]] }', 'before'],
      ['{ before: ["true"], timeout: 5 minutes }', 'timeout'],
    ] as const) {
      writeFileSync(bad, `version: 1\nsources:\n  s: { type: command, backup: "echo", hooks: ${hooks} }\n`);
      const r = await runCli(['--config', bad, 'config', 'validate'], { env: env() });
      expect(r.code, `${hooks}\n${show(r)}`).toBe(2);
      expect(r.stderr + r.stdout).toContain(complaint);
    }
    writeFileSync(bad, `version: 1\njobs:\n  j: { hooks: { finally: ["true"], after: ["x"], nope: [] } }\n`);
    const job = await runCli(['--config', bad, 'config', 'validate'], { env: env() });
    expect(job.code, show(job)).toBe(2);
    expect(job.stderr + job.stdout).toContain('nope');
  });

  it('runs job and source hooks in order with their variables, and records their output', async () => {
    writeFileSync(trace, '');
    const r = await lb(['--json', 'run', 'nightly']);
    expect(r.code, show(r)).toBe(0);
    const summary = jsonLines(r.stdout).at(-1) as {
      runId: string;
      outcome: string;
      steps: Array<{ step: string; source?: string; outcome: string; snapshot?: string; output?: string }>;
    };
    expect(summary.outcome).toBe('ok');
    const snapshot = summary.steps.find((s) => s.step === 'backup')!.snapshot!;
    const run = summary.runId;
    expect(traced()).toEqual([
      `job-before source= job=nightly hook=before status= snapshot= run=${run} password=none`,
      `good-before source=good job=nightly hook=before status= snapshot= run=${run} password=none`,
      `good-after source=good job=nightly hook=after status=ok snapshot=${snapshot} run=${run} password=none`,
      `good-finally source=good job=nightly hook=finally status=ok snapshot=${snapshot} run=${run} password=none`,
      `job-after source= job=nightly hook=after status=ok snapshot=${snapshot} run=${run} password=none`,
      `job-finally source= job=nightly hook=finally status=ok snapshot=${snapshot} run=${run} password=none`,
    ]);
    expect(summary.steps.map((s) => [s.step, s.source ?? null, s.outcome])).toEqual([
      ['hook:before', null, 'ok'],
      ['hook:before', 'good', 'ok'],
      // Steps are recorded as they end: the backup step ends after its source's closing hooks.
      ['hook:after', 'good', 'ok'],
      ['hook:finally', 'good', 'ok'],
      ['backup', 'good', 'ok'],
      ['hook:after', null, 'ok'],
      ['hook:finally', null, 'ok'],
    ]);
    // The run record in the state database holds each phase's output.
    const db = new Database(path.join(dir, 'state', 'state.db'), { readonly: true });
    try {
      const rows = db
        .prepare("SELECT step, source, output FROM steps WHERE run_id = ? AND step LIKE 'hook:%'")
        .all(run) as Array<{ step: string; source: string | null; output: string }>;
      expect(rows).toHaveLength(6);
      const afterGood = rows.find((x) => x.step === 'hook:after' && x.source === 'good')!;
      expect(afterGood.output).toBe('$ ./hook.sh good-after\nhook good-after printed this\n');
    } finally {
      db.close();
    }
  });

  it('a failing before fails the backup with hook_failed, makes no snapshot, and runs on_error and finally', async () => {
    writeFileSync(trace, '');
    const r = await lb(['--json', 'backup', '--source', 'refused']);
    expect(r.code, show(r)).toBe(1);
    const source = jsonLines(r.stdout).find((l) => l.type === 'source') as {
      ok: boolean;
      error: { code: string; message: string; hint: string };
    };
    expect(source.ok).toBe(false);
    expect(source.error.code).toBe('hook_failed');
    expect(source.error.message).toContain(
      '"echo stopping app; echo \'app will not stop\' >&2; exit 5" exited with status 5',
    );
    expect(source.error.hint).toContain('no snapshot');
    const hook = jsonLines(r.stdout).find((l) => l.type === 'hook' && l.phase === 'before') as { output: string };
    expect(hook.output).toContain('app will not stop');
    expect(existsSync(path.join(dir, 'backup-ran'))).toBe(false);
    expect(await snapshotsOf('refused')).toEqual([]);
    expect(traced().map((l) => l.split(' ')[0])).toEqual(['refused-on_error', 'refused-finally']);
    expect(traced()[1]).toContain('status=failed');

    // In a job: the run is failed, and the run record and the status API see it.
    const job = await lb(['--json', 'run', 'refusing']);
    expect(job.code, show(job)).toBe(1);
    const summary = jsonLines(job.stdout).at(-1) as {
      outcome: string;
      steps: Array<{ step: string; outcome: string; error?: string; output?: string }>;
    };
    expect(summary.outcome).toBe('failed');
    expect(summary.steps.find((s) => s.step === 'hook:before')).toMatchObject({ outcome: 'failed' });
    expect(summary.steps.find((s) => s.step === 'hook:before')!.output).toContain('app will not stop');
    expect(summary.steps.find((s) => s.step === 'backup')).toMatchObject({ outcome: 'failed' });
    const db = new Database(path.join(dir, 'state', 'state.db'), { readonly: true });
    try {
      const last = db.prepare("SELECT outcome, error FROM runs WHERE job = 'refusing'").get() as {
        outcome: string;
        error: string;
      };
      expect(last.outcome).toBe('failed');
      expect(last.error).toContain('exited with status 5');
    } finally {
      db.close();
    }
  });

  it("a job's failing before runs none of its steps", async () => {
    writeFileSync(trace, '');
    const before = (await snapshotsOf('good')).length;
    const r = await lb(['--json', 'run', 'job-refused']);
    expect(r.code, show(r)).toBe(1);
    const summary = jsonLines(r.stdout).at(-1) as { steps: Array<{ step: string; outcome: string }> };
    expect(summary.steps.map((s) => [s.step, s.outcome])).toEqual([
      ['hook:before', 'failed'],
      ['hook:finally', 'ok'],
    ]);
    expect((await snapshotsOf('good')).length).toBe(before);
    expect(traced()).toEqual([expect.stringMatching(/^job-finally .*status=failed/)]);
  });

  it('a before that hangs past its timeout is stopped and reported', async () => {
    writeFileSync(trace, '');
    const started = Date.now();
    const r = await lb(['--json', 'backup', '--source', 'hangs']);
    expect(r.code, show(r)).toBe(1);
    // Generous bound: the hook sleeps 120 s; being stopped after 1 s must not take anywhere near that.
    expect(Date.now() - started).toBeLessThan(60_000);
    const source = jsonLines(r.stdout).find((l) => l.type === 'source') as { error: { code: string; message: string } };
    expect(source.error.code).toBe('hook_failed');
    expect(source.error.message).toContain('timed out after 1 s');
    expect(existsSync(path.join(dir, 'backup-ran'))).toBe(false);
    expect(traced().map((l) => l.split(' ')[0])).toEqual(['hangs-finally']);
  });

  it('a failed backup runs on_error, then after and finally (source and job), told the run failed', async () => {
    writeFileSync(trace, '');
    const r = await lb(['--json', 'run', 'failing']);
    expect(r.code, show(r)).toBe(1);
    expect(traced().map((l) => l.split(' ')[0])).toEqual([
      'job-before',
      'broken-before',
      'broken-on_error',
      'broken-after',
      'broken-finally',
      'job-on_error',
      'job-after',
      'job-finally',
    ]);
    expect(traced()[3]).toContain('status=failed');
    expect(traced()[4]).toContain('status=failed');
    expect(traced()[7]).toContain('status=failed');
  });

  it('a failing after fails the run but keeps the snapshot', async () => {
    writeFileSync(trace, '');
    const r = await lb(['--json', 'backup', '--source', 'badafter']);
    expect(r.code, show(r)).toBe(1);
    const source = jsonLines(r.stdout).find((l) => l.type === 'source') as {
      ok: boolean;
      snapshot: string;
      hookFailures: string[];
    };
    expect(source.ok).toBe(false);
    expect(source.hookFailures).toEqual([
      'source badafter: after hook "echo cache not flushed >&2; exit 9" exited with status 9',
    ]);
    expect(r.stderr).toContain('cache not flushed');
    const kept = await snapshotsOf('badafter');
    expect(kept).toHaveLength(1);
    expect(traced()).toEqual([
      expect.stringMatching(new RegExp(`^badafter-finally .*status=ok snapshot=${kept[0]!.id}`)),
    ]);
  });

  it('runs on_error, after and finally when the CLI gets SIGTERM during a slow backup, and saves no snapshot', async () => {
    writeFileSync(trace, '');
    const child = startCli(['--config', config, 'backup', '--source', 'slow'], { env: env() });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdout!.resume();
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    child.stdin!.end();
    // Wait for the backup command to be running (the before hook has run by then).
    for (let i = 0; i < 600 && !existsSync(path.join(dir, 'slow-started')); i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(existsSync(path.join(dir, 'slow-started')), stderr).toBe(true);
    child.kill('SIGTERM');
    const code = await exited;
    expect(code, stderr).toBe(130);
    expect(traced().map((l) => l.split(' ')[0])).toEqual([
      'slow-before',
      'slow-on_error',
      'slow-after',
      'slow-finally',
    ]);
    expect(traced()[2]).toContain('status=interrupted');
    expect(await snapshotsOf('slow')).toEqual([]);
  }, 120_000);

  it('runs the closing hooks of a job and its source when the daemon gets SIGTERM during a slow backup', async () => {
    writeFileSync(trace, '');
    rmSync(path.join(dir, 'slow-started'), { force: true });
    const child = startCli(['--config', config, 'serve'], { env: env() });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdout!.resume();
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    child.stdin!.end();
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line:\n${stderr}`)), 30_000);
      child.stderr!.on('data', () => {
        const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
    });
    const token = readFileSync(path.join(dir, 'state', 'api.token'), 'utf8').trim();
    const post = await fetch(`${url}/api/v1/jobs/slow-job/run`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(post.status).toBe(202);
    const { run_id: runId } = (await post.json()) as { run_id: string };
    for (let i = 0; i < 600 && !existsSync(path.join(dir, 'slow-started')); i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(existsSync(path.join(dir, 'slow-started')), stderr).toBe(true);
    // The status API shows the hook steps recorded so far, with their output.
    const runs = (await (
      await fetch(`${url}/api/v1/jobs/slow-job/runs`, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as {
      runs: Array<{ id: string; steps: Array<{ step: string; source: string | null; output: string | null }> }>;
    };
    const running = runs.runs.find((r) => r.id === runId)!;
    expect(running.steps.map((st) => [st.step, st.source, st.output])).toEqual([
      ['hook:before', null, '$ ./hook.sh job-before\nhook job-before printed this\n'],
      ['hook:before', 'slow', '$ ./hook.sh slow-before\nhook slow-before printed this\n'],
    ]);
    child.kill('SIGTERM');
    expect(await exited, stderr).toBe(0);
    expect(traced().map((l) => l.split(' ')[0])).toEqual([
      'job-before',
      'slow-before',
      'slow-on_error',
      'slow-after',
      'slow-finally',
      'job-on_error',
      'job-after',
      'job-finally',
    ]);
    expect(traced()[7]).toContain(`status=interrupted snapshot= run=${runId}`);
    expect(await snapshotsOf('slow')).toEqual([]);
    const db = new Database(path.join(dir, 'state', 'state.db'), { readonly: true });
    try {
      const run = db.prepare('SELECT outcome FROM runs WHERE id = ?').get(runId) as { outcome: string };
      expect(run.outcome).toBe('failed');
      const steps = db.prepare("SELECT step, outcome FROM steps WHERE run_id = ? AND step = 'hook:finally'").all(runId);
      expect(steps).toEqual([
        { step: 'hook:finally', outcome: 'ok' },
        { step: 'hook:finally', outcome: 'ok' },
      ]);
    } finally {
      db.close();
    }
  }, 120_000);
});
