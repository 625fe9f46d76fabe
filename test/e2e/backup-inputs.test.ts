import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir, type CliResult } from '../helpers/cli.js';
import { cliEnvFor, jsonLines, runCliBinary } from '../helpers/e2e.js';

/**
 * What a backup is asked for must exist: a missing or empty path, or a glob
 * that matches nothing, is an input error that the run names and reflects in
 * its exit code (3 when other inputs were saved, 1 when nothing was), never an
 * empty snapshot that looks like a backup.
 */
const PW = 'inputs passphrase';

describe('backup of inputs that do not exist', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let config: string;
  let data: string;
  const env = () => cliEnvFor(path.join(dir, 'cache'), PW);
  const lb = (args: string[], cwd?: string): Promise<CliResult> =>
    runCli(['--repo', path.join(dir, 'repo'), ...args], { env: env(), cwd });
  const lbc = (args: string[]): Promise<CliResult> =>
    runCli(['--config', config, ...args], { env: cliEnvFor(path.join(dir, 'cache'), undefined) });
  const snapshotCount = async (args: string[] = []) => {
    const r = await lb(['--json', 'snapshots', ...args]);
    expect(r.code, show(r)).toBe(0);
    return (JSON.parse(r.stdout) as { snapshots: unknown[] }).snapshots.length;
  };

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('lifeboat-e2e-inputs-'));
    data = path.join(dir, 'data');
    mkdirSync(data);
    writeFileSync(path.join(data, 'a.txt'), 'alpha\n');
    writeFileSync(path.join(dir, 'repo.pass'), `${PW}\n`, { mode: 0o600 });
    config = path.join(dir, 'lifeboat.yaml');
    writeFileSync(
      config,
      `version: 1
state_dir: ./state
repositories:
  local: { url: ./repo, password_file: repo.pass }
sources:
  gone:    { type: files, paths: [./no-such-dir, ./nothing-here/*.conf] }
  half:    { type: files, paths: [./data, ./no-such-dir, ./data/*.none] }
jobs:
  nightly-gone: { sources: [gone], to: local }
  nightly-half: { sources: [half], to: local }
  pre-migration: { sources: [half], to: local }
`,
    );
    const init = await lb(['init']);
    expect(init.code, show(init)).toBe(0);
  });
  afterAll(() => cleanup());

  it('a path that does not exist: exit 1, named, no snapshot', async () => {
    const before = await snapshotCount();
    const missing = path.join(dir, 'no', 'such', 'dir');
    const r = await lb(['backup', missing]);
    expect(r.code, show(r)).toBe(1);
    expect(r.stderr).toContain(`${missing}: does not exist`);
    expect(r.stderr).toContain('no snapshot saved');
    expect(r.stdout).not.toContain('snapshot saved');
    expect(await snapshotCount()).toBe(before);
    const json = await lb(['--json', 'backup', missing]);
    expect(json.code).toBe(1);
    expect(jsonLines(json.stdout).at(-1)).toMatchObject({ type: 'error', error: { code: 'nothing_backed_up' } });
  });

  it('an empty path is not the current directory: exit 1, named', async () => {
    const before = await snapshotCount();
    const r = await lb(['backup', ''], data);
    expect(r.code, show(r)).toBe(1);
    expect(r.stderr).toContain('"": an empty path names no file');
    expect(await snapshotCount()).toBe(before);
  });

  it('some inputs missing: the others are saved, the missing ones named, exit 3', async () => {
    const missing = path.join(dir, 'absent.txt');
    const r = await lb(['--json', 'backup', data, missing, '']);
    expect(r.code, show(r)).toBe(3);
    const summary = jsonLines(r.stdout).at(-1) as {
      errors: Array<{ path: string; message: string }>;
      summary: { files: number; errors: number };
    };
    expect(summary.errors).toEqual([
      { path: '""', message: 'an empty path names no file; not backed up', given: true },
      { path: missing, message: 'does not exist', given: true },
    ]);
    expect(summary.summary).toMatchObject({ files: 1, errors: 2 });
    const text = await lb(['backup', data, missing]);
    expect(text.code).toBe(3);
    expect(text.stderr).toContain(`could not read ${missing}: does not exist`);
  });

  it('a files source whose every path is missing fails and saves no snapshot; one with some missing gives exit 3', async () => {
    const before = await snapshotCount();
    const gone = await lbc(['backup', '--source', 'gone']);
    expect(gone.code, show(gone)).toBe(1);
    expect(gone.stderr).toContain('no-such-dir: does not exist');
    expect(gone.stderr).toContain('nothing-here/*.conf: no file matches this glob');
    expect(await snapshotCount()).toBe(before);

    const half = await lbc(['--json', 'backup', '--source', 'half']);
    expect(half.code, show(half)).toBe(3);
    const outcome = jsonLines(half.stdout).find((l) => l.type === 'source') as {
      errors: Array<{ path: string; message: string }>;
    };
    expect(outcome.errors.map((e) => e.message)).toEqual(['no file matches this glob', 'does not exist']);
    expect(await snapshotCount()).toBe(before + 1);
  });

  it('a job fails the backup step of a source with a missing path, naming it; status does not count it', async () => {
    const gone = await lbc(['--json', 'run', 'nightly-gone']);
    expect(gone.code, show(gone)).toBe(1);
    const failed = jsonLines(gone.stdout).find((l) => l.type === 'step' && l.step === 'backup') as {
      outcome: string;
      error: string;
    };
    expect(failed.outcome).toBe('failed');
    expect(failed.error).toContain('no-such-dir: does not exist');

    const half = await lbc(['--json', 'run', 'nightly-half']);
    expect(half.code, show(half)).toBe(1);
    const step = jsonLines(half.stdout).find((l) => l.type === 'step' && l.step === 'backup') as {
      outcome: string;
      error: string;
      snapshot?: string;
    };
    expect(step.outcome).toBe('failed');
    expect(step.error).toContain('no-such-dir: does not exist');
    expect(step.snapshot).toBeTruthy(); // what exists was still saved

    const status = await lbc(['--json', 'status']);
    const sources = (
      JSON.parse(status.stdout) as { sources: Record<string, { last_success: string | null; ok: boolean }> }
    ).sources;
    expect(sources.gone).toMatchObject({ last_success: null, ok: false });
    expect(sources.half).toMatchObject({ last_success: null, ok: false });
  });

  it('guard does not run the command when an input is missing', async () => {
    const marker = path.join(dir, 'migrated');
    const r = await lbc(['guard', '--reason', 'before migration 7', '--', 'touch', marker]);
    expect(r.code, show(r)).toBe(1);
    expect(r.stderr).toContain('no-such-dir: does not exist');
    expect(existsSync(marker)).toBe(false);
  });
});

describe('backup of a file that a writer keeps changing', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let writer: ChildProcess | undefined;
  const lb = (args: string[]): Promise<CliResult> =>
    runCli(['--repo', path.join(dir, 'repo'), ...args], { env: cliEnvFor(path.join(dir, 'cache'), PW) });

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('lifeboat-e2e-torn-'));
    expect((await lb(['init'])).code).toBe(0);
  });
  afterAll(async () => {
    writer?.kill('SIGKILL');
    await cleanup();
  });

  it('names the file, warns and exits 3 instead of storing a torn copy as verified', async () => {
    const data = path.join(dir, 'data');
    mkdirSync(data);
    const live = path.join(data, 'live.db');
    writeFileSync(path.join(data, 'quiet.txt'), 'unchanged\n');
    writeFileSync(live, Buffer.alloc(4 << 20, 1));
    // A real concurrent writer: rewrites the file (4 MiB of new bytes) and truncates it, without pause.
    const script = `const fs=require('fs');const f=process.argv[1];let i=0;for(;;){fs.writeFileSync(f,Buffer.alloc(4<<20,i++&255));fs.truncateSync(f,(i*7919)%(4<<20));if(i===3)fs.writeFileSync(f+'.started','')}`;
    writer = spawn(process.execPath, ['-e', script, live], { stdio: 'ignore' });
    while (!existsSync(`${live}.started`)) await new Promise((r) => setTimeout(r, 20));
    // The writer may be descheduled for a whole read on a busy machine: that read is consistent and
    // rightly stored. So: every run either names the file (exit 3) or stored a state the file had
    // (one byte value throughout: a version, or a prefix of one), and at least one run names it.
    let detected = 0;
    for (let run = 0; run < 6 && detected === 0; run++) {
      const r = await lb(['--json', 'backup', data]);
      expect([0, 3], show(r)).toContain(r.code);
      const summary = jsonLines(r.stdout).at(-1) as {
        snapshot: { id: string };
        errors: Array<{ path: string; message: string }>;
      };
      if (r.code === 3) {
        expect(summary.errors.map((e) => e.path)).toEqual([live]);
        expect(summary.errors[0]!.message).toContain('changed while it was read');
        detected++;
        continue;
      }
      const stored = await runCliBinary(['--repo', path.join(dir, 'repo'), 'dump', summary.snapshot.id, live], {
        env: cliEnvFor(path.join(dir, 'cache'), PW),
      });
      expect(stored.code, stored.stderr).toBe(0);
      expect(
        stored.stdout.every((b) => b === stored.stdout[0]),
        'a copy stored without a warning is a state the file had',
      ).toBe(true);
    }
    writer.kill('SIGKILL');
    expect(detected).toBe(1);
  });
});

describe('a password file that other users can read', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let passFile: string;
  const lb = (args: string[]): Promise<CliResult> =>
    runCli(['--repo', path.join(dir, 'repo'), ...args], {
      env: cliEnvFor(path.join(dir, 'cache'), undefined, { LIFEBOAT_PASSWORD_FILE: passFile }),
    });

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('lifeboat-e2e-passfile-'));
    passFile = path.join(dir, 'repo.pass');
    writeFileSync(passFile, `${PW}\n`, { mode: 0o600 });
    const init = await lb(['init']);
    expect(init.code, show(init)).toBe(0);
    expect(init.stderr).not.toContain('can be read by other users');
  });
  afterAll(() => cleanup());

  it('is used with a warning naming it and its mode, and refused under --strict-permissions', async () => {
    chmodSync(passFile, 0o644);
    const warned = await lb(['snapshots']);
    expect(warned.code, show(warned)).toBe(0);
    expect(warned.stderr).toContain(
      `warning: the password file ${passFile} can be read by other users (mode 0644); chmod 600 ${passFile}`,
    );
    expect(warned.stderr).not.toContain(PW);

    const strict = await lb(['--strict-permissions', '--json', 'snapshots']);
    expect(strict.code, show(strict)).toBe(1);
    expect(jsonLines(strict.stdout).at(-1)).toMatchObject({ type: 'error', error: { code: 'refused' } });

    chmodSync(passFile, 0o600);
    const fine = await lb(['--strict-permissions', 'snapshots']);
    expect(fine.code, show(fine)).toBe(0);
    expect(fine.stderr).not.toContain('other users');
  });
});

function show(r: CliResult): string {
  return `exit ${r.code}\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`;
}
